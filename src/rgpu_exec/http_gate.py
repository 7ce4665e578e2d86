"""The HTTP gate: every request rgpu-exec makes goes through a `Session` made here, and httpx is
imported nowhere else in the package (a test scans the source for any other use).

Who asks: the credential exchange with the RemoteGPU API (`api.exchange`, also for `check`,
`login`, `whoami`, doctor's access check and the verification of `kubeconfig generate` /
`import`), doctor's keyless probe of the API (`usecases/doctor/network`), and the question to a
Kubernetes cluster (`kube.cluster`: a second ask, and the verification of generate / import).

The same rules for every request:
- **Identity encoding.** `Accept-Encoding: identity`. An answer compressed anyway (gzip, deflate)
  is inflated piece by piece; any other encoding is refused (`EncodingError`).
- **A byte cap.** At most `MAX_BODY_BYTES`, as sent and as inflated, enforced while reading:
  past it the answer is dropped unread (`TooBigError`). Nothing bigger is ever held or parsed.
- **A total deadline that holds.** A session has one deadline; each request runs in a worker
  thread that the caller stops waiting for when it passes (`TooSlowError`), and its timeouts are
  cut to what is left. An answer that trickles in a byte at a time never trips a read timeout,
  and cannot hold the caller past the deadline.
- **No redirects.** A 3xx is an answer like any other, never followed: for the caller to refuse.
- **TLS as `tls.py` says.** The caller passes a context made by `tls.tls_context` (never one
  that honours SSLKEYLOGFILE); verification is off only where a kubeconfig says so
  (`insecure-skip-tls-verify`, `verify=None`).
- **Proxies.** The RemoteGPU API as before: HTTPS honours HTTPS_PROXY / NO_PROXY (as httpx reads
  the environment), and plain http (loopback only) never goes through a proxy: the key would
  cross to it in clear (`api_session`). A cluster as kubectl reaches it: the proxy chosen by
  `kube.proxy.cluster_proxy` (the cluster's `proxy-url`, else HTTPS_PROXY / NO_PROXY as Go reads
  them), and nothing else from the environment (`cluster_session`).
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rgpu_exec import __version__
from rgpu_exec.bounded import TooSlowError, finish_within

if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping
    from types import TracebackType

    import httpx

__all__ = [
    "MAX_BODY_BYTES",
    "Answer",
    "EncodingError",
    "Session",
    "TooBigError",
    "TooSlowError",
    "TransportError",
    "api_session",
    "cluster_session",
    "read_capped",
]

MAX_BODY_BYTES = 1024 * 1024
USER_AGENT = f"rgpu-exec/{__version__}"
# What every request says about the answer it takes (the rules above).
GATE_HEADERS = {"user-agent": USER_AGENT, "accept-encoding": "identity"}
_SHORTEST_TIMEOUT = 0.1


class EncodingError(Exception):
    """An answer in a Content-Encoding that cannot be read: (what is wrong, the encoding);
    `status`, the answer's HTTP status (0 when not known)."""

    def __init__(self, what: str, encoding: str, status: int = 0) -> None:
        super().__init__(what, encoding)
        self.status = status


class TooBigError(Exception):
    """An answer over the cap, dropped unread: `status`, its HTTP status; `cap`, in bytes."""

    def __init__(self, status: int, cap: int) -> None:
        super().__init__(f"an answer over {cap} bytes (HTTP {status})")
        self.status = status
        self.cap = cap


