"""`rgpu-exec completion bash|zsh|fish`: a shell completion script, generated from the parser
(the scripts themselves are written by `completion.scripts`, from `completion.tree`).

Commands, subcommands, flags and flag choices all come from the CLI's parser, handed in by the
caller (this module never imports the CLI), so the scripts can never fall behind it. Both
`rgpu-exec` and `kubectl-rgpu` are completed. File names are offered where a value is a file,
and kubeconfig context names (from `kubectl config get-contexts -o name`, when kubectl is
installed) where it is a context.

`kubectl rgpu <TAB>` is kubectl's business: kubectl 1.26+ runs an executable named
`kubectl_complete-rgpu` from PATH with the words typed after `rgpu` (the last one being the word
to complete, maybe empty), and reads one candidate per line, optionally followed by
`:<directive>` (Cobra's ShellCompDirective). `candidates` below is what it offers (the command,
`commands.complete.kubectl_complete`, prints them).

Never prints, and reads no environment variable but from the mapping handed in.
"""

from __future__ import annotations

import os

from rgpu_exec.completion import scripts
from rgpu_exec.completion.tree import DIRECTIVE_DEFAULT, DIRECTIVE_NO_FILE, Command, describe

__all__ = [
    "SHELLS",
    "candidates",
    "describe",
    "detect_shell",
    "parent_shell",
    "script",
]
from rgpu_exec.hotpath import settings
from rgpu_exec.terminal import printable

TYPE_CHECKING = False  # typing costs a TAB (`kubectl_complete`) its import
if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping, Sequence


SHELLS = tuple(scripts.SCRIPTS)  # bash, zsh, fish


def detect_shell(environ: Mapping[str, str], proc: str = "/proc") -> str | None:
    """The shell to write a script for when none is named: the shell that
    runs this command (`eval "$(rgpu-exec completion)"` runs it from a subshell of the user's
    shell), else the login shell in `SHELL` (macOS has no /proc; `make` or `sudo` may sit in
    between). None when neither is one of `SHELLS`."""
    from pathlib import PurePath  # noqa: PLC0415 - not on a TAB's path

    running = parent_shell(proc)
    if running is not None:
        return running
    login = PurePath(settings.login_shell(environ)).name
    return login if login in SHELLS else None


def parent_shell(proc: str = "/proc") -> str | None:
    """The parent process's name, when it is one of `SHELLS`. None where the OS does not say
    (no /proc), or when the parent is not a shell."""
    from pathlib import Path  # noqa: PLC0415 - not on a TAB's path

    try:
        name = Path(proc, str(os.getppid()), "comm").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    name = name.lstrip("-")  # a login shell: `-bash`
    return name if name in SHELLS else None


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    """The completion script for `shell`, describing every command of `parser` (the CLI's)."""
    return scripts.SCRIPTS[shell](describe(parser))


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
    if command.context_positional:
        offered += _contexts(kubeconfig, environ)
    matches = [o for o in offered if o.startswith(cur)]
    return matches, DIRECTIVE_DEFAULT if command.file_positional else DIRECTIVE_NO_FILE


def _contexts(kubeconfig: str | None, environ: Mapping[str, str]) -> list[str]:
    """Context names from the kubeconfig kubectl would read (never fails: completion is a hint).
    A name with a control character (a newline would make two candidates of it) is not offered;
    the others are printed as they are, and kubectl's scripts quote them."""
    from rgpu_exec.kubeconfig import view as kubeconfig_view  # noqa: PLC0415 - YAML, when asked

    try:
        names = kubeconfig_view.load(kubeconfig, environ).contexts
    except Exception:
        return []
    return sorted(name for name in names if printable(name))
