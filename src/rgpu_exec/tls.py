"""How rgpu-exec makes a TLS context, wherever it sends a secret (the API key to the API, a
token to a cluster): verified as asked, and never logging session keys. `ssl.create_default_
context` honours SSLKEYLOGFILE and writes the session keys there; with them, anyone reading the
file could decrypt the key or token from a capture. So it is never read here.

A context is made once per process for the same trust: loading a CA bundle costs about 25 ms,
and `check`, `doctor` and a verified `kubeconfig generate` ask more than once. The same trust
means the same files, unchanged since (path, inode, size and modification time), the same PEM
text, and for the system's store the same files as OpenSSL finds them now (SSL_CERT_FILE and
SSL_CERT_DIR are read at each call). A context is shared: nobody changes one after it is made.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

_made: dict[tuple[object, ...], ssl.SSLContext] = {}


def tls_context(
    cafile: str | None = None,
    capath: str | None = None,
    cadata: str | None = None,
    *,
    also: Sequence[str] = (),
) -> ssl.SSLContext:
    """A verifying client context (certificates and host names checked) trusting these CAs, the
    system's when none is given, and the CA files in `also` besides: what
    `ssl.create_default_context` makes, less its reading of SSLKEYLOGFILE (which would create
    the file even if key logging were turned off after). Never change the context returned: it
    is the one for this trust in the whole process."""
    default = not (cafile or capath or cadata)
    if default:
        where = ssl.get_default_verify_paths()
        files: list[str | None] = [where.cafile, where.capath, *also]
    else:
        files = [cafile, capath, *also]
    key = (default, cadata, *((name, _version(name)) for name in files))
    context = _made.get(key)
    if context is None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
        if default:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        else:
            context.load_verify_locations(cafile, capath, cadata)
        for name in also:
            context.load_verify_locations(cafile=name)
        _made[key] = context
    return context


def _version(path: str | None) -> tuple[int, int, int] | None:
    """What tells one version of a file (or a directory) from another, as far as its status
    can; None when there is none."""
    if not path:
        return None
    try:
        status = Path(path).stat()
    except OSError:
        return None
    return (status.st_ino, status.st_size, status.st_mtime_ns)
