"""The use cases of `rgpu-exec login` and `logout`: keep a profile's API key in the OS keyring.

Both purge the profile's cached tokens, so a new key never serves a token issued to the old one
(the cache knows a keyring key only by its profile name, never by the key itself).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rgpu_exec.credentials import keyring_store
from rgpu_exec.credentials.api_key import check_key_format, looks_like_key
from rgpu_exec.credentials.redact import key_prefix
from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import settings, token_cache
from rgpu_exec.token.cache_dir import cache_directory

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


def read_key(
    profile: str,
    *,
    stdin_is_tty: bool,
    read_stdin: Callable[[], str],
    prompt: Callable[[str], str],
) -> str:
    if stdin_is_tty:
        value = prompt(f"RemoteGPU API key for profile {profile!r} (not echoed): ").strip()
        where = "The key you typed"
    else:
        value = read_stdin().strip()
        where = "The key read from stdin"
    if not value:
        raise UsageError(
            f"no API key given. Paste the key when asked, or pipe it in: "
            f"`<command printing the key> | rgpu-exec login --profile {profile}`."
        )
    check_key_format(value, where)
    return value


def login(
    profile: str,
    key: str,
    environ: Mapping[str, str],
    *,
    out: Callable[[str], None],
    warn: Callable[[str], None],
) -> None:
    prefix = key_prefix(key)
    if not looks_like_key(key):
        warn(
            f"rgpu-exec: warning: {prefix} does not look like a RemoteGPU API key (rgpu_, 8 hex "
            "characters, _, 32 characters); storing it anyway. Check you copied the whole key."
        )
    backend = keyring_store.set_key(profile, key)
    removed = purge_profile(profile, environ)
    out(
        f"rgpu-exec: stored the API key {prefix} for profile {profile!r} in the OS keyring "
        f"({backend}, service {keyring_store.SERVICE!r}){_removed(removed)}."
    )
    if settings.api_key(environ) is not None:
        warn(
            f"rgpu-exec: note: {settings.ENV_API_KEY} is set in this shell and takes precedence "
            "over the keyring: unset it to use the stored key."
        )


def logout(profile: str, environ: Mapping[str, str], *, out: Callable[[str], None]) -> None:
    # Tokens first: even when the keyring cannot be reached, logging out stops their use.
    removed = purge_profile(profile, environ)
    try:
        deleted = keyring_store.delete_key(profile)
    except keyring_store.KeyringUnavailableError as exc:
        if removed:
            exc.message += f" (The profile's {removed} cached token(s) were removed.)"
        raise
    what = "deleted the API key" if deleted else "no API key was stored"
    out(
        f"rgpu-exec: {what} for profile {profile!r} in the OS keyring "
        f"({keyring_store.backend_name()}){_removed(removed)}."
    )


def purge_profile(profile: str, environ: Mapping[str, str]) -> int:
    """Remove every cached token of this profile (any API URL, any namespace); how many."""
    directory = cache_directory(environ)
    if token_cache.directory_problem(directory):  # not used as a cache, and maybe not ours
        return 0
    identity = token_cache.profile_identity(profile)
    stems = [
        stem
        for stem, entry in token_cache.iter_entries(directory)
        if entry is not None and entry.key.identity == identity
    ]
    return token_cache.purge(directory, stems)


def _removed(count: int) -> str:
    if not count:
        return ""
    return f"; removed {count} cached token{'s' if count != 1 else ''}"
