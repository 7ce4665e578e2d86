"""Exchange an API key for a namespace token: one POST, retried with care, answer validated.

Retries 429 (honouring Retry-After), 5xx and dropped connections with exponential backoff and
jitter, all within one total deadline: riding out a short outage is worth the wait. No connection
at all (refused, no such host, unreachable, TLS handshake failed) gets one or two quick retries
only, and an API that accepts the connection but stays silent is not asked again: neither is
worth holding kubectl for. Never retries any other 4xx. Maps every outcome to the error (and exit
code) in `errors`. An interactive run says once, after a couple of seconds, what it waits for.

Plain http (loopback only, `url_rules.url_problem`) never goes through a proxy. Answers are asked
for uncompressed, and read as they arrive, inflated piece by piece, up to `MAX_BODY_BYTES`.

The deadline holds whatever the network does. Every read has a timeout, but an answer that
trickles in a byte at a time never trips one; so the exchange runs in a worker thread, and the
caller stops waiting for it at the deadline (plus a short grace, so that the worker's own timeout
reports first when it can).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import httpx
from pydantic import ValidationError

from rgpu_exec import __version__, contract, output
from rgpu_exec.api import api_contract, api_errors
from rgpu_exec.api.http_support import (
    EncodingError,
    TooSlowError,
    certificate_error,
    finish_within,
    not_tls,
    read_capped,
    retry_after_seconds,
    server_date,
    ssl_context,
)
from rgpu_exec.errors import ApiError, RgpuExecError, UsageError
from rgpu_exec.hotpath import settings, url_rules
from rgpu_exec.hotpath.exec_credential import token_is_safe
from rgpu_exec.hotpath.request import api_url_problem, namespace_label
from rgpu_exec.redact import excerpt, key_prefix

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# The longest a token is cached for, whatever expiry the API states (its default is 15 minutes).
MAX_CACHED_LIFETIME = 12 * 3600.0
CONNECT_TIMEOUT = 5.0
# An API that accepts the connection and says nothing for this long is given up on, not asked
# again: with start-up, kubectl hears within 10 s (never the whole deadline).
READ_TIMEOUT = 7.0
# No connection at all: this many quick retries at most, all within this window from the start.
CONNECT_RETRIES = 2
CONNECT_RETRY_WINDOW = 1.5
# An interactive run that will still be retrying this long after the start says so, once.
NOTICE_AFTER = 2.0
_BACKOFF_BASE = 0.5
_CONNECT_BACKOFF_BASE = 0.25
_BACKOFF_CAP = 4.0
_DEADLINE_GRACE = 1.0
# Failures to get a connection at all (certificate refusals are not retried in any case).
_NO_CONNECTION = (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError)
# The connection was made, then nothing came in time.
_SILENT = (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    lifetime: float  # seconds, as the server states it (expiry minus the server's Date)
    expires_at_server: datetime


@dataclass
class Exchanger:
    """One API base URL and key; the clock, sleep and randomness injectable for tests (the HTTP
    edge is mocked with respx)."""

    api_url: str
    api_key: str
    environ: Mapping[str, str]
    deadline: float = settings.DEFAULT_DEADLINE
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    # kubectl runs the plugin interactively (exec info `spec.interactive`): a long wait is told.
    interactive: bool = False
    notify: Callable[[str], None] = output.say
    # Where the API URL came from, for a message about a wrong one (`request.api_url_source`).
    url_source: str = "the API URL"

    def exchange(self, namespace_id: str, namespace_name: str | None = None) -> IssuedToken:
        """The token, or the error; within the deadline (plus `_DEADLINE_GRACE`) in any case.
        `namespace_name`, when known, names the namespace in messages beside its ID."""
        try:
            return finish_within(
                self.deadline + _DEADLINE_GRACE,
                lambda: self._exchange(namespace_id, namespace_name),
                "rgpu-exec-exchange",
            )
        except TooSlowError:
            raise ApiError(
                f"cannot reach the RemoteGPU API at {self.api_url}: no complete answer within "
                f"{self.deadline:.0f} s (it is arriving too slowly). Check your network and proxy "
                f"settings (HTTPS_PROXY, NO_PROXY), or allow more time with "
                f"{settings.ENV_DEADLINE}.",
                transient=True,
            ) from None

    def _exchange(self, namespace_id: str, namespace_name: str | None) -> IssuedToken:
        problem = api_url_problem(self.api_url)  # callers checked; httpx must never see
        if problem:  # a URL it reads otherwise (or cannot read at all)
            raise UsageError(problem)
        url = contract.exchange_url(self.api_url, namespace_id)
        started = self.monotonic()
        give_up_at = started + self.deadline
        attempt = 0
        told = False
        with self.client() as client:
            while True:
                attempt += 1
                remaining = give_up_at - self.monotonic()
                retry_after = None
                try:
                    status, headers, body = self._post(client, url, remaining)
                except httpx.TransportError as exc:
                    failure: RgpuExecError = self.transport_failure(exc)
                    kind = "connect" if isinstance(exc, _NO_CONNECTION) else "other"
                    kind = "silent" if isinstance(exc, _SILENT) else kind
                    happened = f"dropped the connection ({type(exc).__name__})"
                else:
                    if status == httpx.codes.OK:
                        return self._parse_answer(headers, body)
                    too_many = status == api_errors.HTTP_TOO_MANY
                    retry_after = retry_after_seconds(headers) if too_many else None
                    failure = api_errors.status_failure(
                        status,
                        api_errors.ErrorAnswer.read(body, self.api_key),
                        api_url=self.api_url,
                        api_key=self.api_key,
                        namespace=namespace_label(namespace_name, namespace_id),
                        url_source=self.url_source,
                        retry_after=retry_after,
                    )
                    kind, happened = "status", f"answered HTTP {status}"
                if not (isinstance(failure, ApiError) and failure.transient):
                    raise failure
                now = self.monotonic()
                delay = self._backoff(attempt, retry_after, connect=kind == "connect")
                if now + delay >= give_up_at:
                    why = f"within {self.deadline:.0f} s"  # a 429's wait: in its own words
                elif kind == "silent" or (
                    kind == "connect"
                    and (attempt > CONNECT_RETRIES or now + delay - started > CONNECT_RETRY_WINDOW)
                ):
                    why = f"in {now - started:.1f} s"
                else:
                    why = ""
                if why:
                    raise ApiError(
                        f"{failure.problem.rstrip('.')} (gave up after {attempt} attempt(s) "
                        f"{why}).",
                        transient=True,
                        status=failure.status,
                        code=failure.code,
                        api_message=failure.api_message,
                        remedy=api_errors.longer_wait(failure.remedy, retry_after, now, give_up_at),
                    ) from failure
                if self.interactive and not told and now + delay - started >= NOTICE_AFTER:
                    told = True
                    self.notify(
                        f"rgpu-exec: the RemoteGPU API at {self.api_url} {happened}; retrying "
                        f"for up to {give_up_at - now:.0f} s more… (Ctrl-C to give up)"
                    )
                log.debug("attempt %d failed (%s); retrying in %.2f s", attempt, failure, delay)
                self.sleep(delay)

    def client(self) -> httpx.Client:
        # Plain http goes to loopback only, and never through a proxy (HTTP_PROXY, ALL_PROXY):
        # the key would cross to the proxy in clear. HTTPS honours HTTPS_PROXY and NO_PROXY.
        tls = self.api_url[:8].lower() == "https://"
        return httpx.Client(
            verify=ssl_context(self.environ),
            trust_env=tls,
            follow_redirects=False,  # a redirect must never carry the key elsewhere
            # Uncompressed answers: a small compressed one could inflate to gigabytes.
            headers={"user-agent": f"rgpu-exec/{__version__}", "accept-encoding": "identity"},
        )

    def _post(
        self, client: httpx.Client, url: str, remaining: float
    ) -> tuple[int, httpx.Headers, bytes]:
        timeout = httpx.Timeout(
            min(READ_TIMEOUT, max(remaining, 0.1)),
            connect=min(CONNECT_TIMEOUT, max(remaining, 0.1)),
        )
        log.debug("POST %s (key %s)", url, key_prefix(self.api_key))
        request = client.build_request(
            "POST",
            url,
            headers={contract.API_KEY_HEADER: self.api_key, "accept": "application/json"},
            timeout=timeout,
        )
        response = client.send(request, stream=True)
        try:
            body = read_capped(response, MAX_BODY_BYTES)
        except EncodingError as exc:
            raise ApiError(
                f"the RemoteGPU API at {self.api_url} answered with {exc.args[0]} "
                f"(HTTP {response.status_code}, Content-Encoding "
                f"{excerpt(exc.args[1].encode(), self.api_key, limit=40)!r}). Check that "
                f"{self.url_source} points at the RemoteGPU API, not at something that "
                "rewrites its answers.",
                transient=False,
                status=response.status_code,
            ) from None
        finally:
            response.close()
        size = f"over {MAX_BODY_BYTES} bytes" if body is None else f"{len(body)} bytes"
        log.debug("answer: HTTP %d, %s", response.status_code, size)
        if body is None:
            raise ApiError(
                f"the RemoteGPU API at {self.api_url} answered with a body over "
                f"{MAX_BODY_BYTES // 1024} KiB (HTTP {response.status_code}), which no credential "
                f"needs; refusing to read it. Check that {self.url_source} points at the "
                "RemoteGPU API.",
                transient=False,
                status=response.status_code,
            )
        return response.status_code, response.headers, body

    def transport_failure(self, exc: httpx.TransportError) -> ApiError:
        untrusted = certificate_error(exc)
        if untrusted is not None:
            return ApiError(
                f"the TLS certificate of {self.api_url} is not trusted "
                f"({untrusted.verify_message}).",
                transient=False,
                remedy=f"Behind a TLS-inspecting proxy, point {settings.ENV_SSL_CERT_FILE} at its "
                f"CA bundle; for a private API CA, set {settings.ENV_CA_BUNDLE}.",
            )
        local = url_rules.is_loopback_host(url_rules.url_host(self.api_url))
        if not_tls(exc):
            hint = (
                "use http:// for a local server such as the emulator"
                if local
                else "use the API's https port, and check any proxy in between (HTTPS_PROXY)"
            )
            return ApiError(
                f"{self.api_url} does not speak TLS: the server answered the TLS handshake with "
                "something else, as a plain-http server does.",
                transient=False,
                remedy=f"Check {self.url_source}: {hint}.",
            )
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        remedy = (
            f"Check that the local server is running, and that {self.url_source} names its port."
            if local and isinstance(exc, httpx.ConnectError)
            else f"Check your network and proxy settings (HTTPS_PROXY, NO_PROXY), and "
            f"{self.url_source}."
        )
        return ApiError(
            f"cannot reach the RemoteGPU API at {self.api_url}: the connection {kind} "
            f"({type(exc).__name__}: {exc or 'no detail'}).",
            transient=True,
            remedy=remedy,
        )

    def _parse_answer(self, headers: httpx.Headers, body: bytes) -> IssuedToken:
        try:
            answer = api_contract.ExecCredentialAnswer.model_validate_json(body)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                for e in exc.errors(include_input=False)[:3]
            )
            raise ApiError(
                f"the RemoteGPU API at {self.api_url} answered with something that is not a "
                f"valid ExecCredential ({problems}). Nothing was cached; try again later, and "
                f"check that {self.url_source} points at the RemoteGPU API.",
                transient=False,
                status=200,  # answered, in a way no credential is
            ) from None
        token = answer.status.token
        if not token_is_safe(token):
            raise ApiError(
                f"the RemoteGPU API at {self.api_url} issued a token with characters that "
                "cannot go in an HTTP header. Nothing was cached; report this to RemoteGPU.",
                transient=False,
                status=200,  # answered, in a way no credential is
            )
        expiry = answer.status.expiration_timestamp
        server_now = server_date(headers.get("date")) or datetime.now(timezone.utc)
        lifetime = (expiry - server_now).total_seconds()
        if lifetime <= 0:
            raise ApiError(
                f"the RemoteGPU API at {self.api_url} issued a credential that had already "
                f"expired ({expiry.isoformat()}, server time {server_now.isoformat()}). "
                "Nothing was cached; try again later.",
                transient=False,
                status=200,  # answered, in a way no credential is
            )
        if lifetime > MAX_CACHED_LIFETIME:
            # Tokens live minutes; a stated lifetime of days means a wrong clock or expiry
            # somewhere. Cache it (and tell kubectl it expires) after a bounded time at most.
            implausible = "stated lifetime %.0f s is implausible: caching it for %.0f s"
            log.debug(implausible, lifetime, MAX_CACHED_LIFETIME)
            lifetime = MAX_CACHED_LIFETIME
        return IssuedToken(token=token, lifetime=lifetime, expires_at_server=expiry)

    def _backoff(self, attempt: int, retry_after: float | None, *, connect: bool = False) -> float:
        base = _CONNECT_BACKOFF_BASE if connect else _BACKOFF_BASE
        ceiling = min(_BACKOFF_CAP, base * 2.0 ** (attempt - 1))
        backoff = ceiling * (0.5 + self.rng.random() / 2)
        # Retry-After is the earliest time to retry, and never sooner than our own backoff: a
        # "Retry-After: 0" must not turn the retries into a tight loop for the whole deadline.
        return backoff if retry_after is None else max(retry_after, backoff)
