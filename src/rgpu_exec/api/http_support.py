"""What the exchange and `doctor`'s keyless probe share about the RemoteGPU API: its TLS trust,
the cause of a certificate failure, and the server's `Date` and `Retry-After`. The rules of every
request (the byte cap, identity encoding, the deadline, no redirects) are the HTTP gate's
(`rgpu_exec.http_gate`), and the wall-clock limit is `bounded.finish_within`.
"""

from __future__ import annotations

import ssl
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from rgpu_exec.errors import ApiError, ExitCode, UsageError
from rgpu_exec.hotpath import settings, url_rules
from rgpu_exec.hotpath.request import setting_the_api_url
from rgpu_exec.tls import tls_context

__all__ = [
    "certificate_error",
    "not_tls",
    "not_tls_error",
    "retry_after_seconds",
    "server_date",
    "ssl_context",
]

if TYPE_CHECKING:
    from collections.abc import Mapping


def ssl_context(environ: Mapping[str, str]) -> ssl.SSLContext:
    """SSL_CERT_FILE / SSL_CERT_DIR when set, else certifi's CA bundle (not the system store);
    plus REMOTEGPU_CA_BUNDLE, trusted for this API only. SSLKEYLOGFILE is never honoured
    (`tls.tls_context`)."""
    cafile, capath, extra = settings.ca_files(environ)
    if cafile is None and capath is None:
        import certifi  # noqa: PLC0415

        cafile = certifi.where()
    try:
        return tls_context(cafile=cafile, capath=capath, also=[extra] if extra else [])
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(
            f"cannot load the CA certificates ({exc}). Check {settings.ENV_CA_BUNDLE}, "
            f"{settings.ENV_SSL_CERT_FILE} and {settings.ENV_SSL_CERT_DIR}."
        ) from exc


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


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait that `Retry-After` asks for (seconds, or an HTTP date against the
    server's own `Date`), never negative; None when absent or unreadable. `headers`: names
    lower-cased (`http_gate.Answer.headers`)."""
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


def not_tls_error(api_url: str, url_source: str, *, local: bool) -> ApiError:
    """An https URL whose server answered the handshake with something else (`not_tls`): what
    to do, and for a loopback host (the emulator) the command that sets the http:// URL, as the
    user gave the URL (`--api-url`, or REMOTEGPU_API_URL, which a command's rerun exports:
    `rerun_with`). Plain http only to a loopback host, as the URL rules allow
    (`url_rules.url_problem`): a key never travels in clear to another host."""
    hint = (
        "use http:// for a local server such as the emulator"
        if local
        else "use the API's https port, and check any proxy in between (HTTPS_PROXY)"
    )
    scheme, _, rest = api_url.partition("://")
    plain = f"http://{rest}"
    sets = url_source in {"--api-url", settings.ENV_API_URL}
    if not local or scheme.lower() != "https" or url_rules.url_problem(plain) or not sets:
        plain = ""
    words = setting_the_api_url(plain, flag=url_source == "--api-url") if plain else ""
    failure = ApiError(
        f"{api_url} does not speak TLS: the server answered the TLS handshake with something "
        "else, as a plain-http server does.",
        transient=False,
        remedy=f"Check {url_source}: {hint}. {words}".rstrip(),
    )
    # The URL is wrong, not the network: exit 2, as for another URL that is not the API's
    # (a 404 without namespace_not_found), and as the README's exit codes say.
    failure.exit_code = ExitCode.USAGE
    if plain and url_source == settings.ENV_API_URL:
        failure.rerun_with = (settings.ENV_API_URL, plain)
    return failure
