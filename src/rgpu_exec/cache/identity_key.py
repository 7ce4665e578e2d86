"""The user's key-fingerprint secret, made when there is none (the full path only: the cache-hit
path only reads it, `token_cache.read_secret`).

32 random bytes in `identity.key` (`token_cache.IDENTITY_KEY_FILE`) in the user's config
directory, beside the key file of `login --insecure-storage` and not in the cache: a copied
cache is no use without it. With it, a key's fingerprint is an HMAC-SHA256 of the key
(`token_cache.key_identity`), so nothing stored or shown lets a guess at the key be tested.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from rgpu_exec.hotpath import private_files, token_cache

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def ensure_secret(directory: str) -> bytes:
    """The fingerprint secret kept in `directory`, created when there is none: 32 random bytes
    written to a 0600 temp file and linked into place, so that of processes racing to create it
    the first one's wins and every one reads that. One that is not ours, not private or
    malformed is replaced (the entries named with it become misses, once). OSError when it
    cannot be made."""
    found = token_cache.read_secret(directory)
    if found is not None:
        return found
    private_files.ensure_directory(directory)
    path = Path(directory, token_cache.IDENTITY_KEY_FILE)
    tmp = Path(f"{path}.{os.getpid()}.{time.monotonic_ns()}{private_files.TEMP_SUFFIX}")
    secret = os.urandom(token_cache.IDENTITY_KEY_BYTES).hex()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW, 0o600)
    try:
        os.write(fd, f"{token_cache.IDENTITY_KEY_MAGIC}\n{secret}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        try:
            path.hardlink_to(tmp)  # never replaces: a secret another process made first stays
        except FileExistsError:
            if token_cache.read_secret(directory) is None:
                tmp.replace(path)  # not a secret of ours: replaced
        except OSError:  # a file system without hard links
            tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    found = token_cache.read_secret(directory)
    if found is None:
        raise PermissionError(f"{path} cannot be read back as a private file of this user")
    return found
