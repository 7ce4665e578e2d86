"""The command line: parse flags, call one use case, turn its errors into exit codes.

`rgpu-exec` (our own launcher, see `_fast`) and `kubectl-rgpu` (an ordinary entry point) both
end here. Each command module contributes `register(subparsers)`; heavy imports stay inside the
command functions so `--help` is quick.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

from rgpu_exec import (
    __version__,
    cache_command,
    check_command,
    completion,
    doctor,
    login_command,
    scope_command,
    settings,
)
from rgpu_exec.errors import ExitCode, RgpuExecError
from rgpu_exec.kubeconfig import command as kubeconfig_command
from rgpu_exec.redact import scrub

if TYPE_CHECKING:
    from collections.abc import Sequence

EPILOG_EXIT_CODES = """exit codes:
  0  success
  1  unexpected error (a bug: please report it with RGPU_EXEC_LOG=debug output)
  2  usage or bad input (flags, environment, exec info, files)
  3  no API key, or the API rejected the key
  4  the key may not use that namespace, or the namespace does not exist
  5  the RemoteGPU API is unreachable, timed out, or answered nonsense
  6  `rgpu-exec doctor` found a problem (each is listed with its fix)
"""


# Where each (sub)command's parser leaves its `prog` in the parsed namespace: the deepest one
# parsed wins (a subcommand's values are copied over its parent's), so a usage error can point at
# the help of the command the user actually typed.
_PROG = "_rgpu_exec_prog"
_KUBECTL_PLUGIN = "kubectl-rgpu"


def program_name(argv0: str | None = None) -> str:
    """`kubectl rgpu` when run as the kubectl plugin, else `rgpu-exec`."""
    from pathlib import PurePath  # noqa: PLC0415

    name = PurePath(sys.argv[0] if argv0 is None else argv0).name
    return "kubectl rgpu" if name.removesuffix(".exe") == _KUBECTL_PLUGIN else "rgpu-exec"


class _Parser(argparse.ArgumentParser):
    """argparse, with errors in our own voice and exit code, pointing at the right `--help`.

    Subcommand parsers get their `prog` from argparse (`rgpu-exec cache clear`, or
    `kubectl rgpu cache clear` under kubectl), so an error names the help of the command at fault,
    also for unrecognised arguments (which argparse reports from the top-level parser).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
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


def _add_token(subparsers: argparse._SubParsersAction[_Parser]) -> None:
    parser = subparsers.add_parser(
        "token",
        help="print an ExecCredential for kubectl (what the kubeconfig exec stanza runs)",
        description="Print an ExecCredential for kubectl: from the cache when it holds a fresh "
        "token, else by exchanging the API key for a namespace token.",
        epilog="example:\n  rgpu-exec token --namespace-id 6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f\n\n"
        + EPILOG_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--namespace-id", required=True, help="the namespace's UUID")
    parser.add_argument(
        "--api-url",
        help=f"RemoteGPU API base URL (default: ${settings.ENV_API_URL} or "
        f"{settings.DEFAULT_API_URL})",
    )
    parser.add_argument(
        "--profile",
        help=f"keyring profile holding the key (default: ${settings.ENV_PROFILE} or "
        f"{settings.DEFAULT_PROFILE!r})",
    )
    parser.set_defaults(func=_run_token)


def _run_token(args: argparse.Namespace) -> int:
    from rgpu_exec.get_token import TokenCommand, TokenRequest  # noqa: PLC0415

    output = TokenCommand(os.environ).run(
        TokenRequest(args.namespace_id, api_url=args.api_url, profile=args.profile)
    )
    sys.stdout.write(output)
    sys.stdout.flush()
    return ExitCode.OK


def build_parser(prog: str | None = None) -> _Parser:
    parser = _Parser(
        prog=prog or program_name(),
        description="kubectl credential plugin for RemoteGPU Kubernetes namespaces.",
        epilog=EPILOG_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rgpu-exec {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    _add_token(subparsers)
    # Other commands register here, each from its own module.
    login_command.register(subparsers)
    check_command.register(subparsers)
    cache_command.register(subparsers)
    doctor.register(subparsers)
    completion.register(subparsers)
    scope_command.register(subparsers)
    kubeconfig_command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from rgpu_exec import log  # noqa: PLC0415

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
        return 130
    except Exception as exc:
        if os.environ.get(settings.ENV_LOG, "").lower() == "debug":
            raise
        detail = scrub(f"{type(exc).__name__}: {exc}", settings.api_key(os.environ))
        print(
            f"rgpu-exec: unexpected error ({detail}). This is a bug: please report it with the "
            f"output of the same command run with {settings.ENV_LOG}=debug.",
            file=sys.stderr,
        )
        return ExitCode.UNEXPECTED


if __name__ == "__main__":
    sys.exit(main())
