"""The command line: parse flags, call one use case, turn its errors into exit codes.

`rgpu-exec` (our own launcher, see `hotpath.cache_hit`) and `kubectl-rgpu` (an ordinary entry
point) both end here. Each module of `commands/` contributes `register(subparsers)`; heavy
imports stay inside the command functions so `--help` is quick. No parser accepts abbreviated
flags: `--api` is not `--api-url` (the kubeconfig reader would not know it either).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, NoReturn

from rgpu_exec import __version__
from rgpu_exec import completion as shell_completion
from rgpu_exec.commands import (
    cache,
    check,
    completion,
    doctor,
    kubeconfig,
    login,
    scope,
    token,
)
from rgpu_exec.credentials import log
from rgpu_exec.credentials.redact import scrub
from rgpu_exec.errors import EXIT_CODES_HELP, ExitCode, RgpuExecError
from rgpu_exec.hotpath import settings

if TYPE_CHECKING:
    from collections.abc import Sequence

# Where each (sub)command's parser leaves its `prog` in the parsed namespace: the deepest one
# parsed wins (a subcommand's values are copied over its parent's), so a usage error can point at
# the help of the command the user actually typed.
_PROG = "_rgpu_exec_prog"
_KUBECTL_PLUGIN = "kubectl-rgpu"


def program_name(argv0: str | None = None) -> str:
    """`kubectl rgpu` when run as the kubectl plugin, else `rgpu-exec`."""
    name = PurePath(sys.argv[0] if argv0 is None else argv0).name
    return "kubectl rgpu" if name.removesuffix(".exe") == _KUBECTL_PLUGIN else "rgpu-exec"


class _Parser(argparse.ArgumentParser):
    """argparse, with errors in our own voice and exit code, pointing at the right `--help`.

    Subcommand parsers get their `prog` from argparse (`rgpu-exec cache clear`, or
    `kubectl rgpu cache clear` under kubectl), so an error names the help of the command at fault,
    also for unrecognised arguments (which argparse reports from the top-level parser).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)
        self.set_defaults(**{_PROG: self.prog})

    def parse_args(self, *args: Any, **kwargs: Any) -> Any:
        namespace, extras = self.parse_known_args(*args, **kwargs)
        if extras:
            prog = getattr(namespace, _PROG, None) or self.prog
            self._fail(prog, f"unrecognized arguments: {' '.join(extras)}")
        return namespace

    def error(self, message: str) -> NoReturn:
        self._fail(self.prog, message)

    def _fail(self, prog: str, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"rgpu-exec: {message}. See `{prog} --help`.\n")


def build_parser(prog: str | None = None) -> _Parser:
    parser = _Parser(
        prog=prog or program_name(),
        description="kubectl credential plugin for RemoteGPU Kubernetes namespaces.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rgpu-exec {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    token.register(subparsers)
    login.register(subparsers)
    check.register(subparsers)
    cache.register(subparsers)
    doctor.register(subparsers)
    completion.register(subparsers, root=parser)
    scope.register(subparsers)
    kubeconfig.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    log.configure(os.environ)
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    try:
        return int(args.func(args))
    except RgpuExecError as exc:
        print(str(exc), file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("rgpu-exec: interrupted.", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as exc:
        if settings.debug(os.environ):
            raise
        detail = scrub(f"{type(exc).__name__}: {exc}", settings.api_key(os.environ))
        print(
            f"rgpu-exec: unexpected error ({detail}). This is a bug: please report it with the "
            f"output of the same command run with {settings.ENV_LOG}=debug.",
            file=sys.stderr,
        )
        return ExitCode.UNEXPECTED


def kubectl_complete(argv: Sequence[str] | None = None) -> int:
    """The `kubectl_complete-rgpu` executable: kubectl runs it for `kubectl rgpu … <TAB>`."""
    words = sys.argv[1:] if argv is None else list(argv)
    return shell_completion.kubectl_complete(build_parser(), words)


if __name__ == "__main__":
    sys.exit(main())
