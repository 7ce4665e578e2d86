"""`rgpu-exec check`: which namespaces can this key reach? A scope matrix for admins and CI.

Flags in, `usecases.check.run` does the work (and decides the exit code), `commands.render`
prints a table, JSON or YAML (docs/json-output.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from rgpu_exec import output, terminal
from rgpu_exec.commands import support
from rgpu_exec.errors import ExitCode
from rgpu_exec.redact import key_prefix

if TYPE_CHECKING:
    from rgpu_exec.credentials.api_key import ApiKey
    from rgpu_exec.errors import RgpuExecError
    from rgpu_exec.usecases.check import CheckRequest, Result

_EXIT_CODES = f"""\
  {ExitCode.OK}  every namespace is allowed, or with expectations: every expectation holds
  {ExitCode.USAGE}  bad flags, namespace IDs, API key or kubeconfig
  {ExitCode.API_KEY}  no API key, or the API rejected the key
  {ExitCode.NAMESPACE_ACCESS}  a namespace is denied or not found, or (with expectations) one does
     not hold
  {ExitCode.API}  the RemoteGPU API is unreachable or failed for a namespace
"""
_LABELS = {"not_found": "not found"}
_CANNOT_TELL = (
    "No namespace was denied, so this cannot tell a key scoped to exactly these namespaces "
    "from one scoped to all of the account's namespaces; --expect-denied with a namespace of "
    "the same account that the key must not reach tells them apart."
)
_TONES = {"allowed": "green", "denied": "yellow", "not_found": "yellow", "error": "red"}


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check which namespaces the current API key may use (a scope matrix)",
        description="For each namespace, exchange the API key for a token once (never using "
        "the token cache) and report allowed / denied / not found / error, with the HTTP status, "
        "the platform's reason and the token lifetime. Tokens are never shown. Namespaces named "
        "only in --expect-allowed / --expect-denied are checked too; a namespace with no "
        "expectation is expected to be allowed. With no namespace and no --context, every "
        "context of the kubeconfig that runs rgpu-exec is checked. A namespace the key's account "
        "does not know (a wrong ID, or another account's namespace) is 'not found', which fails "
        "an --expect-denied unless --not-found-as-denied says it may. A failure for one namespace "
        "(an error answer) is reported in its row, and the others are still checked. What check "
        "cannot tell apart: a key scoped to exactly the namespaces it is given and a key scoped "
        "to all of the account's namespaces (all, all_namespaces) answer the same for them; only "
        "an --expect-denied namespace of the same account tells them apart.",
        epilog=support.epilog(
            "rgpu-exec check",
            "rgpu-exec check --expect-allowed $TEAM_NS --expect-denied $OTHER_NS --output json",
            "rgpu-exec check --context rgpu-team-ml --context rgpu-staging",
            exit_codes=_EXIT_CODES,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--namespace-id",
        action="append",
        default=[],
        metavar="ID",
        help="a namespace to check, expected to be allowed (repeatable)",
    )
    parser.add_argument(
        "--expect-allowed",
        action="append",
        default=[],
        metavar="ID",
        help="a namespace the key must be allowed to use (repeatable)",
    )
    parser.add_argument(
        "--expect-denied",
        action="append",
        default=[],
        metavar="ID",
        help="a namespace the key must NOT be allowed to use (repeatable)",
    )
    parser.add_argument(
        "--not-found-as-denied",
        action="store_true",
        help="let a namespace the key's account does not know count as denied (else a missing "
        "or mistyped --expect-denied ID fails the check)",
    )
    parser.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="NAME",
        help="check the namespace of this kubeconfig context, with its --api-url and --profile "
        "(repeatable; its user must run rgpu-exec)",
    )
    support.add_kubeconfig(parser)
    support.add_output(parser)
    support.add_api_url(parser)
    support.add_profile(parser, "use this keyring profile's key, even if $REMOTEGPU_API_KEY is set")
    parser.set_defaults(func=_run)


def document(results: list[Result], key: ApiKey, api_url: str, ok: bool) -> dict[str, Any]:
    return {
        "ok": ok,
        **_key_fields(key),
        "api_url": api_url,
        "results": [_row(r) for r in results],
    }


def _key_fields(key: ApiKey | None) -> dict[str, Any]:
    return {
        "key_prefix": key_prefix(key.value).rstrip("…") if key else None,  # as the console lists
        "key_source": key.source if key else None,
        "profile": key.profile if key else None,
    }


def _row(r: Result) -> dict[str, Any]:
    error = {"code": r.error_code, "message": r.error_message} if r.error_message else None
    return {
        "namespace_id": r.namespace_id,
        "namespace": r.namespace,
        "context": r.context,
        "result": r.result,
        "expected": r.expected,
        "ok": r.ok,
        "status": r.status,
        "lifetime_seconds": r.lifetime_seconds,
        "error": error,
    }


def error_document(key: ApiKey | None, api_url: str | None, error: RgpuExecError) -> dict[str, Any]:
    """What `--output json` prints when the check cannot run at all (no key, API unreachable):
    still one JSON document on stdout, so a CI step that pipes it into jq sees why."""
    return {
        "ok": False,
        **_key_fields(key),
        "api_url": api_url,
        "error": {"exit_code": int(error.exit_code), "message": error.message},
        "results": [],
    }


def render_table(results: list[Result], key: ApiKey, api_url: str, colour: bool) -> str:
    paint = terminal.paint
    rows = []
    for r in results:
        detail: str | None
        if r.result == "allowed":
            detail = f"token lifetime {terminal.duration(r.lifetime_seconds)}"
        elif r.result == "not_found":
            detail = "unknown to the key's account (a wrong ID, or another account's)"
        else:
            detail = f"{r.error_code}: {r.error_message}" if r.error_code else r.error_message
        label = r.label + (f" [{r.context}]" if r.context else "")
        rows.append(
            [
                label,
                _LABELS.get(r.result, r.result),
                str(r.status or "-"),
                r.expected,
                "yes" if r.ok else "NO",
                detail or "",
            ]
        )
    lines = [f"API key {key_prefix(key.value)} {key.origin}, against {api_url}", ""]
    for i, cells in enumerate(
        terminal.table(rows, ["NAMESPACE", "RESULT", "HTTP", "EXPECTED", "OK", "DETAIL"])
    ):
        if i == 0:
            cells = [paint(c, "bold", colour) for c in cells]  # noqa: PLW2901
        else:
            result = results[i - 1]
            cells[1] = paint(cells[1], _TONES[result.result], colour)
            cells[4] = paint(cells[4], "green" if result.ok else "red", colour)
        lines.append("  ".join(cells).rstrip())
    if results and not any(r.result == "denied" or r.expected == "denied" for r in results):
        lines += ["", _CANNOT_TELL]
    failed = sum(not r.ok for r in results)
    summary = "all as expected" if not failed else f"{failed} not as expected"
    lines += ["", f"{len(results)} namespace(s) checked: {summary}."]
    missing = [r for r in results if r.result == "not_found" and not r.ok]
    if any(r.expected == "denied" for r in missing):
        lines.append(
            "A namespace that is not found counts as denied only with --not-found-as-denied "
            "(check the ID first: a typo is not found either)."
        )
    return "\n".join(lines) + "\n"


def _run(args: argparse.Namespace) -> int:
    from rgpu_exec.commands import render  # noqa: PLC0415
    from rgpu_exec.usecases.check import run  # noqa: PLC0415

    environ = os.environ
    checked = run(_request(args, environ), environ)
    error = checked.error
    if error is not None:
        if args.output != "table":
            render.render(
                args.output, document=lambda: error_document(checked.key, checked.api_url, error)
            )
            error.json_document_printed = True
        raise error  # the CLI prints the message on stderr and exits with its code
    for skipped in checked.skipped:
        output.tell(terminal.shown(f"rgpu-exec: warning: not checked: {skipped}.") + "\n")
    for switched in checked.switched:  # the check is of the ID's namespace: say what kubectl meets
        output.tell(terminal.shown(f"rgpu-exec: warning: {switched}.") + "\n")
    results, key, api_url = checked.results, checked.key, str(checked.api_url)
    assert key is not None  # noqa: S101 - run found it, or returned its failure
    code = checked.exit_code
    render.render(
        args.output,
        document=lambda: document(results, key, api_url, code == ExitCode.OK),
        table=lambda: render_table(results, key, api_url, output.colour(environ)),
    )
    return int(code)


def _request(args: argparse.Namespace, environ: os._Environ[str]) -> CheckRequest:
    from rgpu_exec.usecases.check import CheckRequest  # noqa: PLC0415

    return CheckRequest(
        namespace_ids=tuple(support.namespace_id(n) for n in args.namespace_id),
        expect_allowed=tuple(support.namespace_id(n) for n in args.expect_allowed),
        expect_denied=tuple(support.namespace_id(n) for n in args.expect_denied),
        contexts=tuple(args.context),
        kubeconfig=args.kubeconfig,
        not_found_as_denied=args.not_found_as_denied,
        api_url=support.api_url(args.api_url, environ),
        profile=support.profile(args.profile, environ),
        interactive=sys.stdin is not None and sys.stdin.isatty(),
    )
