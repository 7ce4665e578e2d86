"""The CLI's commands as a tree, read from its argparse parser (handed in by the caller: this
module never imports the CLI), for the completion scripts and kubectl's plugin completion."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

PROGRAMS = ("rgpu-exec", "kubectl-rgpu")
# Flags whose value is a file name, and flags whose value is a kubeconfig context name; every
# other flag without choices takes free text. Positionals named FILE or PATH take a file name.
_FILE_FLAGS = frozenset({"--kubeconfig", "--certificate-authority"})
_CONTEXT_FLAGS = frozenset({"--context"})
_FILE_METAVARS = frozenset({"FILE", "PATH"})
_CONTEXT_METAVARS = frozenset({"CONTEXT"})
# Cobra's ShellCompDirective values, as kubectl reads them from a plugin's completion executable.
DIRECTIVE_DEFAULT = 0  # the shell completes file names when no candidate is given
DIRECTIVE_NO_FILE = 4


@dataclass
class Command:
    """One (sub)command: its path from the top, subcommands, flags, and flags' choices."""

    path: tuple[str, ...]
    help: str = ""
    subcommands: list[Command] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # long flags, offered as words
    positionals: list[str] = field(default_factory=list)  # choices of positional arguments
    # Every flag that takes a value, long and short: its choices, or None for anything else.
    value_flags: dict[str, list[str] | None] = field(default_factory=dict)
    multi_value_flags: list[str] = field(default_factory=list)  # take several values (nargs +)
    long_forms: dict[str, str] = field(default_factory=dict)  # `-o` -> `--output`
    file_positional: bool = False  # a positional argument is a file name
    context_positional: bool = False  # a positional argument is a kubeconfig context name

    def walk(self) -> list[Command]:
        return [self, *(c for sub in self.subcommands for c in sub.walk())]

    @property
    def key(self) -> str:
        return "".join(f"/{part}" for part in self.path)

    def kind(self, flag: str) -> str:
        """What a value flag takes: `choices`, `file`, `context` or `text`."""
        if self.value_flags.get(flag):
            return "choices"
        long = self.long_forms.get(flag, flag)
        return "file" if long in _FILE_FLAGS else "context" if long in _CONTEXT_FLAGS else "text"


def describe(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = (), text: str = ""
) -> Command:
    command = Command(path, text)
    for action in parser._actions:  # noqa: SLF001 - argparse offers no public way to walk a parser
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            helps = {a.dest: a.help or "" for a in action._choices_actions}  # noqa: SLF001
            for name, sub in action.choices.items():
                command.subcommands.append(describe(sub, (*path, name), helps.get(name, "")))
            continue
        if not action.option_strings:
            if action.choices:
                command.positionals += [str(c) for c in action.choices]
            elif action.metavar in _FILE_METAVARS:
                command.file_positional = True
            elif action.metavar in _CONTEXT_METAVARS:
                command.context_positional = True
            continue
        long_flags = [o for o in action.option_strings if o.startswith("--")]
        command.flags += long_flags
        if action.nargs == 0 or not long_flags:
            continue
        choices = [str(c) for c in action.choices] if action.choices else None
        for flag in action.option_strings:
            command.value_flags[flag] = choices
            command.long_forms[flag] = long_flags[0]
        if action.nargs in ("+", "*"):
            command.multi_value_flags += action.option_strings
    return command
