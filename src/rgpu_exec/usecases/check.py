"""The use case of `rgpu-exec check`: which namespaces can this key reach?

One fresh exchange per namespace with the given key; the token cache is neither read nor
written, and the tokens obtained are dropped unseen. A namespace without an expectation is
expected to be allowed, so with no expectations at all, "ok" means "allowed". A namespace the
key's account does not know ("not found": a wrong ID, or another account's namespace) counts as
denied only when the caller says so (`not_found_as_denied`): otherwise a typo in
`--expect-denied` would pass silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from rgpu_exec import fixes
from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.errors import ApiError, ApiKeyError, ExitCode, RgpuExecError, UsageError
from rgpu_exec.hotpath import request, settings
from rgpu_exec.kubeconfig import listing
from rgpu_exec.sourced import Sourced, checked
from rgpu_exec.usecases.key_exchange import (
    KeyExchange,
    Outcome,
    access,
    find_key,
    named_kubernetes_server,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.credentials.api_key import ApiKey
    from rgpu_exec.kubeconfig.listing import ManagedContext

Expectation = Literal["allowed", "denied"]
_DEFAULT_URL = Sourced(settings.DEFAULT_API_URL, "the default API URL")
_DEFAULT_PROFILE = Sourced(settings.DEFAULT_PROFILE, "the default")


@dataclass(frozen=True)
class CheckRequest:
    """What to check; namespace IDs already validated (`hotpath.request`). With no namespace
    and no context at all, every context of the kubeconfig that runs rgpu-exec is checked."""

    namespace_ids: tuple[str, ...] = ()
    expect_allowed: tuple[str, ...] = ()
    expect_denied: tuple[str, ...] = ()
    contexts: tuple[str, ...] = ()  # kubeconfig contexts whose exec stanza runs rgpu-exec
    kubeconfig: str | None = None
    # --api-url / --profile, else the environment's (resolved by the command). One given on the
    # command line beats the contexts' own, which then need not agree.
    api_url: Sourced[str] = _DEFAULT_URL
    profile: Sourced[str] = _DEFAULT_PROFILE
    not_found_as_denied: bool = False
    interactive: bool = False  # whether a key may be asked for (stdin is a terminal)

    @property
    def nothing_named(self) -> bool:
        named = (self.namespace_ids, self.expect_allowed, self.expect_denied, self.contexts)
        return not any(named)


@dataclass(frozen=True)
class Target:
    namespace_id: str
    expected: Expectation = "allowed"
    stated: bool = False  # whether the expectation was given (--expect-allowed/--expect-denied)
    context: str | None = None
    namespace: str | None = None  # the namespace's name, when a context gives it


@dataclass(frozen=True)
class Plan:
    """The namespaces to check, in order, once each; and what the contexts agree on."""

    targets: list[Target]
    api_url: str | None = None  # the `--api-url` every context named passes, if any
    profile: str | None = None  # the `--profile` every context named passes, if any
    skipped: tuple[str, ...] = ()  # contexts left out of an every-context check, with why
    switched: tuple[str, ...] = ()  # contexts whose namespace is not their token's, with what
    # the contexts' cluster servers, with whose: an API URL that is one is refused first
    servers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Result:
    namespace_id: str
    namespace: str | None
    context: str | None
    result: Outcome
    expected: Expectation
    ok: bool
    status: int | None
    lifetime_seconds: int | None
    error_code: str | None = None  # the platform's error code (`forbidden`, …), when it gave one
    error_message: str | None = None

    @property
    def label(self) -> str:
        """The namespace as people know it; with its whole ID when that ID is unknown."""
        whole = self.result == "not_found"
        return request.namespace_label(self.namespace, self.namespace_id, whole=whole)


def plan(wanted: CheckRequest, environ: Mapping[str, str]) -> Plan:
    allowed = set(wanted.expect_allowed)
    denied = set(wanted.expect_denied)
    both = sorted(allowed & denied)
    if both:
        raise UsageError(
            f"{both[0]} is given both --expect-allowed and --expect-denied: keep the one you "
            "mean (a namespace is expected to be either reachable or not)."
        )
    contexts, skipped = _contexts(wanted, environ)
    named: list[tuple[str, ManagedContext | None]] = [(n, None) for n in wanted.namespace_ids]
    named += [(str(c.namespace_id), c) for c in contexts]
    named += [(n, None) for n in [*wanted.expect_allowed, *wanted.expect_denied]]
    seen: dict[str, Target] = {}
    for namespace_id, context in named:
        if namespace_id in seen:
            continue
        stated = namespace_id in allowed or namespace_id in denied
        seen[namespace_id] = Target(
            namespace_id,
            "denied" if namespace_id in denied else "allowed",
            stated,
            context.name if context else None,
            # The name of the namespace the ID is: the exec args', when a switched context's
            # own namespace is another one (see `ManagedContext.mismatch`).
            (context.token_namespace or context.namespace) if context else None,
        )
    if not seen:
        raise UsageError(
            "nothing to check: no context in the kubeconfig runs rgpu-exec"
            + (f" with a usable namespace ID ({'; '.join(skipped)})" if skipped else "")
            + ". Give a namespace ID (from the console's namespace page) with --namespace-id "
            "(repeatable), --expect-allowed or --expect-denied, or a context that runs rgpu-exec "
            "with --context (`rgpu-exec kubeconfig list` lists them)."
        )
    return Plan(
        list(seen.values()),
        None if wanted.api_url.given else _agreed(contexts, "api_url", "API URLs", "--api-url"),
        None if wanted.profile.given else _agreed(contexts, "profile", "profiles", "--profile"),
        tuple(skipped),
        tuple(f"context {c.name!r}: {c.mismatch}" for c in contexts if c.mismatch),
        tuple((c.server, f"of the cluster of context {c.name!r}") for c in contexts if c.server),
    )


def _contexts(
    wanted: CheckRequest, environ: Mapping[str, str]
) -> tuple[list[ManagedContext], list[str]]:
    """The contexts named (each must run rgpu-exec with a namespace ID), or, when nothing at
    all is named, every usable context that runs rgpu-exec (and why the others were left out)."""
    if not wanted.contexts and not wanted.nothing_named:
        return [], []
    config, managed = listing.load(wanted.kubeconfig, environ)
    if wanted.nothing_named:
        usable = [c for c in managed if c.problem is None]
        return usable, [f"context {c.name!r}: {c.problem}" for c in managed if c.problem]
    by_name = {c.name: c for c in managed}
    found = []
    for name in wanted.contexts:
        context = by_name.get(name)
        if name not in config.contexts:
            known = ", ".join(sorted(config.contexts)) or "none"
            raise UsageError(
                f"no context {name!r} in the kubeconfig ({', '.join(config.files) or 'no file'}); "
                f"contexts there: {known}."
            )
        if context is None:
            raise UsageError(
                f"context {name!r} does not use rgpu-exec (its user's exec stanza runs something "
                "else, or it has none), so it names no namespace ID. Pass --namespace-id instead."
            )
        if context.problem:
            raise UsageError(f"context {name!r}: {context.problem}; fix its exec args.")
        found.append(context)
    return found, []


def _agreed(contexts: list[ManagedContext], field: str, what: str, flag: str) -> str | None:
    values = {getattr(c, field) for c in contexts}
    if len(values) > 1:
        shown = ", ".join(sorted(f"{c.name}: {getattr(c, field) or '(none)'}" for c in contexts))
        one_each = ", ".join(
            fixes.command("rgpu-exec", "check", "--context", c.name)
            for c in sorted(contexts, key=lambda c: c.name)
        )
        raise UsageError(
            f"the contexts use different {what} ({shown}), and check asks one API with one key. "
            f"Check them one at a time ({one_each}), or give one to all of them with {flag}."
        )
    return values.pop() if values else None


def check(
    targets: list[Target], exchanger: KeyExchange, *, not_found_as_denied: bool = False
) -> list[Result]:
    """One exchange per target with one key and API (`key_exchange.access`), each answer
    judged against its expectation."""
    results = []
    for target in targets:
        got = access(exchanger, target.namespace_id, target.namespace)
        results.append(
            Result(
                target.namespace_id,
                target.namespace,
                target.context,
                got.result,
                target.expected,
                holds(got.result, target.expected, not_found_as_denied=not_found_as_denied),
                got.status,
                got.lifetime_seconds,
                got.error_code,
                got.error_message,
            )
        )
    return results


@dataclass(frozen=True)
class CheckResult:
    """What the check found: the key and API (known before a failure, for `--output json`'s
    error document), the contexts left out and the namespaces switched (warnings), the results,
    and the failure that stopped the check, if one did."""

    key: ApiKey | None = None
    api_url: str | None = None
    skipped: tuple[str, ...] = ()
    switched: tuple[str, ...] = ()
    results: list[Result] = field(default_factory=list)
    error: RgpuExecError | None = None

    @property
    def exit_code(self) -> ExitCode:
        return self.error.exit_code if self.error else exit_code(self.results)


def run(wanted: CheckRequest, environ: Mapping[str, str]) -> CheckResult:
    """The whole check: the plan, the key (as `token` finds it; a --profile flag, else the one
    the contexts pass, wins over REMOTEGPU_API_KEY), one exchange per namespace. A failure that
    stops it is returned with what was known by then."""
    known: dict[str, Any] = {}
    try:
        return _run(wanted, environ, known)
    except RgpuExecError as exc:
        return CheckResult(**known, error=exc)


def _run(wanted: CheckRequest, environ: Mapping[str, str], known: dict[str, Any]) -> CheckResult:
    found = plan(wanted, environ)
    known.update(skipped=found.skipped, switched=found.switched)
    if wanted.api_url.given or not found.api_url:
        url, url_source = wanted.api_url.value, wanted.api_url.source
    else:
        url = checked(request.resolve_api_url(found.api_url, environ))
        url_source = "the --api-url in the contexts' exec args"
    known["api_url"] = url
    # The contexts' own clusters first (their words name the context), then every cluster.
    servers = [*found.servers, *listing.cluster_servers(wanted.kubeconfig, environ)]
    named = named_kubernetes_server(url, url_source, servers, environ)
    if named is not None:
        raise named
    profile = wanted.profile.flag or found.profile
    key = known["key"] = find_key(environ, profile, interactive=wanted.interactive)
    exchanger = KeyExchange(key, ApiEndpoint(url, environ, url_source=url_source))
    try:
        results = check(found.targets, exchanger, not_found_as_denied=wanted.not_found_as_denied)
    except (ApiError, ApiKeyError) as exc:
        if url_source == "the default API URL":
            _current_contexts_api(exc, url, wanted.kubeconfig, environ)
        raise
    return CheckResult(**known, results=results)


def _current_contexts_api(
    exc: RgpuExecError, url: str, kubeconfig: str | None, environ: Mapping[str, str]
) -> None:
    """Say, in a failure at the default API, that the current context gets its tokens from
    another API (the --api-url in its exec args), and rerun with that URL exported."""
    try:
        config, managed = listing.load(kubeconfig, environ)
    except UsageError:
        return
    current = next((c for c in managed if c.name == config.current_context), None)
    if current is None or not current.api_url or settings.normal_url(current.api_url) == url:
        return
    exc.message += (
        f" This check asked the default API URL ({settings.ENV_API_URL} is not set), but the "
        f"current context {current.name!r} gets its tokens from {current.api_url} (the "
        "--api-url in its exec args): give that URL with --api-url, or export it."
    )
    exc.rerun_with = (settings.ENV_API_URL, current.api_url)


def holds(outcome: Outcome, expected: Expectation, *, not_found_as_denied: bool) -> bool:
    """Whether an answer is what was expected. "Not found" is denied only when the caller says
    that missing namespaces count as denied."""
    if outcome == "not_found":
        return expected == "denied" and not_found_as_denied
    return outcome == expected


def exit_code(results: list[Result]) -> ExitCode:
    if any(r.result == "error" for r in results):
        return ExitCode.API
    return ExitCode.OK if all(r.ok for r in results) else ExitCode.NAMESPACE_ACCESS
