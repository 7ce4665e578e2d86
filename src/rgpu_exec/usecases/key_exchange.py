"""Find the key → exchange it → explain a rejection: the one sequence every use case that spends
an exchange follows (`token`, the verification of `kubeconfig generate` / `import` and `login`,
`check`, `doctor`).

The key is found as `token` finds it (`credentials.api_key.find_api_key`: a `--profile` flag
beats `REMOTEGPU_API_KEY`); a 401 is explained for where the key came from
(`credentials.api_key.rejected`: while `REMOTEGPU_API_KEY` is set, `rgpu-exec login` would not
help). httpx and pydantic load only when an exchange is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rgpu_exec import contract, fixes
from rgpu_exec.credentials.api_key import ApiKey, asked_key, find_api_key, rejected, stored_key
from rgpu_exec.errors import (
    ApiError,
    ApiKeyError,
    NamespaceAccessError,
    RgpuExecError,
    UsageError,
)
from rgpu_exec.hotpath import request, settings
from rgpu_exec.sourced import checked

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from rgpu_exec.api.endpoint import ApiEndpoint
    from rgpu_exec.api.exchange import IssuedToken

_HTTP_NOT_FOUND = 404


def find_key(
    environ: Mapping[str, str], profile_flag: str | None, *, interactive: bool = False
) -> ApiKey:
    """The key `token` would use with this `--profile` (None: none given), or its error."""
    profile = checked(request.resolve_profile(profile_flag, environ))
    return find_api_key(environ, profile, interactive=interactive, profile_flag=profile_flag)


def find_kept_key(environ: Mapping[str, str], profile_flag: str | None) -> ApiKey | None:
    """`find_key` without asking anyone: the key kept in the environment, keyring or key file."""
    profile = checked(request.resolve_profile(profile_flag, environ))
    return stored_key(environ, profile, profile_flag=profile_flag)


def ask_for_key(
    environ: Mapping[str, str], profile_flag: str | None, *, interactive: bool
) -> ApiKey:
    """`find_key` once none is kept (`find_kept_key`): a prompt, or the no-key error."""
    profile = checked(request.resolve_profile(profile_flag, environ))
    return asked_key(environ, profile, interactive=interactive, profile_flag=profile_flag)


@dataclass
class KeyExchange:
    """One key and one API (`endpoint`: its URL, and how to ask it, as `api.endpoint` declares
    it): exchanges for namespaces, each a fresh token (never cached here).

    `explain` (default True) adds to a 401 what to do for the key's source; `login`, whose key
    comes from its own input, reports the API's answer as it is.
    """

    key: ApiKey
    endpoint: ApiEndpoint
    explain: bool = True

    def exchange(self, namespace_id: str, namespace_name: str | None = None) -> IssuedToken:
        """The token, or the exchange's error (exit 3, 4 or 5 as `token` gives them)."""
        from rgpu_exec.api.exchange import Exchanger  # noqa: PLC0415 - httpx, pydantic

        exchanger = Exchanger(self.endpoint, self.key.value)
        try:
            return exchanger.exchange(namespace_id, namespace_name)
        except ApiKeyError as rejection:
            if not self.explain:
                raise
            raise rejected(rejection, self.key) from None


Outcome = Literal["allowed", "denied", "not_found", "error"]  # not_found: HTTP 404


@dataclass(frozen=True)
class Access:
    """What the API answered to one exchange for a namespace, as `check` and `doctor` report it:
    allowed (with the token's lifetime), denied (403), not found (404) or an error answer. The
    token itself is dropped unseen."""

    result: Outcome
    status: int | None
    lifetime_seconds: int | None = None
    error_code: str | None = None  # the platform's error code (`forbidden`, …), when it gave one
    error_message: str | None = None


def access(exchanger: KeyExchange, namespace_id: str, namespace: str | None = None) -> Access:
    """One exchange for `namespace_id`, its answer as an `Access`. A rejected key, or no answer
    at all, raises (every other namespace would fail the same way)."""
    try:
        issued = exchanger.exchange(namespace_id, namespace)
    except NamespaceAccessError as exc:
        outcome: Outcome = "not_found" if exc.status == _HTTP_NOT_FOUND else "denied"
        return Access(outcome, exc.status, None, exc.code, exc.api_message)
    except ApiError as exc:
        if exc.status is None:  # no HTTP answer at all
            raise
        # Our own words: they say what the status means and what to do about it.
        return Access("error", exc.status, None, exc.code, exc.message)
    return Access("allowed", 200, round(issued.lifetime))


