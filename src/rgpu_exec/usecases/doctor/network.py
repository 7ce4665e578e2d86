"""The check that reaches the API without a key: a keyless probe of each API URL.

The probe is one credential exchange without the key (for the nil namespace ID), through the
exchange's own session of the HTTP gate (its TLS trust, `http_support.ssl_context`, its proxies,
uncompressed answers, no redirects). The RemoteGPU API answers it 401, asking for a key: that
proves the network path, TLS trust and proxy settings, and that the URL is the API's base URL.
Any other answer is a problem named for what it means (404: a wrong URL, such as one ending in
/v1). The answer's `Date` gives the clock skew. Like every request, it reads at most
`http_gate.MAX_BODY_BYTES` of the body, as sent and as inflated (a body over it is no answer of
the API's), and gives up after `PROBE_DEADLINE` in all, however slowly the answer arrives. The
access check, which spends one exchange with the key, is in `doctor.access`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rgpu_exec import contract, http_gate
from rgpu_exec.api import api_errors, http_support
from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import settings, url_rules
from rgpu_exec.usecases.doctor.findings import Finding

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime


SKEW_NOTE_SECONDS = 30.0
SKEW_PROBLEM_SECONDS = 300.0
PROBE_TIMEOUT = 5.0  # seconds, for each of connect, read, write and pool
PROBE_DEADLINE = 8.0  # seconds in all, like an exchange with a silent API
# The namespace the probe names: no key is sent, so the API answers 401 before looking it up.
PROBE_NAMESPACE_ID = contract.NO_NAMESPACE_ID


def api_findings(
    api_url: str,
    environ: Mapping[str, str],
    clock: Callable[[], float] = time.time,
    *,
    source: str | None = None,
    name_in_clock: bool = False,
    ca_reported: bool = False,
    rewrite: Callable[[str], str] | None = None,
) -> list[Finding]:
    """One keyless exchange: is this the RemoteGPU API, reachable? and the clock skew.

    `source` says where the URL comes from, for the fix; `name_in_clock` names the API in the
    clock finding (when several APIs are probed); `ca_reported`: a CA bundle that does not load
    is already listed (so it is not listed again); `rewrite`: the fix that sets another URL
    where this one comes from (a command), for a URL whose right spelling is known.
    """
    from rgpu_exec.api import exchange  # noqa: PLC0415

    source = source or f"--api-url or {settings.ENV_API_URL}"
    try:
        endpoint = ApiEndpoint(api_url, environ, url_source=source)
    except UsageError as exc:  # a key pasted into the URL: not probed, not shown
        detail, _, fix = exc.message.partition(". ")
        return [Finding("API", "problem", detail, fix[:1].lower() + fix[1:].rstrip("."))]
    exchanger = exchange.Exchanger(endpoint, "")

    def probe() -> tuple[int, str | None, bytes | None]:
        url = contract.exchange_url(api_url, PROBE_NAMESPACE_ID)
        # The exchange's TLS trust, proxies and headers; the whole probe within PROBE_DEADLINE.
        with exchanger.session(PROBE_DEADLINE) as session:
            return _post(session, url)

    network_fix = (
        f"check your network and proxy settings (HTTPS_PROXY, NO_PROXY), and that "
        f"{api_url} ({source}) is the RemoteGPU API"
    )
    started = clock()
    try:
        status, date, body = probe()
    except http_gate.TooSlowError:
        detail = f"{api_url} sent no complete answer within {PROBE_DEADLINE:.0f} s"
        return [Finding("API", "problem", detail, network_fix)]
    except UsageError as exc:  # the CA certificates do not load
        if ca_reported:
            return [
                Finding("API", "note", f"{api_url} not probed: fix the CA settings above first")
            ]
        fix = f"fix {settings.ENV_CA_BUNDLE}, {settings.ENV_SSL_CERT_FILE} or "
        return [Finding("API", "problem", exc.message, fix + f"{settings.ENV_SSL_CERT_DIR}")]
    except http_gate.TransportError as exc:
        # The exchange's own words: what happened as the detail, what to do as the fix.
        failure = exchanger.transport_failure(exc)
        remedy = failure.remedy.rstrip(".")
        plain = _plain_http(api_url) if http_support.not_tls(exc) else None
        if rewrite is not None and plain is not None:  # the emulator: http on loopback
            remedy = f"{rewrite(plain)}: a local server such as the emulator speaks plain http"
        return [Finding("API", "problem", failure.problem, remedy[:1].lower() + remedy[1:])]
    finished = clock()
    took = f"{(finished - started) * 1000:.0f} ms"
    api = f" ({api_url})" if name_in_clock else ""
    found = _answer_finding(api_url, status, took, source, network_fix, body)
    base = _base(api_url)
    if (
        rewrite is not None
        and found.status == "problem"
        and status == api_errors.HTTP_NOT_FOUND
        and base != api_url
    ):
        fix = f"{rewrite(base)}: the API's base URL (no /v1 or other path), not {api_url}"
        return [Finding(found.topic, found.status, found.detail, fix)]
    if found.status != "ok":  # not the API's answer: its Date says nothing of the API's clock
        return [found]
    return [found, _clock_finding((started + finished) / 2, http_support.server_date(date), api)]


def _plain_http(api_url: str) -> str | None:
    """The http:// spelling of an https URL to this machine (`url_rules` allows plain http to
    a loopback host only), else None."""
    scheme, _, rest = api_url.partition("://")
    plain = f"http://{rest}"
    local = url_rules.is_loopback_host(url_rules.url_host(api_url))
    return (
        plain if scheme.lower() == "https" and local and not url_rules.url_problem(plain) else None
    )


def _base(api_url: str) -> str:
    """The URL without its path (`https://api.example/v1` → `https://api.example`)."""
    scheme, _, rest = api_url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def not_probed(refused: UsageError) -> Finding:
    """The finding for an API URL refused before any request (a Kubernetes server's): the
    refusal's words, its cause as the detail and its fix as the fix."""
    detail, _, fix = refused.message.partition("; nothing was sent. ")
    return Finding("API", "problem", f"{detail}; not probed", fix[:1].lower() + fix[1:].rstrip("."))


def _answer_finding(  # noqa: PLR0917
    api_url: str, status: int, took: str, source: str, fix: str, body: bytes | None
) -> Finding:
    """What the keyless exchange's answer says about `api_url`: the RemoteGPU API asks for a key
    in its own words (a 401 with its error body); a Kubernetes API server answers a `Status`."""
    answer = api_errors.ErrorAnswer.read(body, "") if body is not None else None
    wrong_url = (
        f"check {source}: it must be the API's base URL, such as {settings.DEFAULT_API_URL} "
        "(no /v1 or other path), not a Kubernetes server"
    )
    if answer is not None and answer.kubernetes:
        detail = (
            f"{api_url} is not the RemoteGPU API: a Kubernetes API server answered (HTTP "
            f"{status}, a Kubernetes Status, {took})"
        )
        return Finding("API", "problem", detail, wrong_url)
    if status == api_errors.HTTP_UNAUTHORIZED and answer is not None and answer.code:
        detail = (
            f"{api_url} is the RemoteGPU API: it asked for a key (HTTP {status} {answer.code}, "
            f"{took})"
        )
        return Finding("API", "ok", detail)
    if status == api_errors.HTTP_UNAUTHORIZED:
        detail = (
            f"{api_url} answered HTTP {status} to a credential exchange without a key ({took}), "
            "but not in the RemoteGPU API's words: not verified that it is the API"
        )
        return Finding("API", "note", detail, wrong_url)
    if status == api_errors.HTTP_NOT_FOUND:
        detail = (
            f"{api_url} is not the RemoteGPU API: its credential exchange path answered HTTP "
            f"{status} ({took})"
        )
        return Finding("API", "problem", detail, wrong_url)
    if status == api_errors.HTTP_TOO_MANY or status >= api_errors.HTTP_SERVER_ERROR:
        detail = f"{api_url} answered HTTP {status} ({took}): the API is busy or has a problem"
        return Finding("API", "problem", detail, "run `rgpu-exec doctor` again in a few minutes")
    detail = (
        f"{api_url} answered HTTP {status} to a credential exchange without a key ({took}), "
        "where the RemoteGPU API asks for one (HTTP 401)"
    )
    return Finding("API", "problem", detail, fix)


def _post(session: http_gate.Session, url: str) -> tuple[int, str | None, bytes | None]:
    """POST to `url`, empty, without a key: the status, `Date` and the body (None when over the
    gate's cap or in an encoding it cannot read: left unread, and no answer of the API's)."""
    try:
        answer = session.send("POST", url, timeout=PROBE_TIMEOUT)
    except (http_gate.TooBigError, http_gate.EncodingError) as exc:
        return exc.status, None, None
    return answer.status, answer.headers.get("date"), answer.body


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
