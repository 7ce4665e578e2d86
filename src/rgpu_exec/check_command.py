"""`rgpu-exec check`: which namespaces can this key reach? A scope matrix for admins and CI.

One fresh exchange per namespace with the current key; the token cache is neither read nor
written, and the tokens obtained are dropped unseen. A namespace without an expectation is
expected to be allowed, so with no expectations at all, "ok" means "allowed".
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from rgpu_exec import command_support

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.errors import RgpuExecError

_EXIT_CODES = """\
  0  every namespace is allowed, or with expectations: every expectation holds
  2  bad flags, namespace IDs or kubeconfig
  3  no API key, or the API rejected the key
  4  a namespace is denied or not found (or, with expectations, one does not hold)
  5  the RemoteGPU API is unreachable or failed for a namespace
"""
_EXIT_FAILED_EXPECTATION = 4
_EXIT_API = 5
_HTTP_NOT_FOUND = 404
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
        epilog=command_support.epilog(
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
    command_support.add_output(
        parser,
        '{"key_prefix", "api_url", "results": [...]}, plus "error" when the check could not run',
    )
    command_support.add_api_url(parser)
    command_support.add_profile(parser, "keyring profile holding the key")
    parser.set_defaults(func=_run)


@dataclass(frozen=True)
class Target:
    namespace_id: str
    expected: bool | None  # True: allowed, False: denied, None: not stated (expected allowed)
    context: str | None = None


@dataclass(frozen=True)
class Result:
    namespace_id: str
    allowed: bool | None  # None: could not tell (error)
    status: int | None
    reason: str | None
    expected: bool | None
    ok: bool
    result: str  # allowed | denied | not_found (404) | error
    lifetime_seconds: int | None
    context: str | None


def targets(
    args: argparse.Namespace, environ: Mapping[str, str]
) -> tuple[list[Target], str | None]:
    """The namespaces to check, in order, once each; and an API URL the contexts agree on."""
    from rgpu_exec.errors import UsageError  # noqa: PLC0415

    allowed = {command_support.namespace_id(n) for n in args.expect_allowed}
    denied = {command_support.namespace_id(n) for n in args.expect_denied}
    both = sorted(allowed & denied)
    if both:
        raise UsageError(f"{both[0]} is given both --expect-allowed and --expect-denied.")
    named: list[tuple[str, str | None]] = [
        (command_support.namespace_id(n), None) for n in args.namespace_id
    ]
    urls: set[str] = set()
    for context_name, context_namespace, url in _from_contexts(args, environ):
        named.append((context_namespace, context_name))
        if url:
            urls.add(url.rstrip("/"))
    named += [(n, None) for n in [*args.expect_allowed, *args.expect_denied]]
    seen: dict[str, Target] = {}
    for namespace_id, context in named:
        if namespace_id not in seen:
            expected = (
                True if namespace_id in allowed else False if namespace_id in denied else None
            )
            seen[namespace_id] = Target(namespace_id, expected, context)
    if not seen:
        raise UsageError(
            "nothing to check: give --namespace-id ID (repeatable), --expect-allowed ID, "
            "--expect-denied ID or --kubeconfig-context NAME."
        )
    if len(urls) > 1:
        raise UsageError(
            f"the contexts call different API URLs ({', '.join(sorted(urls))}): check them "
            "separately, or choose one with --api-url."
        )
    return list(seen.values()), urls.pop() if urls else None


def _from_contexts(
    args: argparse.Namespace, environ: Mapping[str, str]
) -> list[tuple[str, str, str | None]]:
    if not args.kubeconfig_context:
        return []
    from rgpu_exec import kubeconfig_view  # noqa: PLC0415
    from rgpu_exec.errors import UsageError  # noqa: PLC0415

    config = kubeconfig_view.load(args.kubeconfig, environ)
    found = []
    for name in args.kubeconfig_context:
        context = config.contexts.get(name)
        if context is None:
            known = ", ".join(sorted(config.contexts)) or "none"
            raise UsageError(
                f"no context {name!r} in the kubeconfig ({', '.join(config.files) or 'no file'}); "
                f"contexts there: {known}."
            )
        user = config.user_of(context)
        call = kubeconfig_view.plugin_call(user) if user is not None else None
        if call is None:
            raise UsageError(
                f"context {name!r} does not use rgpu-exec (its user's exec stanza runs something "
                "else, or it has none), so it names no namespace ID. Pass --namespace-id instead."
            )
        if call.namespace_id is None:
            raise UsageError(
                f"context {name!r} runs rgpu-exec without --namespace-id; fix its exec args."
            )
        found.append((name, command_support.namespace_id(call.namespace_id), call.api_url))
    return found


def check(
    targets: list[Target], api_url: str, key: str, environ: Mapping[str, str]
) -> list[Result]:
    from rgpu_exec.errors import ApiError, NamespaceAccessError  # noqa: PLC0415
    from rgpu_exec.exchange import Exchanger  # noqa: PLC0415

    exchanger = Exchanger(api_url, key, environ, deadline=command_support.deadline(environ))
    results = []
    for target in targets:
        lifetime = status = reason = None
        try:
            issued = exchanger.exchange(target.namespace_id)
        except NamespaceAccessError as exc:
            allowed: bool | None = False
            status, reason = exc.status, exc.reason
            outcome = "not_found" if exc.status == _HTTP_NOT_FOUND else "denied"
        except ApiError as exc:
            if exc.status is None:  # no HTTP answer at all: every other namespace would fail too
                raise
            allowed, status, reason, outcome = None, exc.status, exc.message, "error"
        else:
            allowed, status, outcome, lifetime = True, 200, "allowed", round(issued.lifetime)
        wanted = target.expected if target.expected is not None else True
        results.append(
            Result(
                target.namespace_id,
                allowed,
                status,
                reason,
                target.expected,
                allowed is wanted,
                outcome,
                lifetime,
                target.context,
            )
        )
    return results


def exit_code(results: list[Result]) -> int:
    if any(r.result == "error" for r in results):
        return _EXIT_API
    return 0 if all(r.ok for r in results) else _EXIT_FAILED_EXPECTATION


def render_json(results: list[Result], key_prefix: str, api_url: str) -> str:
    import json  # noqa: PLC0415

    document = {"key_prefix": key_prefix, "api_url": api_url}
    return json.dumps({**document, "results": [asdict(r) for r in results]}, indent=2) + "\n"


def render_json_error(key_prefix: str | None, api_url: str | None, error: RgpuExecError) -> str:
    """What `--output json` prints when the check cannot run at all (no key, API unreachable):
    still one JSON document on stdout, so a CI step that pipes it into jq sees why."""
    import json  # noqa: PLC0415

    document: dict[str, Any] = {
        "key_prefix": key_prefix,
        "api_url": api_url,
        "error": {"exit_code": int(error.exit_code), "message": error.message},
        "results": [],
    }
    return json.dumps(document, indent=2) + "\n"


def render_table(results: list[Result], key_prefix: str, api_url: str, colour: bool) -> str:
    paint = command_support.paint
    rows = []
    for r in results:
        expected = {True: "allowed", False: "denied", None: "-"}[r.expected]
        detail = f"token lifetime {duration(r.lifetime_seconds)}" if r.allowed else r.reason or ""
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
        command_support.table(rows, ["NAMESPACE", "RESULT", "HTTP", "EXPECTED", "OK", "DETAIL"])
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


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _run(args: argparse.Namespace) -> int:
    from rgpu_exec.errors import RgpuExecError  # noqa: PLC0415

    known: dict[str, str] = {}  # key prefix and API URL, once known
    try:
        return _check(args, known)
    except RgpuExecError as exc:
        if args.output == "json":
            sys.stdout.write(render_json_error(known.get("prefix"), known.get("api_url"), exc))
        raise  # the CLI prints the message on stderr and exits with its code


def _check(args: argparse.Namespace, known: dict[str, str]) -> int:
    from rgpu_exec.api_key import find_api_key  # noqa: PLC0415
    from rgpu_exec.redact import key_prefix  # noqa: PLC0415

    environ = os.environ
    wanted, context_url = targets(args, environ)
    api_url = known["api_url"] = command_support.api_url(args.api_url or context_url, environ)
    profile = command_support.profile(args.profile, environ)
    key = find_api_key(environ, profile, interactive=sys.stdin is not None and sys.stdin.isatty())
    shown = key_prefix(key.value)  # `rgpu_e6f69fcc…`, as every other message shows it
    known["prefix"] = shown.rstrip("…")  # in JSON as the console lists it: `rgpu_` + 8 hex
    results = check(wanted, api_url, key.value, environ)
    if args.output == "json":
        sys.stdout.write(render_json(results, known["prefix"], api_url))
    else:
        sys.stdout.write(
            render_table(results, shown, api_url, command_support.colour_on(sys.stdout, environ))
        )
    return exit_code(results)
