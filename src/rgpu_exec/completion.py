"""`rgpu-exec completion bash|zsh|fish`: a shell completion script, generated from the parser.

Commands, subcommands, flags and flag choices all come from `cli.build_parser()`, so the scripts
can never fall behind the CLI. Both `rgpu-exec` and `kubectl-rgpu` are completed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any

PROGRAMS = ("rgpu-exec", "kubectl-rgpu")
_EXIT_CODES = """\
  0  the script was printed
  2  unknown shell
"""
# Flags whose value is a file name; every other flag without choices takes free text.
_FILE_FLAGS = frozenset({"--kubeconfig"})


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    from rgpu_exec.command_support import epilog  # noqa: PLC0415

    parser = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print a completion script for rgpu-exec and kubectl-rgpu.",
        epilog=epilog(
            'eval "$(rgpu-exec completion bash)"        # in ~/.bashrc',
            'eval "$(rgpu-exec completion zsh)"         # in ~/.zshrc, after compinit',
            "rgpu-exec completion fish > ~/.config/fish/completions/rgpu-exec.fish",
            exit_codes=_EXIT_CODES,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("shell", choices=("bash", "zsh", "fish"))
    parser.set_defaults(func=_run)


@dataclass
class Command:
    """One (sub)command: its path from the top, subcommands, flags, and flags' choices."""

    path: tuple[str, ...]
    help: str = ""
    subcommands: list[Command] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    positionals: list[str] = field(default_factory=list)  # choices of positional arguments
    value_flags: dict[str, list[str] | None] = field(default_factory=dict)  # None: free text

    def walk(self) -> list[Command]:
        return [self, *(c for sub in self.subcommands for c in sub.walk())]

    @property
    def key(self) -> str:
        return "".join(f"/{part}" for part in self.path)


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
        if not action.option_strings and action.choices:
            command.positionals += [str(c) for c in action.choices]
            continue
        long_flags = [o for o in action.option_strings if o.startswith("--")]
        command.flags += long_flags
        if action.nargs != 0 and long_flags:
            choices = [str(c) for c in action.choices] if action.choices else None
            for flag in long_flags:
                command.value_flags[flag] = choices
    return command


def _words(command: Command) -> list[str]:
    return [s.path[-1] for s in command.subcommands] + command.positionals + command.flags


def bash(root: Command) -> str:
    commands = root.walk()
    known = "|".join(c.key for c in commands if c.path)
    values = []
    for c in commands:
        for flag, choices in c.value_flags.items():
            reply = (
                f'COMPREPLY=($(compgen -W "{" ".join(choices)}" -- "$cur"))'
                if choices
                else 'COMPREPLY=($(compgen -f -- "$cur"))'
                if flag in _FILE_FLAGS
                else "COMPREPLY=()"
            )
            values.append(f'        "{c.key} {flag}") {reply}; return ;;')
    words = [f'        "{c.key}") words="{" ".join(_words(c))}" ;;' for c in commands]
    return "\n".join(
        [
            "# bash completion for rgpu-exec and kubectl-rgpu: `rgpu-exec completion bash`",
            "_rgpu_exec_complete() {",
            '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
            '    local cmdpath="" word words="" i',
            "    for ((i = 1; i < COMP_CWORD; i++)); do",
            '        word="${COMP_WORDS[i]}"',
            '        case "$cmdpath/$word" in',
            f'            {known}) cmdpath="$cmdpath/$word" ;;',
            "        esac",
            "    done",
            '    case "$cmdpath $prev" in',
            *values,
            "    esac",
            '    case "$cmdpath" in',
            *words,
            "    esac",
            '    COMPREPLY=($(compgen -W "$words" -- "$cur"))',
            "}",
            f"complete -F _rgpu_exec_complete {' '.join(PROGRAMS)}",
            "",
        ]
    )


def zsh(root: Command) -> str:
    commands = root.walk()
    known = "|".join(c.key for c in commands if c.path)
    values = []
    for c in commands:
        for flag, choices in c.value_flags.items():
            reply = (
                f"compadd -- {' '.join(choices)}"
                if choices
                else "_files"
                if flag in _FILE_FLAGS
                else ":"
            )
            values.append(f'        "{c.key} {flag}") {reply}; return ;;')
    words = [f'        "{c.key}") compadd -- {" ".join(_words(c))} ;;' for c in commands]
    return "\n".join(
        [
            f"#compdef {' '.join(PROGRAMS)}",
            "# zsh completion for rgpu-exec and kubectl-rgpu: `rgpu-exec completion zsh`",
            "_rgpu_exec_complete() {",
            '    local cmdpath="" word i prev="${words[CURRENT-1]}"',
            "    for ((i = 2; i < CURRENT; i++)); do",
            '        word="${words[i]}"',
            '        case "$cmdpath/$word" in',
            f'            {known}) cmdpath="$cmdpath/$word" ;;',
            "        esac",
            "    done",
            '    case "$cmdpath $prev" in',
            *values,
            "    esac",
            '    case "$cmdpath" in',
            *words,
            "    esac",
            "}",
            f"compdef _rgpu_exec_complete {' '.join(PROGRAMS)}",
            "",
        ]
    )


def fish(root: Command) -> str:
    lines = ["# fish completion for rgpu-exec and kubectl-rgpu: `rgpu-exec completion fish`"]
    for program in PROGRAMS:
        lines.append(f"complete -c {program} -f")
        for c in root.walk():
            condition = _fish_condition(c)
            lines += [
                f"complete -c {program} -n {condition} -a {s.path[-1]} -d {_fish_quote(s.help)}"
                for s in c.subcommands
            ]
            if c.positionals:
                words = _fish_quote(" ".join(c.positionals))
                lines.append(f"complete -c {program} -n {condition} -a {words}")
            for flag in c.flags:
                choices = c.value_flags.get(flag, [])
                option = f"-l {flag[2:]}"
                if flag in c.value_flags:
                    option += f" -xa {_fish_quote(' '.join(choices))}" if choices else " -r"
                    if flag in _FILE_FLAGS:
                        option += " -F"
                lines.append(f"complete -c {program} -n {condition} {option}")
    return "\n".join([*lines, ""])


def _fish_condition(command: Command) -> str:
    if not command.path:
        return "__fish_use_subcommand"
    parts = [f"__fish_seen_subcommand_from {part}" for part in command.path]
    if command.subcommands:
        names = " ".join(s.path[-1] for s in command.subcommands)
        parts.append(f"not __fish_seen_subcommand_from {names}")
    return _fish_quote("; and ".join(parts))


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def script(shell: str) -> str:
    from rgpu_exec.cli import build_parser  # noqa: PLC0415

    root = describe(build_parser())
    return {"bash": bash, "zsh": zsh, "fish": fish}[shell](root)


def _run(args: argparse.Namespace) -> int:
    sys.stdout.write(script(args.shell))
    return 0