class TransportError(Exception):
    """No whole answer came. `kind`: "connect" (no connection at all: refused, no such host,
    unreachable, a TLS handshake that failed, a proxy that refused), "silent" (connected, then
    nothing in time) or "dropped" (the connection broke on the way). `timed_out`, `refused` (a
    plain connection error, neither a timeout nor a proxy's), and the transport's own error as
    the cause (`__cause__`), with its `name` and `detail` (its message)."""

    def __init__(
        self, kind: str, name: str, detail: str, *, timed_out: bool, refused: bool
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.name = name
        self.detail = detail
        self.timed_out = timed_out
        self.refused = refused


@dataclass(frozen=True)
class Answer:
    """A whole answer within the cap: its status, headers (names lower-cased; repeated ones
    joined by commas) and body (inflated, at most the cap)."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Session:
    """One connection pool with the gate's rules (see the module's text), for `deadline`
    seconds from its making. Use `api_session` or `cluster_session` to make one."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | None,
        proxy: str | None,
        trust_env: bool,
        deadline: float,
        server_name: str | None = None,
    ) -> None:
        import httpx  # noqa: PLC0415 - only when a request is made

        self._give_up_at = time.monotonic() + deadline
        self._extensions = {"sni_hostname": server_name} if server_name else {}
        self._client = httpx.Client(
            verify=False if verify is None else verify,
            proxy=proxy,
            trust_env=trust_env,
            follow_redirects=False,  # a redirect must never carry a secret elsewhere
            headers=GATE_HEADERS,  # uncompressed: a small compressed answer can inflate to GBs
        )

    def __enter__(self) -> Session:  # noqa: PYI034 - never subclassed
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._client.close()

    def left(self) -> float:
        """Seconds left before the session's deadline."""
        return self._give_up_at - time.monotonic()

    def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        json: object = None,
        *,
        timeout: float,
        connect_timeout: float | None = None,
        cap: int = MAX_BODY_BYTES,
    ) -> Answer:
        """The whole answer, or TransportError, TooBigError, EncodingError, or TooSlowError
        once the session's deadline passes (the request is then abandoned)."""
        left = self.left()
        if left <= 0:
            raise TooSlowError
        read = max(min(timeout, left), _SHORTEST_TIMEOUT)
        connect_wait = timeout if connect_timeout is None else connect_timeout
        connect = max(min(connect_wait, left), _SHORTEST_TIMEOUT)
        return finish_within(
            left,
            lambda: self._send(method, url, headers, json, (read, connect), cap),
            "rgpu-exec-http",
        )

    def _send(  # noqa: PLR0917
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        json: object,
        timeouts: tuple[float, float],
        cap: int,
    ) -> Answer:
        import httpx  # noqa: PLC0415

        request = self._client.build_request(
            method,
            url,
            headers=dict(headers or {}),
            json=json,
            timeout=httpx.Timeout(timeouts[0], connect=timeouts[1]),
            extensions=self._extensions,
        )
        try:
            response = self._client.send(request, stream=True)
            try:
                body = read_capped(response, cap)
            finally:
                response.close()
        except httpx.TransportError as exc:
            raise _failure(exc) from exc
        except EncodingError as exc:
            exc.status = response.status_code
            raise
        if body is None:
            raise TooBigError(response.status_code, cap)
        names = {name.lower() for name in response.headers}
        found = {name: ", ".join(response.headers.get_list(name)) for name in names}
        return Answer(response.status_code, found, body)


def is_https(url: str) -> bool:
    return url[:8].lower() == "https://"


def api_session(api_url: str, verify: ssl.SSLContext | None, deadline: float) -> Session:
    """A session for the RemoteGPU API at `api_url`: over HTTPS, HTTPS_PROXY and NO_PROXY as
    httpx reads them; plain http (loopback only) never through a proxy. `verify`: the TLS trust,
    None only for plain http (which has none to check)."""
    tls = is_https(api_url)
    if tls and verify is None:
        raise ValueError("an https API is never reached unverified")
    return Session(verify=verify, proxy=None, trust_env=tls, deadline=deadline)


def cluster_session(
    verify: ssl.SSLContext | None, proxy: str | None, deadline: float, server_name: str | None
) -> Session:
    """A session for a Kubernetes API server, as kubectl reaches it: through `proxy` (see
    `kube.proxy.cluster_proxy`) or directly, with nothing else taken from the environment;
    `verify` None only where the kubeconfig says insecure-skip-tls-verify; `server_name` its
    tls-server-name."""
    return Session(
        verify=verify, proxy=proxy, trust_env=False, deadline=deadline, server_name=server_name
    )


def _failure(exc: httpx.TransportError) -> TransportError:
    import httpx  # noqa: PLC0415

    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError)):
        kind = "connect"
    elif isinstance(exc, (httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout)):
        kind = "silent"
    else:
        kind = "dropped"
    return TransportError(
        kind,
        type(exc).__name__,
        str(exc),
        timed_out=isinstance(exc, httpx.TimeoutException),
        refused=isinstance(exc, httpx.ConnectError),
    )


def read_capped(response: httpx.Response, limit: int) -> bytes | None:
    """The body of a streamed response, decoded; None once it passes `limit` bytes, as sent or
    decoded.

    Read as it arrives, and inflated piece by piece, never more than `limit` + 1 bytes at a time:
    httpx's own decoding inflates each 64 KiB read at once, and 64 KiB of gzip can hold 64 MiB.
    Identity is asked for, but gzip and deflate are read if sent anyway; anything else is refused.
    """
    if response.is_stream_consumed:  # built whole in memory (test transports): decoded already
        return response.content if len(response.content) <= limit else None
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        inflater = None
    elif encoding in ("gzip", "x-gzip", "deflate"):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | (16 if "gzip" in encoding else 0))
    else:
        raise EncodingError("a compression it was not asked for and cannot be read", encoding)
    sent = 0
    body = bytearray()
    for chunk in response.iter_raw():
        sent += len(chunk)
        if sent > limit:
            return None
        try:
            body += inflater.decompress(chunk, limit + 1 - len(body)) if inflater else chunk
        except zlib.error:
            raise EncodingError("a body that does not decompress", encoding) from None
        if len(body) > limit:
            return None
    return bytes(body)
