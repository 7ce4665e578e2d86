"""Where `token` keeps what it caches: the cache directory (or none, with the one warning why),
and the key-fingerprint secret that names the entries of a key from the environment or a
prompt. `token`'s own (`usecases.token` alone imports it), apart so that `token` stays one flow.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec.cache import identity_key
from rgpu_exec.cache.directory import cache_directory, cache_directory_fix
from rgpu_exec.credentials import file_store
from rgpu_exec.hotpath import private_files

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

log = logging.getLogger("rgpu_exec.usecases.token")


def fingerprint_secret(environ: Mapping[str, str]) -> bytes | None:
    """The user's key-fingerprint secret (in the config directory, beside the key file),
    made when there is none; None when it cannot be (the key's entry is then one of its
    own, never another key's)."""
    try:
        return identity_key.ensure_secret(str(Path(file_store.path(environ)).parent))
    except OSError as exc:
        log.debug("no key-fingerprint secret (%s)", type(exc).__name__)
        return None


def usable_cache_directory(environ: Mapping[str, str], warn: Callable[[str], None]) -> str | None:
    """The cache directory, or None (with one warning) when it must not be used."""
    directory = cache_directory(environ)
    problem = private_files.directory_problem(directory)
    if not problem:
        return directory
    warn(
        f"rgpu-exec: warning: not using the token cache: {directory} {problem}. Every "
        f"kubectl command will exchange a new token until you fix it "
        f"({cache_directory_fix(directory)})."
    )
    return None
