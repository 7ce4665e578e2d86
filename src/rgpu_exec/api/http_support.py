"""HTTP plumbing that the exchange and `doctor`'s keyless probe share: the TLS trust, a wall-clock
limit on the whole of a request, reading a body with a size cap (also after decompression), the
cause of a certificate failure, and the server's `Date`.
"""

from __future__ import annotations

import ssl
import zlib
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from rgpu_exec.bounded import TooSlowError, finish_within
from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import settings
from rgpu_exec.tls import tls_context

__all__ = [
    "EncodingError",
    "TooSlowError",
    "certificate_error",
    "finish_within",
    "not_tls",
    "read_capped",
    "retry_after_seconds",
    "server_date",
    "ssl_context",
]

if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx


class EncodingError(Exception):
    """An answer in a Content-Encoding that cannot be read: (what is wrong, the encoding)."""


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


def ssl_context(environ: Mapping[str, str]) -> ssl.SSLContext:
    """SSL_CERT_FILE / SSL_CERT_DIR when set, else certifi's CA bundle (not the system store);
    plus REMOTEGPU_CA_BUNDLE, trusted for this API only. SSLKEYLOGFILE is never honoured
    (`tls.tls_context`)."""
    cafile, capath, extra = settings.ca_files(environ)
    if cafile is None and capath is None:
        import certifi  # noqa: PLC0415

        cafile = certifi.where()
    try:
        context = tls_context(cafile=cafile, capath=capath)
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
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
    return None


# OpenSSL's reasons when the bytes that answer a TLS handshake are not TLS (a plain-http server).
_NOT_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG"}
)


def not_tls(exc: BaseException) -> bool:
    """Whether this failure (its cause chain) is a server that answered TLS with something else."""
    return any(
        isinstance(cause, ssl.SSLError) and getattr(cause, "reason", None) in _NOT_TLS_REASONS
        for cause in _causes(exc)
    )


def _causes(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and all(cause is not seen for seen in found):  # re-raised ones loop
        found.append(cause)
        cause = cause.__cause__ or cause.__context__
    return found


def server_date(value: str | None) -> datetime | None:
    """The server's clock from a `Date` header value, or None; a date without a zone is UTC."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Seconds to wait that `Retry-After` asks for (seconds, or an HTTP date against the
    server's own `Date`), never negative; None when absent or unreadable."""
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
