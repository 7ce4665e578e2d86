"""`rgpu-exec completion bash|zsh|fish`: a shell completion script, generated from the parser.

Commands, subcommands, flags and flag choices all come from the CLI's parser, handed in by the
caller (this module never imports the CLI), so the scripts can never fall behind it. Both
`rgpu-exec` and `kubectl-rgpu` are completed. File names are offered where a value is a file,
and kubeconfig context names (from `kubectl config get-contexts -o name`, when kubectl is
installed) where it is a context.

`kubectl rgpu <TAB>` is kubectl's business: kubectl 1.26+ runs an executable named
`kubectl_complete-rgpu` from PATH with the words typed after `rgpu` (the last one being the word
to complete, maybe empty), and reads one candidate per line, optionally followed by
`:<directive>` (Cobra's ShellCompDirective). `kubectl_complete` below is what it prints.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rgpu_exec.kubeconfig import view as kubeconfig_view

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

PROGRAMS = ("rgpu-exec", "kubectl-rgpu")
# Flags whose value is a file name, and flags whose value is a kubeconfig context name; every
# other flag without choices takes free text. Positionals named FILE or PATH take a file name.
_FILE_FLAGS = frozenset({"--kubeconfig", "--certificate-authority"})
_CONTEXT_FLAGS = frozenset({"--context", "--kubeconfig-context"})
_FILE_METAVARS = frozenset({"FILE", "PATH"})
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


def _words(command: Command) -> list[str]:
    return [s.path[-1] for s in command.subcommands] + command.positionals + command.flags


_BASH_KUBECTL_CONTEXTS = (
    '    kubectl config get-contexts -o name ${kubeconfig:+--kubeconfig "$kubeconfig"} 2>/dev/null'
)
_BASH_REPLIES = {
    "file": 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))',
    "context": 'COMPREPLY=($(compgen -W "$(_rgpu_exec_contexts)" -- "$cur"))',
    "text": "COMPREPLY=()",
}


def bash(root: Command) -> str:
    commands = root.walk()
    known = "|".join(c.key for c in commands if c.path)
    values, many, words = [], [], []
    for c in commands:
        for flag, choices in c.value_flags.items():
            kind = c.kind(flag)
            reply = (
                f'COMPREPLY=($(compgen -W "{" ".join(choices or [])}" -- "$cur"))'
                if kind == "choices"
                else _BASH_REPLIES[kind]
            )
            values.append(f'        "{c.key} {flag}") {reply}; return ;;')
            if flag in c.multi_value_flags and kind != "choices":
                many.append(f'            "{c.key} {flag}") {reply}; return ;;')
        files = "; files=1" if c.file_positional else ""
        words.append(f'        "{c.key}") words="{" ".join(_words(c))}"{files} ;;')
    return "\n".join(
        [
            "# bash completion for rgpu-exec and kubectl-rgpu: `rgpu-exec completion bash`",
            "_rgpu_exec_contexts() {",
            "    command -v kubectl >/dev/null 2>&1 || return 0",
            _BASH_KUBECTL_CONTEXTS,
            "}",
            "_rgpu_exec_complete() {",
            '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
            '    local cmdpath="" word words="" i lastflag="" kubeconfig="" files=""',
            "    for ((i = 1; i < COMP_CWORD; i++)); do",
            '        word="${COMP_WORDS[i]}"',
            '        case "$cmdpath/$word" in',
            f'            {known}) cmdpath="$cmdpath/$word"; lastflag=""; continue ;;',
            "        esac",
            '        case "$word" in -*) lastflag="$word" ;; esac',
            '        if [[ "${COMP_WORDS[i-1]}" == --kubeconfig ]]; then kubeconfig="$word"; fi',
            "    done",
            '    case "$cmdpath $prev" in',
            *values,
            "    esac",
            "    # After a flag taking several values (--kubeconfig-context A B): more values.",
            '    if [[ "$cur" != -* ]]; then',
            '        case "$cmdpath $lastflag" in',
            *many,
            "        esac",
            "    fi",
            '    case "$cmdpath" in',
            *words,
            "    esac",
            '    COMPREPLY=($(compgen -W "$words" -- "$cur"))',
            '    if [[ -n "$files" && "$cur" != -* ]]; then',
            "        compopt -o filenames 2>/dev/null",
            '        COMPREPLY+=($(compgen -f -- "$cur"))',
            "    fi",
            "}",
            f"complete -F _rgpu_exec_complete {' '.join(PROGRAMS)}",
            "",
        ]
    )


_ZSH_REPLIES = {
    "file": "_files",
    "context": 'compadd -- ${(f)"$(_rgpu_exec_contexts)"}',
    "text": ":",
}


def zsh(root: Command) -> str:
    commands = root.walk()
    known = "|".join(c.key for c in commands if c.path)
    values, words = [], []
    for c in commands:
        for flag, choices in c.value_flags.items():
            kind = c.kind(flag)
            reply = f"compadd -- {' '.join(choices or [])}" if kind == "choices" else None
            values.append(f'        "{c.key} {flag}") {reply or _ZSH_REPLIES[kind]}; return ;;')
        files = "; _files" if c.file_positional else ""
        words.append(f'        "{c.key}") compadd -- {" ".join(_words(c))}{files} ;;')
    return "\n".join(
        [
            f"#compdef {' '.join(PROGRAMS)}",
            "# zsh completion for rgpu-exec and kubectl-rgpu: `rgpu-exec completion zsh`",
            "_rgpu_exec_contexts() {",
            "    (( $+commands[kubectl] )) && kubectl config get-contexts -o name 2>/dev/null",
            "}",
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


_FISH_CONTEXTS = "(kubectl config get-contexts -o name 2>/dev/null)"


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
            if c.file_positional:
                lines.append(f"complete -c {program} -n {condition} -F")
            for flag in c.flags:
                option = f"-l {flag[2:]}"
                shorts = [s for s, long in c.long_forms.items() if long == flag and s != flag]
                option += "".join(f" -s {s[1:]}" for s in shorts)
                if flag in c.value_flags:
                    kind = c.kind(flag)
                    if kind == "choices":
                        option += f" -xa {_fish_quote(' '.join(c.value_flags[flag] or []))}"
                    elif kind == "context":
                        option += f" -xa {_fish_quote(_FISH_CONTEXTS)}"
                    else:
                        option += " -rF" if kind == "file" else " -r"
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


SHELLS = ("bash", "zsh", "fish")


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    """The completion script for `shell`, describing every command of `parser` (the CLI's)."""
    return {"bash": bash, "zsh": zsh, "fish": fish}[shell](describe(parser))


def candidates(
    words: Sequence[str], environ: Mapping[str, str], root: Command
) -> tuple[list[str], int]:
    """What to offer after `rgpu-exec <words…>` (the last word is being completed), and the
    Cobra directive for kubectl: file names may be offered only with `DIRECTIVE_DEFAULT`."""
    *before, cur = list(words) or [""]
    by_path = {c.path: c for c in root.walk()}
    path: tuple[str, ...] = ()
    last_flag, kubeconfig = "", None
    for i, word in enumerate(before):
        previous = before[i - 1] if i else ""
        if (*path, word) in by_path and previous not in by_path[path].value_flags:
            path, last_flag = (*path, word), ""
            continue
        if word.startswith("-"):
            last_flag = word
        if previous == "--kubeconfig":
            kubeconfig = word
    command = by_path[path]
    prefix = ""
    if cur.startswith("--") and "=" in cur:  # --output=js
        flag, _, cur = cur.partition("=")
        prev, prefix = flag, flag + "="
    else:
        prev = before[-1] if before else ""
    if prev in command.value_flags or prefix:
        kind = command.kind(prev) if prev in command.value_flags else "text"
        if kind == "file":
            return [], DIRECTIVE_DEFAULT
        if kind == "choices":
            offered = command.value_flags[prev] or []
        elif kind == "context":
            offered = _contexts(kubeconfig, environ)
        else:
            offered = []
        return [prefix + o for o in offered if o.startswith(cur)], DIRECTIVE_NO_FILE
    many = last_flag in command.multi_value_flags and not cur.startswith("-")
    if many and command.kind(last_flag) == "context":
        offered = _contexts(kubeconfig, environ)
        return [o for o in offered if o.startswith(cur)], DIRECTIVE_NO_FILE
    if cur.startswith("-"):
        return [f for f in command.flags if f.startswith(cur)], DIRECTIVE_NO_FILE
    offered = [s.path[-1] for s in command.subcommands] + command.positionals
    matches = [o for o in offered if o.startswith(cur)]
    return matches, DIRECTIVE_DEFAULT if command.file_positional else DIRECTIVE_NO_FILE


def _contexts(kubeconfig: str | None, environ: Mapping[str, str]) -> list[str]:
    """Context names from the kubeconfig kubectl would read (never fails: completion is a hint)."""
    try:
        return sorted(kubeconfig_view.load(kubeconfig, environ).contexts)
    except Exception:
        return []


def kubectl_complete(parser: argparse.ArgumentParser, words: Sequence[str]) -> int:
    """What `kubectl_complete-rgpu` prints: kubectl runs it for `kubectl rgpu … <TAB>`."""
    try:
        offered, directive = candidates(words, os.environ, describe(parser))
    except Exception:  # a completion must never print a traceback into the user's prompt
        return 0
    sys.stdout.write("".join(f"{word}\n" for word in offered) + f":{directive}\n")
    return 0
