"""`rgpu-exec completion [bash|zsh|fish]`: print a shell completion script (`usecases.completion`
decides it; this module prints). What `kubectl_complete-rgpu` prints is `commands.complete`'s."""

from __future__ import annotations

import argparse
import os
from typing import Any

from rgpu_exec import output
from rgpu_exec.commands.support import epilog
from rgpu_exec.errors import ExitCode, UsageError
from rgpu_exec.hotpath import settings

SHELLS = ("bash", "zsh", "fish")  # `usecases.completion.SHELLS`: a test holds them equal

_EXIT_CODES = f"""\
  {ExitCode.OK}  the script was printed
  {ExitCode.USAGE}  unknown shell, or none given and neither the running shell nor $SHELL is known
"""


def register(subparsers: argparse._SubParsersAction[Any], root: argparse.ArgumentParser) -> None:
    """`root` is the CLI's whole parser: the script describes every command in it."""
    parser = subparsers.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print a completion script for rgpu-exec and kubectl-rgpu, for the shell "
        "given, else for the shell that runs the command, else for $SHELL. "
        "TAB after `kubectl rgpu` (kubectl 1.26+) needs no script: it uses the "
        "kubectl_complete-rgpu executable installed beside rgpu-exec, when that is on PATH.",
        epilog=epilog(
            'eval "$(rgpu-exec completion)"             # in ~/.bashrc or ~/.zshrc',
            'eval "$(rgpu-exec completion bash)"        # in ~/.bashrc',
            'eval "$(rgpu-exec completion zsh)"         # in ~/.zshrc, after compinit',
            "rgpu-exec completion fish > ~/.config/fish/completions/rgpu-exec.fish",
            exit_codes=_EXIT_CODES,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "shell",
        nargs="?",
        choices=SHELLS,
        help="your shell (default: the shell that runs this command, else $SHELL)",
    )
    parser.set_defaults(func=lambda args: run(args.shell, parser, root))


def run(shell: str | None, parser: argparse.ArgumentParser, root: argparse.ArgumentParser) -> int:
    from rgpu_exec.usecases import completion  # noqa: PLC0415

    if shell is None:
        shell = completion.detect_shell(os.environ)
        if shell is None:
            output.tell(parser.format_usage())
            raise UsageError(
                "cannot tell which shell you use (neither the shell running this command nor "
                f"${settings.ENV_SHELL} is one of {', '.join(SHELLS)}): name it, as "
                "in `rgpu-exec completion bash`."
            )
    output.write(completion.script(shell, root))
    return ExitCode.OK
