"""Exchange an API key for a namespace token: one POST, retried with care, answer validated.

Retries 429 (honouring Retry-After), 5xx and dropped connections with exponential backoff and
jitter, all within one total deadline: riding out a short outage is worth the wait. No connection
at all (refused, no such host, unreachable, TLS handshake failed) gets one or two quick retries
only, and an API that accepts the connection but stays silent is not asked again: neither is
worth holding kubectl for. Never retries any other 4xx. Maps every outcome to the error (and exit
code) in `errors`. An interactive run says once, after a couple of seconds, what it waits for.

Every request goes through the HTTP gate (`http_gate.api_session`): plain http (loopback only,
`url_rules.url_problem`) never goes through a proxy; answers are asked for uncompressed, and read
as they arrive, inflated piece by piece, up to `MAX_BODY_BYTES`; no redirect is followed.

The deadline holds whatever the network does. Every read has a timeout, but an answer that
trickles in a byte at a time never trips one; so the exchange runs in a worker thread, and the
caller stops waiting for it at the deadline (plus a short grace, so that the worker's own timeout
reports first when it can); the gate's session has the same deadline.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from pydantic import ValidationError

from rgpu_exec import contract, http_gate
from rgpu_exec.api import api_contract, api_errors
from rgpu_exec.api.http_support import (
    certificate_error,
    not_tls,
    not_tls_error,
    retry_after_seconds,
    server_date,
    ssl_context,
)
from rgpu_exec.bounded import finish_within
from rgpu_exec.errors import ApiError, RgpuExecError, UsageError
from rgpu_exec.hotpath import settings, url_rules
from rgpu_exec.hotpath.exec_credential import token_is_safe
from rgpu_exec.hotpath.request import api_url_problem, namespace_label
from rgpu_exec.redact import excerpt, key_prefix

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from rgpu_exec.api.endpoint import ApiEndpoint

log = logging.getLogger(__name__)

MAX_BODY_BYTES = http_gate.MAX_BODY_BYTES
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


@dataclass(frozen=True)
class IssuedToken:
    token: str
    lifetime: float  # seconds, as the server states it (expiry minus the server's Date)


@dataclass
class Exchanger:
    """One API (`endpoint`: its URL, and how to ask it) and one key; the clock, sleep and
    randomness injectable for tests (the HTTP edge is mocked with respx)."""

    endpoint: ApiEndpoint
    api_key: str
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def exchange(self, namespace_id: str, namespace_name: str | None = None) -> IssuedToken:
        """The token, or the error; within the deadline (plus `_DEADLINE_GRACE`) in any case.
        `namespace_name`, when known, names the namespace in messages beside its ID."""
        deadline = self.endpoint.seconds()
        try:
            return finish_within(
                deadline + _DEADLINE_GRACE,
                lambda: self._exchange(namespace_id, namespace_name, deadline),
                "rgpu-exec-exchange",
            )
        except http_gate.TooSlowError:
            raise ApiError(
                f"cannot reach the RemoteGPU API at {self.endpoint.api_url}: no complete answer "
                f"within {deadline:.0f} s (it is arriving too slowly). Check your network and "
                f"proxy settings (HTTPS_PROXY, NO_PROXY), or allow more time with "
                f"{settings.ENV_DEADLINE}.",
                transient=True,
            ) from None

    def _exchange(
        self, namespace_id: str, namespace_name: str | None, deadline: float
    ) -> IssuedToken:
        api_url = self.endpoint.api_url
        problem = api_url_problem(api_url)  # callers checked; httpx must never see
        if problem:  # a URL it reads otherwise (or cannot read at all)
            raise UsageError(problem)
        url = contract.exchange_url(api_url, namespace_id)
        started = self.monotonic()
        give_up_at = started + deadline
        attempt = 0
        told = False
        with self.session(deadline + _DEADLINE_GRACE) as client:
            while True:
                attempt += 1
                remaining = give_up_at - self.monotonic()
                retry_after = None
                try:
                    status, headers, body = self._post(client, url, remaining)
                except http_gate.TransportError as exc:
                    failure: RgpuExecError = self.transport_failure(exc)
                    kind = exc.kind  # connect (no connection at all), silent, or dropped
                    happened = f"dropped the connection ({exc.name})"
                else:
                    if status == api_errors.HTTP_OK:
                        return self._parse_answer(headers, body)
                    too_many = status == api_errors.HTTP_TOO_MANY
                    retry_after = retry_after_seconds(headers) if too_many else None
                    failure = api_errors.status_failure(
                        status,
                        api_errors.ErrorAnswer.read(body, self.api_key),
                        api_url=api_url,
                        api_key=self.api_key,
                        # An unknown namespace (404) is shown with its whole ID: the ID is
                        # what is wrong, and a typo at its end must show.
                        namespace=namespace_label(
                            namespace_name, namespace_id, whole=status == api_errors.HTTP_NOT_FOUND
                        ),
                        url_source=self.endpoint.url_source,
                        retry_after=retry_after,
                    )
                    kind, happened = "status", f"answered HTTP {status}"
                if not (isinstance(failure, ApiError) and failure.transient):
                    raise failure
                now = self.monotonic()
                delay = self._backoff(attempt, retry_after, connect=kind == "connect")
                if now + delay >= give_up_at:
                    why = f"within {deadline:.0f} s"  # a 429's wait: in its own words
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
                if self.endpoint.interactive and not told and now + delay - started >= NOTICE_AFTER:
                    told = True
                    self.endpoint.notify(
                        f"rgpu-exec: the RemoteGPU API at {api_url} {happened}; retrying "
                        f"for up to {give_up_at - now:.0f} s more… (Ctrl-C to give up)"
                    )
                log.debug("attempt %d failed (%s); retrying in %.2f s", attempt, failure, delay)
                self.sleep(delay)

    def session(self, seconds: float) -> http_gate.Session:
        """The gate's session for this API (its TLS trust, its proxies), for `seconds`."""
        endpoint = self.endpoint
        # Plain http (loopback only, `url_rules`) needs no TLS trust: certifi's bundle is not
        # loaded for it. CA files set in the environment still are, so that a broken one stops
        # the command on either scheme.
        trust = http_gate.is_https(endpoint.api_url) or any(settings.ca_files(endpoint.environ))
        verify = ssl_context(endpoint.environ) if trust else None
        return http_gate.api_session(endpoint.api_url, verify, seconds)

    def _post(
        self, client: http_gate.Session, url: str, remaining: float
    ) -> tuple[int, Mapping[str, str], bytes]:
        api_url = self.endpoint.api_url
        log.debug("POST %s (key %s)", url, key_prefix(self.api_key))
        try:
            answer = client.send(
                "POST",
                url,
                {contract.API_KEY_HEADER: self.api_key, "accept": "application/json"},
                timeout=min(READ_TIMEOUT, max(remaining, 0.1)),
                connect_timeout=min(CONNECT_TIMEOUT, max(remaining, 0.1)),
            )
        except http_gate.EncodingError as exc:
            raise ApiError(
                f"the RemoteGPU API at {api_url} answered with {exc.args[0]} "
                f"(HTTP {exc.status}, Content-Encoding "
                f"{excerpt(exc.args[1].encode(), self.api_key, limit=40)!r}). Check that "
                f"{self.endpoint.url_source} points at the RemoteGPU API, not at something that "
                "rewrites its answers.",
                transient=False,
                status=exc.status,
            ) from None
        except http_gate.TooBigError as exc:
            log.debug("answer: HTTP %d, over %d bytes", exc.status, MAX_BODY_BYTES)
            raise ApiError(
                f"the RemoteGPU API at {api_url} answered with a body over "
                f"{MAX_BODY_BYTES // 1024} KiB (HTTP {exc.status}), which no credential "
                f"needs; refusing to read it. Check that {self.endpoint.url_source} points at the "
                "RemoteGPU API.",
                transient=False,
                status=exc.status,
            ) from None
        log.debug("answer: HTTP %d, %d bytes", answer.status, len(answer.body))
        return answer.status, answer.headers, answer.body

    def transport_failure(self, exc: http_gate.TransportError) -> ApiError:
        api_url = self.endpoint.api_url
        untrusted = certificate_error(exc)
        if untrusted is not None:
            return ApiError(
                f"the TLS certificate of {api_url} is not trusted ({untrusted.verify_message}).",
                transient=False,
                remedy=f"Behind a TLS-inspecting proxy, point {settings.ENV_SSL_CERT_FILE} at its "
                f"CA bundle; for a private API CA, set {settings.ENV_CA_BUNDLE}.",
            )
        local = url_rules.is_loopback_host(url_rules.url_host(api_url))
        if not_tls(exc):
            return not_tls_error(api_url, self.endpoint.url_source, local=local)
        kind = "timed out" if exc.timed_out else "failed"
        remedy = (
            f"Check that the local server is running, and that {self.endpoint.url_source} names "
            "its port."
            if local and exc.refused
            else f"Check your network and proxy settings (HTTPS_PROXY, NO_PROXY), and "
            f"{self.endpoint.url_source}."
        )
        return ApiError(
            f"cannot reach the RemoteGPU API at {api_url}: the connection {kind} "
            f"({exc.name}: {exc.detail or 'no detail'}).",
            transient=True,
            remedy=remedy,
        )

    def _parse_answer(self, headers: Mapping[str, str], body: bytes) -> IssuedToken:
        api_url = self.endpoint.api_url
        try:
            answer = api_contract.ExecCredentialAnswer.model_validate_json(body)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                for e in exc.errors(include_input=False)[:3]
            )
            raise ApiError(
                f"the RemoteGPU API at {api_url} answered with something that is not a "
                f"valid ExecCredential ({problems}). Nothing was cached; try again later, and "
                f"check that {self.endpoint.url_source} points at the RemoteGPU API.",
                transient=False,
                status=200,  # answered, in a way no credential is
            ) from None
        token = answer.status.token
        if not token_is_safe(token):
            raise ApiError(
                f"the RemoteGPU API at {api_url} issued a token with characters that "
                "cannot go in an HTTP header. Nothing was cached; report this to RemoteGPU.",
                transient=False,
                status=200,  # answered, in a way no credential is
            )
        expiry = answer.status.expiration_timestamp
        server_now = server_date(headers.get("date")) or datetime.now(timezone.utc)
        lifetime = (expiry - server_now).total_seconds()
        if lifetime <= 0:
            raise ApiError(
                f"the RemoteGPU API at {api_url} issued a credential that had already "
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
        return IssuedToken(token=token, lifetime=lifetime)

    def _backoff(self, attempt: int, retry_after: float | None, *, connect: bool = False) -> float:
        base = _CONNECT_BACKOFF_BASE if connect else _BACKOFF_BASE
        ceiling = min(_BACKOFF_CAP, base * 2.0 ** (attempt - 1))
        backoff = ceiling * (0.5 + self.rng.random() / 2)
        # Retry-After is the earliest time to retry, and never sooner than our own backoff: a
        # "Retry-After: 0" must not turn the retries into a tight loop for the whole deadline.
        return backoff if retry_after is None else max(retry_after, backoff)
