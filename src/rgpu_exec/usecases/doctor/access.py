"""The doctor's access check: one exchange for the current context, as kubectl would make it.

Made as `check` makes its exchanges (`key_exchange.access`): the token cache is neither read
nor written, and the token is dropped unseen. The key is found as `token` finds it for that context:
a `--profile` in its exec args beats `REMOTEGPU_API_KEY`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from rgpu_exec import contract, terminal
from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.errors import ApiError, ApiKeyError, UsageError
from rgpu_exec.hotpath import request, settings
from rgpu_exec.redact import key_prefix
from rgpu_exec.usecases.doctor.findings import Finding, of_kind
from rgpu_exec.usecases.doctor.keys import (
    keyring_usable,
    login_fix,
    new_key_fix,
    no_key_fix,
)
from rgpu_exec.usecases.doctor.local import settings_findings
from rgpu_exec.usecases.key_exchange import KeyExchange, access, find_key

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from rgpu_exec.credentials.api_key import ApiKey
    from rgpu_exec.usecases.doctor.kube import PluginContext


def context_findings(
    context: PluginContext,
    environ: Mapping[str, str],
    *,
    listed: list[Finding],
    unreachable: set[str],
    profile: str | None,
    ask_cluster: Callable[[PluginContext], Finding] | None,
    blocked: str | None = None,
    rejected: tuple[str, str] | None = None,
) -> list[Finding]:
    """Whether kubectl can work with one context: its key (found as `token` finds it there),
    then the cluster's answer (`ask_cluster`, kubectl's `auth can-i`), or, without kubectl,
    one exchange with the API (allowed, denied, or why not) and the cluster not verified.

    `listed`: the findings so far (a problem already listed is not listed again);
    `unreachable`: API URLs whose probe failed; `profile`: the doctor's profile; `blocked`: why
    kubectl would not run the stanza at all (then nothing is tried, and the key is not sent);
    `rejected`: (key, API URL) the API rejected above (not tried again).
    """
    where = f"context {context.name!r}"

    def note(detail: str) -> list[Finding]:
        return [Finding("access", "note", f"{where}: {detail}")]

    if not context.exchangeable:
        return note("not tried: fix its exec stanza first (above)")
    if blocked:
        return note(f"not tried: {blocked}, so kubectl would not run rgpu-exec (above)")
    own = [
        f for f in settings_findings(context.environ, context.call.api_url) if f.status == "problem"
    ]
    if own:
        # The same setting found with the same value is the same problem, listed once.
        known = {f.facts for f in listed}
        new = [
            replace(f, detail=f"{f.detail} (in {where}'s exec env)")
            for f in own
            if f.kind is None or f.facts not in known
        ]
        return new or note("not tried: fix the settings above first")
    flag = context.call.profile
    context_profile = settings.profile(flag, context.environ)
    try:
        key = find_key(context.environ, flag)
    except ApiKeyError:
        env_key = request.environment_key(flag, context.environ)
        same = context_profile == profile and env_key == settings.api_key(environ)
        if same and of_kind(listed, "key-unusable", "problem"):
            return note("not tried: no API key (above)")
        why = (
            f"and its --profile wins over {settings.ENV_API_KEY}"
            if flag and settings.api_key(context.environ) is not None
            else f"and {settings.ENV_API_KEY} is unset"
        )
        usable = keyring_usable(environ)
        fix = (
            f"run {login_fix(context_profile, usable)} (the context's exec args name that "
            "profile, so only its stored key is used)"
            if flag
            else no_key_fix(context_profile, usable)
        )
        detail = f"{where} uses keyring profile {context_profile!r}, which holds no key, {why}"
        return [Finding("access", "problem", detail, fix)]
    except UsageError as exc:  # a value that cannot be a key (quotes, spaces)
        fix = new_key_fix(None, context_profile)
        return [Finding("access", "problem", f"{where}: {exc.message}", fix)]
    if rejected == (key.value, context.api_url):
        return note("not tried: the API rejects its key (above)")
    if ask_cluster is not None:
        return [ask_cluster(context)]
    if context.api_url in unreachable:
        return note(f"not tried: the API at {context.api_url} did not answer (above)")
    return [
        *_exchange_findings(context, key),
        Finding("cluster", "note", f"{where}: not verified: kubectl is not on PATH to ask it"),
    ]


def _exchange_findings(context: PluginContext, key: ApiKey) -> list[Finding]:

    namespace_id = str(context.call.namespace_id)
    namespace = request.namespace_label(context.namespace, namespace_id)
    whose = f"{key_prefix(key.value)} ({key.origin})"
    where = f"context {context.name!r}"
    profile = key.profile or settings.profile(context.call.profile, context.environ)
    deadline, refused = request.resolve_deadline(context.environ)
    if refused:  # already listed as a settings problem, so not reached in practice
        return [Finding("access", "problem", f"{where}: {refused}", "fix the settings above")]
    url_source = (
        f"the --api-url in the exec args of context {context.name!r}"
        if context.call.api_url
        else request.api_url_source(None, context.environ)
    )
    exchanger = KeyExchange(
        key, ApiEndpoint(context.api_url, context.environ, url_source=url_source, deadline=deadline)
    )
    try:
        result = access(exchanger, namespace_id, context.namespace)
    except ApiKeyError as exc:
        return [
            Finding(
                "access", "problem", f"{where}: {exc.problem}", new_key_fix(key.source, profile)
            )
        ]
    except ApiError as exc:
        fix = (
            "check your network and proxy settings (HTTPS_PROXY, NO_PROXY), and the API URL "
            f"{context.api_url}; then run `rgpu-exec doctor` again"
        )
        return [Finding("access", "problem", f"{where}: {exc.message}", fix)]
    except UsageError as exc:
        return [Finding("access", "problem", f"{where}: {exc.message}", "fix the settings above")]
    reason = ": ".join(p for p in (result.error_code, result.error_message) if p)
    http = f"HTTP {result.status}: {reason}"
    if result.result == "allowed":
        lifetime = terminal.duration(result.lifetime_seconds)
        detail = (
            f"{where}: the key {whose} may use namespace {namespace} (a token for {lifetime}; "
            "one exchange spent, nothing cached)"
        )
        return [Finding("access", "ok", detail)]
    if result.result == "denied":
        return [
            Finding(
                "access",
                "problem",
                f"{where}: the key {whose} may not use namespace {namespace} ({http})",
                f"in {contract.KEYS_CONSOLE_PAGE}, give the key a kubernetes_exec scope that "
                "covers the namespace (an inference-only key cannot have one: create a key with "
                "Kubernetes access), or use a key whose scope covers it",
            )
        ]
    if result.result == "not_found":
        return [
            Finding(
                "access",
                "problem",
                f"{where}: namespace {namespace} does not exist in the account of the key "
                f"{whose} ({http})",
                "check the --namespace-id in the context's exec args against the console, and "
                "that the key belongs to the account that owns the namespace",
            )
        ]
    return [
        Finding(
            "access",
            "problem",
            f"{where}: the RemoteGPU API at {context.api_url} answered an error ({http})",
            "try again in a minute; if it persists, check that the API URL is the RemoteGPU API",
        )
    ]
