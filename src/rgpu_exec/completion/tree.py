"""The CLI's commands as a tree, read from its argparse parser (handed in by the caller: this
module never imports the CLI), for the completion scripts and kubectl's plugin completion.

kubectl runs `kubectl_complete-rgpu` at every TAB: it reads the tree from `completion.table`, a
literal written by `to_table` from the whole parser (`make completion-table`; a test holds the
two equal), so a TAB builds no parser and imports neither argparse nor dataclasses.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

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


class Command:
    """One (sub)command: its path from the top, subcommands, flags, and flags' choices."""

    def __init__(self, path: tuple[str, ...], help: str = "") -> None:  # noqa: A002 - argparse's
        self.path = path
        self.help = help
        self.subcommands: list[Command] = []
        self.flags: list[str] = []  # long flags, offered as words
        self.positionals: list[str] = []  # choices of positional arguments
        # Every flag that takes a value, long and short: its choices, or None for anything else.
        self.value_flags: dict[str, list[str] | None] = {}
        self.multi_value_flags: list[str] = []  # take several values (nargs +)
        self.long_forms: dict[str, str] = {}  # `-o` -> `--output`
        self.file_positional = False  # a positional argument is a file name
        self.context_positional = False  # a positional argument is a kubeconfig context name

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


# The fields `to_table` writes and `from_table` reads, besides `path` and `subcommands`.
_FIELDS = (
    "help",
    "flags",
    "positionals",
    "value_flags",
    "multi_value_flags",
    "long_forms",
    "file_positional",
    "context_positional",
)


def to_table(command: Command) -> dict[str, dict[str, Any]]:
    """`command` and every command under it as plain data (for `completion.table`), one entry
    per command, keyed by its path (`"kubeconfig generate"`), parents before children."""
    return {
        " ".join(each.path): {name: getattr(each, name) for name in _FIELDS}
        for each in command.walk()
    }


def from_table(table: dict[str, dict[str, Any]]) -> Command:
    """The tree `to_table` wrote: its root."""
    by_path: dict[tuple[str, ...], Command] = {}
    for key, data in table.items():
        path = tuple(key.split())
        command = by_path[path] = Command(path)
        for name in _FIELDS:
            setattr(command, name, data[name])
        if path:
            by_path[path[:-1]].subcommands.append(command)
    return by_path[()]


def describe(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = (), text: str = ""
) -> Command:
    import argparse  # noqa: PLC0415 - not on a TAB's path (see the module's docstring)

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