KeyState = Literal["valid", "rejected", "not verified"]


@dataclass(frozen=True)
class KeyVerdict:
    """What the API says of a key: `valid` (it judged the key and went on to the namespace),
    `rejected` (401: `error` says why), or `not verified` (no answer about the key: `error`)."""

    state: KeyState
    detail: str
    error: RgpuExecError | None = None


def judge_key(exchanger: KeyExchange) -> KeyVerdict:
    """Ask the API about the key with one exchange for a namespace no account has
    (`contract.NO_NAMESPACE_ID`): no token is issued, whatever the key."""
    try:
        exchanger.exchange(contract.NO_NAMESPACE_ID)
    except ApiKeyError as exc:
        return KeyVerdict("rejected", exc.problem, exc)
    except NamespaceAccessError as exc:
        code = f" {exc.code}" if exc.code else ""
        return KeyVerdict(
            "valid",
            f"the API accepts it (it answered HTTP {exc.status}{code} for a namespace no "
            "account has, so it judged the key first; no token was issued)",
        )
    except RgpuExecError as exc:
        return KeyVerdict("not verified", exc.message, exc)
    return KeyVerdict("valid", "the API accepts it")


def named_kubernetes_server(
    api_url: str,
    url_source: str,
    servers: Iterable[tuple[str, str]],
    environ: Mapping[str, str],
) -> UsageError | None:
    """The error when the API URL is a Kubernetes server the user named (`servers`: each server
    URL with what names it, "given with --server", "of cluster 'x' in FILE"), said before any
    request is made: the key goes to the RemoteGPU API, never to a cluster. None otherwise.
    `environ`: what the command would use without --api-url (REMOTEGPU_API_URL, else the
    default API), for the fix."""
    from rgpu_exec.hotpath import url_rules  # noqa: PLC0415 - only where a server is named

    for server, named in servers:
        if not url_rules.same_url(api_url, server):
            continue
        if url_source == settings.ENV_API_URL:
            fix = (
                f"If you use the default API ({settings.DEFAULT_API_URL}), run "
                f"{fixes.command('unset', settings.ENV_API_URL)}; else set "
                f"{settings.ENV_API_URL} to the API URL"
            )
        elif url_source == "the default API URL":
            fix = f"Set {settings.ENV_API_URL} (or give --api-url) to your API URL"
        else:
            instead = settings.api_url(None, environ)
            which = (
                f"{settings.ENV_API_URL} ({instead})"
                if settings.api_url_from_environment(environ)
                else f"the default API ({instead})"
            )
            fix = (
                f"Give {url_source} the API URL"
                if url_rules.same_url(instead, server)
                else f"Leave out {url_source} to use {which}, or give it the API URL"
            )
        return UsageError(
            f"the API URL {api_url} ({url_source}) is the Kubernetes server {named}, not the "
            "RemoteGPU API: your API key goes to the API, which issues the tokens that server "
            f"accepts; nothing was sent. {fix} that the console's kubeconfig download names in "
            "its exec command (the start of its curl URL, before /v1/)."
        )
    return None


def not_a_kubernetes_server(
    api_url: str, url_source: str, environ: Mapping[str, str], kubeconfig: str | None = None
) -> None:
    """Refuse an API URL that is a Kubernetes server, before the key is sought or sent (a miss
    only): the server kubectl sends the token to (`spec.cluster.server` in the exec info) when
    the exec info names one, else every cluster's server in the kubeconfig."""
    raw = settings.exec_info(environ)
    servers: list[tuple[str, str]] = []
    if raw and '"cluster"' in raw:  # spec.cluster (provideClusterInfo): kubectl's own server
        from rgpu_exec.kube.exec_info import cluster_of  # noqa: PLC0415 - not on the hit path

        cluster = cluster_of(raw)
        if cluster is not None:
            named = f"kubectl sends this token to (spec.cluster.server in {settings.ENV_EXEC_INFO})"
            servers.append((cluster.server, named))
    from rgpu_exec.hotpath import url_rules  # noqa: PLC0415 - not on the hit path
    from rgpu_exec.kubeconfig import files  # noqa: PLC0415

    # The kubeconfig is parsed (YAML) only when a file holds the API URL's host at all.
    if not servers and files.mention(url_rules.url_host(api_url), kubeconfig, environ):
        from rgpu_exec.kubeconfig import listing  # noqa: PLC0415

        servers = listing.cluster_servers(kubeconfig, environ)
    found = named_kubernetes_server(api_url, url_source, servers, environ)
    if found is not None:
        raise found
