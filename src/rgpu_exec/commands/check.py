"""`rgpu-exec check`: which namespaces can this key reach? A scope matrix for admins and CI.

Flags in, `token.namespace_check` does the work, a table or JSON out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from typing import Any

from rgpu_exec import terminal
from rgpu_exec.commands import support
from rgpu_exec.credentials.api_key import find_api_key
from rgpu_exec.credentials.redact import key_prefix
from rgpu_exec.errors import RgpuExecError, UsageError
from rgpu_exec.token.namespace_check import CheckRequest, Result, check, exit_code, targets

_EXIT_CODES = """\
  0  every namespace is allowed, or with expectations: every expectation holds
  2  bad flags, namespace IDs or kubeconfig
  3  no API key, or the API rejected the key
  4  a namespace is denied or not found (or, with expectations, one does not hold)
  5  the RemoteGPU API is unreachable or failed for a namespace
"""
_LABELS = {"not_found": "not found"}
_TONES = {"allowed": "green", "denied": "yellow", "not_found": "yellow", "error": "red"}


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check which namespaces the current API key may use (a scope matrix)",
        description="For each namespace, exchange the current API key for a token once (never "
        "using the token cache) and report allowed / denied / not found / error, with the HTTP "
        "status, the platform's reason and the token lifetime. Tokens are never shown. Namespaces "
        "named only in --expect-allowed / --expect-denied are checked too; a namespace with no "
        "expectation is expected to be allowed.",
        epilog=support.epilog(
            "rgpu-exec check --namespace-id 6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f",
            "rgpu-exec check --expect-allowed $TEAM_NS --expect-denied $OTHER_NS --output json",
            "rgpu-exec check --kubeconfig-context rgpu-team-ml rgpu-staging",
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
        help="a namespace the key must NOT be allowed to use: denied or not found (repeatable)",
    )
    parser.add_argument(
        "--kubeconfig-context",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME",
        help="take namespace IDs from these kubeconfig contexts (their user must run rgpu-exec)",
    )
    parser.add_argument(
        "--kubeconfig", metavar="PATH", help="read this kubeconfig file only (as kubectl does)"
    )
    support.add_output(
        parser,
        '{"key_prefix", "api_url", "results": [...]}, plus "error" when the check could not run',
    )
    support.add_api_url(parser)
    support.add_profile(parser, "keyring profile holding the key")
    parser.set_defaults(func=_run)


def render_json(results: list[Result], key_prefix: str, api_url: str) -> str:
    document = {"key_prefix": key_prefix, "api_url": api_url}
    return json.dumps({**document, "results": [asdict(r) for r in results]}, indent=2) + "\n"


def render_json_error(key_prefix: str | None, api_url: str | None, error: RgpuExecError) -> str:
    """What `--output json` prints when the check cannot run at all (no key, API unreachable):
    still one JSON document on stdout, so a CI step that pipes it into jq sees why."""
    document: dict[str, Any] = {
        "key_prefix": key_prefix,
        "api_url": api_url,
        "error": {"exit_code": int(error.exit_code), "message": error.message},
        "results": [],
    }
    return json.dumps(document, indent=2) + "\n"


def render_table(results: list[Result], key_prefix: str, api_url: str, colour: bool) -> str:
    paint = terminal.paint
    rows = []
    for r in results:
        expected = {True: "allowed", False: "denied", None: "-"}[r.expected]
        detail = (
            f"token lifetime {terminal.duration(r.lifetime_seconds)}"
            if r.allowed
            else r.reason or ""
        )
        label = r.namespace_id + (f" ({r.context})" if r.context else "")
        rows.append(
            [
                label,
                _LABELS.get(r.result, r.result),
                str(r.status or "-"),
                expected,
                "yes" if r.ok else "NO",
                detail,
            ]
        )
    lines = [f"API key {key_prefix} against {api_url}", ""]
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
    failed = sum(not r.ok for r in results)
    summary = "all as expected" if not failed else f"{failed} not as expected"
    lines += ["", f"{len(results)} namespace(s) checked: {summary}."]
    return "\n".join(lines) + "\n"


def _run(args: argparse.Namespace) -> int:
    known: dict[str, str] = {}  # key prefix and API URL, once known
    try:
        return _check(args, known)
    except RgpuExecError as exc:
        if args.output == "json":
            sys.stdout.write(render_json_error(known.get("prefix"), known.get("api_url"), exc))
        raise  # the CLI prints the message on stderr and exits with its code


def _request(args: argparse.Namespace) -> CheckRequest:
    allowed = tuple(support.namespace_id(n) for n in args.expect_allowed)
    denied = tuple(support.namespace_id(n) for n in args.expect_denied)
    both = sorted(set(allowed) & set(denied))
    if both:
        raise UsageError(f"{both[0]} is given both --expect-allowed and --expect-denied.")
    return CheckRequest(
        namespace_ids=tuple(support.namespace_id(n) for n in args.namespace_id),
        expect_allowed=allowed,
        expect_denied=denied,
        contexts=tuple(args.kubeconfig_context),
        kubeconfig=args.kubeconfig,
    )


def _check(args: argparse.Namespace, known: dict[str, str]) -> int:
    environ = os.environ
    wanted, context_url = targets(_request(args), environ)
    api_url = known["api_url"] = support.api_url(args.api_url or context_url, environ)
    profile = support.profile(args.profile, environ)
    key = find_api_key(environ, profile, interactive=sys.stdin is not None and sys.stdin.isatty())
    shown = key_prefix(key.value)  # `rgpu_e6f69fcc…`, as every other message shows it
    known["prefix"] = shown.rstrip("…")  # in JSON as the console lists it: `rgpu_` + 8 hex
    results = check(wanted, api_url, key.value, environ, support.deadline(environ))
    if args.output == "json":
        sys.stdout.write(render_json(results, known["prefix"], api_url))
    else:
        sys.stdout.write(
            render_table(results, shown, api_url, terminal.colour_on(sys.stdout, environ))
        )
    return exit_code(results)
