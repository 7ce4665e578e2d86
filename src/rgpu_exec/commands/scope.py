"""`rgpu-exec scope validate [PAYLOAD | -] [-o/--output table|json|yaml]`: check a key's scope
offline. Flags in, `usecases.scope` decides, `commands.render` prints.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from rgpu_exec import output
from rgpu_exec.commands import support, usage
from rgpu_exec.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from typing import Any

MAX_PAYLOAD_BYTES = 1024 * 1024
_EXIT_CODES = """  0  the payload is valid; the normalised payload is printed
  2  the payload is invalid (the platform's message is printed), or is not JSON; bad flags
"""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    scope = subparsers.add_parser(
        "scope",
        help="work with API-key scope payloads",
        description="Work with API-key scope payloads.",
        epilog="example:\n"
        '  rgpu-exec scope validate \'{"kubernetes_exec": {"all_namespaces": true}}\'\n\n'
        "exit codes:\n" + _EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = scope.add_subparsers(title="commands", metavar="COMMAND")
    scope.set_defaults(func=lambda _args: usage.name_a_command(scope))
    validate = commands.add_parser(
        "validate",
        help="check a scope payload against the platform's rules, offline",
        description="Check a scope payload against the RemoteGPU rules without calling the API, "
        "and print it normalised (false fields dropped, namespace IDs lower-cased and "
        "de-duplicated); errors go to stderr. With --output json: one object on stdout, valid or "
        "not. Namespace ownership is checked only by the API.",
        epilog="examples:\n"
        '  rgpu-exec scope validate \'{"kubernetes_exec": {"all_namespaces": true}}\'\n'
        "  echo '{\"all\": true}' | rgpu-exec scope validate - --output json\n\n"
        "exit codes:\n" + _EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument(
        "payload",
        nargs="?",
        default="-",
        metavar="PAYLOAD",
        help="the scope payload as JSON; `-` or nothing reads it from stdin",
    )
    support.add_output(validate)
    validate.set_defaults(func=_run_validate)


_NO_PAYLOAD = (
    "no scope payload{where}: pass it as an argument, or pipe it on stdin, e.g. "
    "`rgpu-exec scope validate '{{\"all\": true}}'`."
)


def _read_payload(argument: str) -> str:
    if argument != "-":
        if not argument.strip():
            raise UsageError(_NO_PAYLOAD.format(where=" (the argument is empty)"))
        return argument
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError(_NO_PAYLOAD.format(where=""))
    text = sys.stdin.read(MAX_PAYLOAD_BYTES + 1)
    if len(text) > MAX_PAYLOAD_BYTES:
        raise UsageError(f"the scope payload on stdin is over {MAX_PAYLOAD_BYTES // 1024} KiB.")
    if not text.strip():
        raise UsageError(_NO_PAYLOAD.format(where=" (stdin was empty)"))
    return text


def _run_validate(args: argparse.Namespace) -> int:
    from rgpu_exec.commands import render  # noqa: PLC0415
    from rgpu_exec.usecases.scope import ScopeRequest, run  # noqa: PLC0415

    result = run(ScopeRequest(_read_payload(args.payload)))
    if args.output != "table":  # one document on stdout, valid or not
        render.render(args.output, document=result.document, indent=None)
        return int(result.error.exit_code) if result.error else ExitCode.OK
    if result.error is not None:
        raise result.error  # the CLI prints the platform's message on stderr
    # For people: the normalised payload on stdout (as JSON), the verdict on stderr.
    render.render("json", document=lambda: result.scopes, indent=None)
    output.say(f"rgpu-exec: valid: grants {result.summary}.")
    return ExitCode.OK
