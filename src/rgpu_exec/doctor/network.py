"""The checks that reach the API: a keyless probe of each API URL, and the access check.

The probe is one GET of the API's base URL, without the key, through the exchange's own client
(its TLS trust, `exchange.ssl_context`, and proxies): any HTTP answer proves the network path,
TLS trust and proxy settings, and its `Date` gives the clock skew. The access check is one
exchange for the current context only, done by `check`'s use case (`token.namespace_check`): the
token cache is neither read nor written, and the token is dropped unseen.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rgpu_exec import terminal
from rgpu_exec.credentials.api_key import find_api_key
from rgpu_exec.credentials.redact import key_prefix
from rgpu_exec.doctor.findings import Finding
from rgpu_exec.doctor.local import keyring_usable, no_key_fix, settings_findings
from rgpu_exec.errors import ApiError, ApiKeyError, UsageError
from rgpu_exec.hotpath import request, settings
from rgpu_exec.token import namespace_check

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime

    import httpx

    from rgpu_exec.doctor.kube import KubeReport, PluginContext

SKEW_NOTE_SECONDS = 30.0
SKEW_PROBLEM_SECONDS = 300.0
PROBE_TIMEOUT = 5.0  # seconds, for each of connect, read, write and pool


def api_findings(
    api_url: str,
    environ: Mapping[str, str],
    clock: Callable[[], float] = time.time,
    transport: httpx.BaseTransport | None = None,
    *,
    source: str | None = None,
    name_in_clock: bool = False,
    ca_reported: bool = False,
) -> list[Finding]:
    """One keyless GET of the API's base URL: reachable? and the clock skew from its `Date`.

    `source` says where the URL comes from, for the fix; `name_in_clock` names the API in the
    clock finding (when several APIs are probed); `ca_reported`: a CA bundle that does not load
    is already listed (so it is not listed again).
    """
    import httpx  # noqa: PLC0415

    from rgpu_exec.token import exchange  # noqa: PLC0415

    source = source or f"--api-url or {settings.ENV_API_URL}"
    exchanger = exchange.Exchanger(api_url, "", environ, transport=transport)
    started = clock()
    try:
        with exchanger.client() as client:  # the exchange's TLS trust and proxies
            status, date = _get(client, api_url + "/", exchange.MAX_BODY_BYTES)
    except UsageError as exc:  # the CA certificates do not load
        if ca_reported:
            return [
                Finding("API", "note", f"{api_url} not probed: fix the CA settings above first")
            ]
        fix = f"fix {settings.ENV_CA_BUNDLE}, {settings.ENV_SSL_CERT_FILE} or "
        return [Finding("API", "problem", exc.message, fix + f"{settings.ENV_SSL_CERT_DIR}")]
    except httpx.TransportError as exc:
        # The exchange's own wording, which names the likely cause.
        failure = exchanger.transport_failure(exc)
        fix = (
            f"point {settings.ENV_SSL_CERT_FILE} at your proxy's CA bundle, or set "
            f"{settings.ENV_CA_BUNDLE} for a private API CA"
            if exchange.certificate_error(exc) is not None
            else f"check your network and proxy settings (HTTPS_PROXY, NO_PROXY), and that "
            f"{api_url} ({source}) is the RemoteGPU API"
        )
        return [Finding("API", "problem", failure.message, fix)]
    finished = clock()
    reached = f"{api_url} answered (HTTP {status}, {(finished - started) * 1000:.0f} ms)"
    api = f" ({api_url})" if name_in_clock else ""
    server = exchange.server_date(date)
    return [Finding("API", "ok", reached), _clock_finding((started + finished) / 2, server, api)]


def _get(client: httpx.Client, url: str, max_body: int) -> tuple[int, str | None]:
    """GET `url`: its status and `Date`. The body is read as it streams in, up to `max_body`
    bytes (nothing in it is needed; a larger one is left unread)."""
    import httpx  # noqa: PLC0415

    request = client.build_request("GET", url, timeout=httpx.Timeout(PROBE_TIMEOUT))
    response = client.send(request, stream=True)
    try:
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_body:
                break
    finally:
        response.close()
    return response.status_code, response.headers.get("date")


def _clock_finding(now: float, server: datetime | None, api: str) -> Finding:
    """This machine's clock (`now`, mid-request) against the API's (`server`, from its Date)."""
    if server is None:
        return Finding("clock", "note", f"no Date header{api}: skew unknown")
    skew = now - server.timestamp()
    ahead = f"{abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the API's{api}"
    if abs(skew) >= SKEW_PROBLEM_SECONDS:
        return Finding(
            "clock",
            "problem",
            f"this machine's clock is {ahead}: TLS certificate checks may fail",
            "turn on time synchronisation (NTP), e.g. `timedatectl set-ntp true`",
        )
    if abs(skew) >= SKEW_NOTE_SECONDS:
        return Finding("clock", "note", f"clock {ahead}; rgpu-exec corrects for it")
    return Finding("clock", "ok", f"within {SKEW_NOTE_SECONDS:.0f} s of the API's{api}")


def access_findings(
    report: KubeReport,
    environ: Mapping[str, str],
    *,
    listed: list[Finding],
    unreachable: set[str],
    profile: str | None,
) -> list[Finding]:
    """One exchange for the current context, as kubectl would make it: allowed, denied, or why not.

    `listed`: the findings so far (a problem already listed is not listed again); `unreachable`:
    API URLs whose probe failed (no exchange is tried there); `profile`: the doctor's profile.
    """

    def note(detail: str) -> list[Finding]:
        return [Finding("access", "note", detail)]

    name = report.current_context
    context = report.current
    if name is None:
        return (
            note("no current-context in the kubeconfig: no exchange tried")
            if report.contexts
            else []
        )
    if context is None:
        return note(f"the current context {name!r} does not use rgpu-exec: no exchange tried")
    where = f"context {name!r}"
    if not context.exchangeable:
        return note(f"not tried for {where}: fix its exec stanza first (above)")
    own = [
        f for f in settings_findings(context.environ, context.call.api_url) if f.status == "problem"
    ]
    if own:
        details = {f.detail for f in listed}
        new = [
            Finding(f.topic, f.status, f"{f.detail} (in {where}'s exec env)", f.fix)
            for f in own
            if f.detail not in details
        ]
        return new or note(f"not tried for {where}: fix the settings above first")
    if context.api_url in unreachable:
        return note(f"not tried for {where}: the API at {context.api_url} did not answer (above)")
    context_profile = settings.profile(context.call.profile, context.environ)
    try:
        key = find_api_key(context.environ, context_profile, interactive=False)
    except ApiKeyError:
        same = context_profile == profile and settings.api_key(context.environ) == (
            settings.api_key(environ)
        )
        if same and any(f.topic == "API key" and f.status == "problem" for f in listed):
            return note(f"not tried for {where}: no API key (above)")
        return [
            Finding(
                "access",
                "problem",
                f"{where} uses keyring profile {context_profile!r}, which holds no key, and "
                f"{settings.ENV_API_KEY} is unset",
                no_key_fix(context_profile, keyring_usable(environ)),
            )
        ]
    except UsageError as exc:  # a key with spaces or control characters in it
        fix = _new_key_fix(None, context_profile)
        return [Finding("access", "problem", f"{where}: {exc.message}", fix)]
    return _exchange_findings(context, key.value, key.source, context_profile)


def _exchange_findings(
    context: PluginContext, key: str, source: str, profile: str
) -> list[Finding]:
    from rgpu_exec.token import api_contract  # noqa: PLC0415

    namespace_id = str(context.call.namespace_id)
    whose = f"{key_prefix(key)} ({_source(source, profile)})"
    where = f"context {context.name!r}"
    target = namespace_check.Target(namespace_id, None, context.name)
    deadline, refused = request.resolve_deadline(context.environ)
    if refused:  # already listed as a settings problem, so not reached in practice
        return [Finding("access", "problem", f"{where}: {refused}", "fix the settings above")]
    try:
        (result,) = namespace_check.check([target], context.api_url, key, context.environ, deadline)
    except ApiKeyError as exc:
        return [
            Finding("access", "problem", f"{where}: {exc.message}", _new_key_fix(source, profile))
        ]
    except ApiError as exc:
        fix = (
            "check your network and proxy settings (HTTPS_PROXY, NO_PROXY), and the API URL "
            f"{context.api_url}; then run `rgpu-exec doctor` again"
        )
        return [Finding("access", "problem", f"{where}: {exc.message}", fix)]
    except UsageError as exc:
        return [Finding("access", "problem", f"{where}: {exc.message}", "fix the settings above")]
    http = f"HTTP {result.status}: {result.reason}"
    if result.result == "allowed":
        lifetime = terminal.duration(result.lifetime_seconds)
        detail = (
            f"{where}: the key {whose} may use namespace {namespace_id} (a token for {lifetime}; "
            "one exchange spent, nothing cached)"
        )
        return [Finding("access", "ok", detail)]
    if result.result == "denied":
        return [
            Finding(
                "access",
                "problem",
                f"{where}: the key {whose} may not use namespace {namespace_id} ({http})",
                f"add the namespace to the key's kubernetes_exec scope in "
                f"{api_contract.KEYS_CONSOLE_PAGE}, or use a key whose scope covers it",
            )
        ]
    if result.result == "not_found":
        return [
            Finding(
                "access",
                "problem",
                f"{where}: namespace {namespace_id} does not exist in the account of the key "
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


def _source(source: str, profile: str) -> str:
    return settings.ENV_API_KEY if source == "env" else f"keyring profile {profile!r}"


def _new_key_fix(source: str | None, profile: str) -> str:
    from rgpu_exec.token import api_contract  # noqa: PLC0415

    where = (
        f"put it in {settings.ENV_API_KEY}"
        if source == "env"
        else f"store it with `rgpu-exec login --profile {profile}`"
    )
    return f"create a key with Kubernetes access in {api_contract.KEYS_CONSOLE_PAGE}, then {where}"
