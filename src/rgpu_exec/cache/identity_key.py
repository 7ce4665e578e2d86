"""The user's key-fingerprint secret, made when there is none (the full path only: the cache-hit
path only reads it, `token_cache.read_secret`).

32 random bytes in `identity.key` (`token_cache.IDENTITY_KEY_FILE`) in the user's config
directory, beside the key file of `login --insecure-storage` and not in the cache: a copied
cache is no use without it. With it, a key's fingerprint is an HMAC-SHA256 of the key
(`token_cache.key_identity`), so nothing stored or shown lets a guess at the key be tested.
"""

from __future__ import annotations

import os
from pathlib import Path

from rgpu_exec.hotpath import private_files, token_cache


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
    path = str(Path(directory, token_cache.IDENTITY_KEY_FILE))
    secret = os.urandom(token_cache.IDENTITY_KEY_BYTES).hex()
    text = f"{token_cache.IDENTITY_KEY_MAGIC}\n{secret}\n"
    # Another process may have been first: its secret stays, unless it is not one of ours.
    first = private_files.write_atomically(path, text, replace=False)
    if not first and token_cache.read_secret(directory) is None:
        private_files.write_atomically(path, text)
    found = token_cache.read_secret(directory)
    if found is None:
        raise PermissionError(f"{path} cannot be read back as a private file of this user")
    return found
