"""How rgpu-exec makes a TLS context, wherever it sends a secret (the API key to the API, a
token to a cluster): verified as asked, and never logging session keys. `ssl.create_default_
context` honours SSLKEYLOGFILE and writes the session keys there; with them, anyone reading the
file could decrypt the key or token from a capture. So it is never read here."""

from __future__ import annotations

import ssl


def tls_context(
    cafile: str | None = None, capath: str | None = None, cadata: str | None = None
) -> ssl.SSLContext:
    """A verifying client context (certificates and host names checked) trusting these CAs, the
    system's when none is given: what `ssl.create_default_context` makes, less its reading of
    SSLKEYLOGFILE (which would create the file even if key logging were turned off after)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
    if cafile or capath or cadata:
        context.load_verify_locations(cafile, capath, cadata)
    else:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    return context
