"""The use case of `rgpu-exec check`: which namespaces can this key reach?

One fresh exchange per namespace with the given key; the token cache is neither read nor
written, and the tokens obtained are dropped unseen. A namespace without an expectation is
expected to be allowed, so with no expectations at all, "ok" means "allowed".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rgpu_exec.errors import ApiError, ExitCode, NamespaceAccessError, UsageError
from rgpu_exec.hotpath import request
from rgpu_exec.kubeconfig import view as kubeconfig_view

if TYPE_CHECKING:
    from collections.abc import Mapping

Outcome = Literal["allowed", "denied", "not_found", "error"]  # not_found: HTTP 404
_HTTP_NOT_FOUND = 404


@dataclass(frozen=True)
class CheckRequest:
    """What to check; namespace IDs already validated (`hotpath.request`)."""

    namespace_ids: tuple[str, ...] = ()
    expect_allowed: tuple[str, ...] = ()
    expect_denied: tuple[str, ...] = ()
    contexts: tuple[str, ...] = ()  # kubeconfig contexts whose exec stanza runs rgpu-exec
    kubeconfig: str | None = None


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
    result: Outcome
    lifetime_seconds: int | None
    context: str | None


def targets(wanted: CheckRequest, environ: Mapping[str, str]) -> tuple[list[Target], str | None]:
    """The namespaces to check, in order, once each; and an API URL the contexts agree on."""
    allowed = set(wanted.expect_allowed)
    denied = set(wanted.expect_denied)
    both = sorted(allowed & denied)
    if both:
        raise UsageError(f"{both[0]} is given both --expect-allowed and --expect-denied.")
    named: list[tuple[str, str | None]] = [(n, None) for n in wanted.namespace_ids]
    urls: set[str] = set()
    for context_name, context_namespace, url in _from_contexts(wanted, environ):
        named.append((context_namespace, context_name))
        if url:
            urls.add(url.rstrip("/"))
    named += [(n, None) for n in [*wanted.expect_allowed, *wanted.expect_denied]]
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
    wanted: CheckRequest, environ: Mapping[str, str]
) -> list[tuple[str, str, str | None]]:
    if not wanted.contexts:
        return []
    config = kubeconfig_view.load(wanted.kubeconfig, environ)
    found = []
    for name in wanted.contexts:
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
        namespace_id, problem = request.resolve_namespace_id(call.namespace_id)
        if problem:
            raise UsageError(f"context {name!r}: {problem}")
        found.append((name, namespace_id, call.api_url))
    return found


def check(
    targets: list[Target], api_url: str, key: str, environ: Mapping[str, str], deadline: float
) -> list[Result]:
    from rgpu_exec.token.exchange import Exchanger  # noqa: PLC0415 - httpx

    exchanger = Exchanger(api_url, key, environ, deadline=deadline)
    results = []
    for target in targets:
        lifetime = status = reason = None
        try:
            issued = exchanger.exchange(target.namespace_id)
        except NamespaceAccessError as exc:
            allowed: bool | None = False
            status, reason = exc.status, exc.reason
            outcome: Outcome = "not_found" if exc.status == _HTTP_NOT_FOUND else "denied"
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


def exit_code(results: list[Result]) -> ExitCode:
    if any(r.result == "error" for r in results):
        return ExitCode.API
    return ExitCode.OK if all(r.ok for r in results) else ExitCode.NAMESPACE_ACCESS
