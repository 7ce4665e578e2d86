"""Exchange an API key for a namespace token: one POST, retried with care, answer validated.

Retries connect errors, timeouts, 429 (honouring Retry-After) and 5xx with exponential backoff
and jitter, all within one total deadline; never retries any other 4xx. Maps every outcome to
the error (and exit code) in `errors`.

The deadline holds whatever the network does. Every read has a timeout, but an answer that
trickles in a byte at a time never trips one; so the exchange runs in a worker thread, and the
caller stops waiting for it at the deadline (plus a short grace, so that the worker's own timeout
reports first when it can).
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import httpx
from pydantic import ValidationError

from rgpu_exec import __version__
from rgpu_exec.credentials.redact import excerpt, key_prefix
from rgpu_exec.errors import ApiError, ApiKeyError, NamespaceAccessError, RgpuExecError, UsageError
from rgpu_exec.hotpath import settings
from rgpu_exec.hotpath.exec_credential import token_is_safe
from rgpu_exec.token import api_contract

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# The longest a token is cached for, whatever expiry the API states (its default is 15 minutes).
MAX_CACHED_LIFETIME = 12 * 3600.0
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
_BACKOFF_BASE = 0.5
_BACKOFF_CAP = 4.0
_HTTP_TOO_MANY = 429
_HTTP_SERVER_ERROR = 500
_DEADLINE_GRACE = 1.0


@dataclass(frozen=True)
class IssuedToken:
    token: str
    lifetime: float  # seconds, as the server states it (expiry minus the server's Date)
    expires_at_server: datetime


@dataclass
class Exchanger:
    """One API base URL and key; side effects injectable for tests."""

    api_url: str
    api_key: str
    environ: Mapping[str, str]
    deadline: float = settings.DEFAULT_DEADLINE
    transport: httpx.BaseTransport | None = None
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def exchange(self, namespace_id: str) -> IssuedToken:
        """The token, or the error; within the deadline (plus `_DEADLINE_GRACE`) in any case."""
        outcome: list[IssuedToken | BaseException] = []

        def work() -> None:
            try:
                outcome.append(self._exchange(namespace_id))
            except BaseException as exc:  # handed over to the caller's thread
                outcome.append(exc)

        worker = threading.Thread(target=work, name="rgpu-exec-exchange", daemon=True)
        worker.start()
        worker.join(self.deadline + _DEADLINE_GRACE)
        if not outcome:  # the daemon thread is abandoned; the process exits soon after
            raise ApiError(
                f"cannot reach the RemoteGPU API at {self.api_url}: no complete answer within "
                f"{self.deadline:.0f} s (it is arriving too slowly). Check your network and proxy "
                f"settings (HTTPS_PROXY, NO_PROXY), or allow more time with "
                f"{settings.ENV_DEADLINE}.",
                transient=True,
            )
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def _exchange(self, namespace_id: str) -> IssuedToken:
        url = api_contract.exchange_url(self.api_url, namespace_id)
        give_up_at = self.monotonic() + self.deadline
        attempt = 0
        with self.client() as client:
            while True:
                attempt += 1
                remaining = give_up_at - self.monotonic()
                try:
                    status, headers, body = self._post(client, url, remaining)
                except httpx.TransportError as exc:
                    failure: RgpuExecError = self.transport_failure(exc)
                    retry_after = None
                else:
                    if status == httpx.codes.OK:
                        return self._parse_answer(headers, body)
                    failure = self._status_failure(status, body, namespace_id)
                    retry_after = _retry_after(headers) if status == _HTTP_TOO_MANY else None
                if not (isinstance(failure, ApiError) and failure.transient):
                    raise failure
                delay = self._backoff(attempt, retry_after)
                if self.monotonic() + delay >= give_up_at:
                    raise ApiError(
                        f"{failure.message} (gave up after {attempt} attempt(s) within "
                        f"{self.deadline:.0f} s{_server_wait(retry_after)})",
                        transient=True,
                        status=failure.status,
                    ) from failure
                log.debug("attempt %d failed (%s); retrying in %.2f s", attempt, failure, delay)
                self.sleep(delay)

    def client(self) -> httpx.Client:
        return httpx.Client(
            transport=self.transport,
            verify=ssl_context(self.environ),
            trust_env=True,  # HTTPS_PROXY, NO_PROXY
            follow_redirects=False,  # a redirect must never carry the key elsewhere
            headers={"user-agent": f"rgpu-exec/{__version__}"},
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
            headers={api_contract.API_KEY_HEADER: self.api_key, "accept": "application/json"},
            timeout=timeout,
        )
        response = client.send(request, stream=True)
        try:
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    break
        finally:
            response.close()
        log.debug("answer: HTTP %d, %d bytes", response.status_code, len(body))
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(
                f"the RemoteGPU API at {self.api_url} answered with a body over "
                f"{MAX_BODY_BYTES // 1024} KiB (HTTP {response.status_code}), which no credential "
                f"needs; refusing to read it. Check that {settings.ENV_API_URL} points at the "
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
                f"({untrusted.verify_message}). Behind a TLS-inspecting proxy, point "
                f"{settings.ENV_SSL_CERT_FILE} at its CA bundle; for a private API CA, set "
                f"{settings.ENV_CA_BUNDLE}.",
                transient=False,
            )
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        return ApiError(
            f"cannot reach the RemoteGPU API at {self.api_url}: the connection {kind} "
            f"({type(exc).__name__}: {exc or 'no detail'}). Check your network and proxy "
            f"settings (HTTPS_PROXY, NO_PROXY) or {settings.ENV_API_URL}.",
            transient=True,
        )

    def _status_failure(self, status: int, body: bytes, namespace_id: str) -> RgpuExecError:
        detail = _error_detail(body, self.api_key)
        prefix = key_prefix(self.api_key)
        if status == httpx.codes.UNAUTHORIZED:
            return ApiKeyError(
                f"the RemoteGPU API rejected the API key {prefix} ({detail}). Create a key with "
                f"Kubernetes access in {api_contract.KEYS_CONSOLE_PAGE}, then run "
                f"`rgpu-exec login` or set {settings.ENV_API_KEY}."
            )
        if status == httpx.codes.FORBIDDEN:
            return NamespaceAccessError(
                f"the API key {prefix} may not get credentials for namespace {namespace_id} "
                f"({detail}). Add the namespace to the key's kubernetes_exec scope in "
                f"{api_contract.KEYS_CONSOLE_PAGE}, or use a key whose scope covers it.",
                status=status,
                reason=detail,
            )
        if status == httpx.codes.NOT_FOUND:
            return NamespaceAccessError(
                f"namespace {namespace_id} does not exist in the account of the API key "
                f"{prefix} ({detail}). Check the namespace ID in your kubeconfig against the "
                f"console, and that the key belongs to the account that owns the namespace.",
                status=status,
                reason=detail,
            )
        transient = status == _HTTP_TOO_MANY or status >= _HTTP_SERVER_ERROR
        if status == _HTTP_TOO_MANY:
            what, advice = "is rate limiting", "Wait a minute before trying again."
        elif status >= _HTTP_SERVER_ERROR:
            what, advice = "has a problem", "Try again in a few minutes."
        else:
            what = "answered an unexpected error"
            advice = f"Check that {settings.ENV_API_URL} points at the RemoteGPU API."
        return ApiError(
            f"the RemoteGPU API at {self.api_url} {what}: HTTP {status} ({detail}). {advice}",
            transient=transient,
            status=status,
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
                f"check {settings.ENV_API_URL} points at the RemoteGPU API.",
                transient=False,
            ) from None
        token = answer.status.token
        if not token_is_safe(token):
            raise ApiError(
                f"the RemoteGPU API at {self.api_url} issued a token with characters that "
                "cannot go in an HTTP header. Nothing was cached; report this to RemoteGPU.",
                transient=False,
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
            )
        if lifetime > MAX_CACHED_LIFETIME:
            # Tokens live minutes; a stated lifetime of days means a wrong clock or expiry
            # somewhere. Cache it (and tell kubectl it expires) after a bounded time at most.
            implausible = "stated lifetime %.0f s is implausible: caching it for %.0f s"
            log.debug(implausible, lifetime, MAX_CACHED_LIFETIME)
            lifetime = MAX_CACHED_LIFETIME
        return IssuedToken(token=token, lifetime=lifetime, expires_at_server=expiry)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        ceiling = min(_BACKOFF_CAP, _BACKOFF_BASE * 2.0 ** (attempt - 1))
        backoff = ceiling * (0.5 + self.rng.random() / 2)
        # Retry-After is the earliest time to retry, and never sooner than our own backoff: a
        # "Retry-After: 0" must not turn the retries into a tight loop for the whole deadline.
        return backoff if retry_after is None else max(retry_after, backoff)


def ssl_context(environ: Mapping[str, str]) -> ssl.SSLContext:
    """SSL_CERT_FILE / SSL_CERT_DIR when set, else certifi's CA bundle (not the system store);
    plus REMOTEGPU_CA_BUNDLE, trusted for this API only."""
    cafile, capath, extra = settings.ca_files(environ)
    if cafile is None and capath is None:
        import certifi  # noqa: PLC0415

        cafile = certifi.where()
    try:
        context = ssl.create_default_context(cafile=cafile, capath=capath)
        if extra:
            context.load_verify_locations(cafile=extra)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(
            f"cannot load the CA certificates ({exc}). Check {settings.ENV_CA_BUNDLE}, "
            f"{settings.ENV_SSL_CERT_FILE} and {settings.ENV_SSL_CERT_DIR}."
        ) from exc
    return context


def certificate_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The refused server certificate behind this failure (its cause chain), if that is it."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


def _error_detail(body: bytes, api_key: str) -> str:
    """The platform's reason: `code: message` from the error body, else a sanitised excerpt."""
    try:
        error = api_contract.ErrorBody.model_validate_json(body).error
    except ValidationError:
        return excerpt(body, api_key) or "no details in the answer"
    return excerpt(f"{error.code}: {error.message}".encode(), api_key)


def server_date(value: str | None) -> datetime | None:
    """The server's clock from a `Date` header value, or None; a date without a zone is UTC."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():  # not "²", which isdigit() and float() refuses
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    server_now = server_date(headers.get("date")) or datetime.now(timezone.utc)
    return max(float((when - server_now).total_seconds()), 0.0)


def _server_wait(retry_after: float | None) -> str:
    return f"; the API asked to wait {retry_after:.0f} s" if retry_after else ""
