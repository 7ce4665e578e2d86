"""The command line: parse flags, call one use case, turn its errors into exit codes.

`rgpu-exec` (our own launcher, see `hotpath.cache_hit`) and `kubectl-rgpu` (an ordinary entry
point) both end here. Each module of `commands/` contributes `register(subparsers)`; heavy
imports stay inside the command functions so `--help` is quick. No parser accepts abbreviated
flags: `--api` is not `--api-url` (the kubeconfig reader would not know it either).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, NoReturn

from rgpu_exec import __version__, output, terminal
from rgpu_exec.commands import (
    cache,
    check,
    completion,
    doctor,
    kubeconfig,
    login,
    scope,
    token,
    usage,
    whoami,
)
from rgpu_exec.credentials import log
from rgpu_exec.errors import EXIT_CODES_HELP, ExitCode, RgpuExecError
from rgpu_exec.hotpath import settings
from rgpu_exec.hotpath.exec_credential import output_gone

if TYPE_CHECKING:
    from collections.abc import Sequence

# Where each (sub)command's parser leaves its `prog` in the parsed namespace: the deepest one
# parsed wins (a subcommand's values are copied over its parent's), so a usage error can point at
# the help of the command the user actually typed.
_PROG = "_rgpu_exec_prog"
_KUBECTL_PLUGIN = "kubectl-rgpu"
_EXAMPLES = """examples:
  rgpu-exec login --namespace-id 6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f     store your API key
  rgpu-exec kubeconfig import ~/Downloads/remotegpu-team-ml-kubeconfig.yaml --replace
  kubectl --context rgpu-team-ml get pods                               rgpu-exec runs inside
  rgpu-exec whoami                                                      which key, from where
  rgpu-exec doctor --problems-only                                      why kubectl fails
  rgpu-exec check --expect-allowed $TEAM_NS --expect-denied $OTHER_NS   a CI gate on a key

"""


def program_name(argv0: str | None = None) -> str:
    """`kubectl rgpu` when run as the kubectl plugin, else `rgpu-exec`."""
    name = PurePath(sys.argv[0] if argv0 is None else argv0).name
    return "kubectl rgpu" if name.removesuffix(".exe") == _KUBECTL_PLUGIN else "rgpu-exec"


def json_wanted(argv: Sequence[str]) -> bool:
    """Whether the command line asks for `-o json` (in any of argparse's spellings), read before
    parsing: a usage error must still give a JSON document (docs/json-output.md)."""
    args = list(argv)
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg in ("-o", "--output") and args[i + 1 : i + 2] == ["json"]:
            return True
        if arg in ("-ojson", "--output=json"):
            return True
    return False


def failure_document(exit_code: int, message: str) -> str:
    """The one JSON document of a command that failed before it could build its own."""
    error = {"exit_code": exit_code, "message": message.removeprefix("rgpu-exec: ").strip()}
    return json.dumps({"ok": False, "error": error}, indent=2) + "\n"


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

    json_output = False  # `-o json` on the command line: errors give a JSON document too
    typed: tuple[str, ...] = ()  # the command line, so that an error never shows a value of it
    root: argparse.ArgumentParser | None = None  # its commands, options, choices may be shown

    def parse_args(self, *args: Any, **kwargs: Any) -> Any:
        namespace, extras = self.parse_known_args(*args, **kwargs)
        if extras:
            prog = getattr(namespace, _PROG, None) or self.prog
            self._fail(prog, usage.unrecognized(extras))
        return namespace

    def error(self, message: str) -> NoReturn:
        commands = [
            name
            for action in self._actions
            if isinstance(action, argparse._SubParsersAction)  # noqa: SLF001 - no public way
            for name in action.choices
        ]
        said = usage.unknown_command(message, commands)
        public = usage.public_words(_Parser.root or self)
        self._fail(self.prog, said or usage.without_values(message, _Parser.typed, public))

    def _print_message(self, message: str, file: Any = None) -> None:
        """Everything argparse writes itself (help, usage, errors, --version) passes the gate."""
        if message:
            output.argparse_message(message, file)

    def _fail(self, prog: str, message: str) -> NoReturn:
        end = "" if message.endswith("?") else "."
        text = f"rgpu-exec: {message}{end} See `{prog} --help`.\n"
        if _Parser.json_output:
            output.document(failure_document(ExitCode.USAGE, text))
        output.tell(text)
        self.exit(ExitCode.USAGE)


def build_parser(prog: str | None = None) -> _Parser:
    parser = _Parser(
        prog=prog or program_name(),
        description="kubectl credential plugin for RemoteGPU Kubernetes namespaces: it writes\n"
        "kubeconfig contexts whose exec stanza runs `rgpu-exec token`, which kubectl then runs\n"
        "before every command. `rgpu-exec COMMAND --help` shows a command's flags and examples.",
        epilog=_EXAMPLES + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rgpu-exec {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    # What people run first; `token`, which kubectl runs, last.
    kubeconfig.register(subparsers)
    login.register(subparsers)
    whoami.register(subparsers)
    check.register(subparsers)
    doctor.register(subparsers)
    cache.register(subparsers)
    scope.register(subparsers)
    completion.register(subparsers, root=parser)
    token.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    output.know(settings.api_key(os.environ))
    warning = log.configure(os.environ)
    if warning:  # the cache-hit path gives the same warning and goes on too
        output.tell(warning)
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    _Parser.json_output = json_wanted(argv)
    _Parser.typed, _Parser.root = tuple(argv), parser
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        output.tell(parser.format_help())
        return ExitCode.USAGE
    try:
        return int(args.func(args))
    except RgpuExecError as exc:
        if getattr(args, "output", None) == "json" and not exc.json_document_printed:
            output.document(failure_document(int(exc.exit_code), str(exc)))
        output.say(str(exc))
        return int(exc.exit_code)
    except KeyboardInterrupt:
        output.say("rgpu-exec: interrupted.")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # the reader of the output went away: nothing to tell it
        return ExitCode(output_gone())
    except Exception as exc:
        if settings.debug(os.environ):
            raise
        detail = terminal.shown(f"{type(exc).__name__}: {exc}")  # on one line
        output.say(
            f"rgpu-exec: unexpected error ({detail}). This is a bug: please report it with the "
            f"output of the same command run with {settings.ENV_LOG}=debug."
        )
        return ExitCode.UNEXPECTED


def kubectl_complete(argv: Sequence[str] | None = None) -> int:
    """The `kubectl_complete-rgpu` executable: kubectl runs it for `kubectl rgpu … <TAB>`."""
    words = sys.argv[1:] if argv is None else list(argv)
    return completion.kubectl_complete(build_parser(), words)


if __name__ == "__main__":
    sys.exit(main())
