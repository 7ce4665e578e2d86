"""`rgpu-exec login` / `rgpu-exec logout`: keep a profile's API key in the OS keyring.

Both purge the profile's cached tokens, so a new key never serves a token issued to the old one
(the cache knows a keyring key only by its profile name, never by the key itself).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from rgpu_exec import command_support, settings
from rgpu_exec.redact import KEY_PREFIX_LENGTH, looks_like_remotegpu_key

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_EXIT_CODES = """\
  0  done
  2  bad input, or no usable OS keyring (set REMOTEGPU_API_KEY instead)
"""
# What a RemoteGPU key looks like: `rgpu_` + 8 lower-case hex + `_` + 32 url-safe characters.
_KEY_SECRET_LENGTH = 32
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    login = subparsers.add_parser(
        "login",
        help="store an API key in the OS keyring for a profile",
        description="Store a RemoteGPU API key in the OS keyring (service 'rgpu-exec', user = the "
        "profile), so kubectl needs no key in its environment. Reads the key from stdin when it "
        "is not a terminal, else prompts without echo. Removes the profile's cached tokens.",
        epilog=command_support.epilog(
            "rgpu-exec login",
            "pass show remotegpu/ci | rgpu-exec login --profile ci",
            exit_codes=_EXIT_CODES,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command_support.add_profile(login, "profile to store the key under")
    login.set_defaults(func=_run_login)
    logout = subparsers.add_parser(
        "logout",
        help="delete a profile's API key from the OS keyring",
        description="Delete the profile's API key from the OS keyring and remove its cached "
        "tokens. Logging out of a profile that holds no key is not an error.",
        epilog=command_support.epilog("rgpu-exec logout --profile ci", exit_codes=_EXIT_CODES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command_support.add_profile(logout, "profile whose key to delete")
    logout.set_defaults(func=_run_logout)


def looks_like_key(value: str) -> bool:
    """Exactly the documented raw key: the shape `redact` knows, with a 32-character secret."""
    secret = value[KEY_PREFIX_LENGTH + 1 :]
    return (
        looks_like_remotegpu_key(value)
        and len(secret) == _KEY_SECRET_LENGTH
        and set(secret) <= _URL_SAFE
    )


def read_key(
    profile: str,
    *,
    stdin_is_tty: bool,
    read_stdin: Callable[[], str],
    prompt: Callable[[str], str],
) -> str:
    from rgpu_exec.api_key import check_key_format  # noqa: PLC0415
    from rgpu_exec.errors import UsageError  # noqa: PLC0415

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
    from rgpu_exec import keyring_store  # noqa: PLC0415
    from rgpu_exec.redact import key_prefix  # noqa: PLC0415

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
    from rgpu_exec import keyring_store  # noqa: PLC0415

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
    from rgpu_exec import token_cache  # noqa: PLC0415

    directory = command_support.cache_directory(environ)
    identity = token_cache.profile_identity(profile)
    stems = [
        stem
        for stem, entry in token_cache.iter_entries(directory)
        if entry is not None and entry.identity == identity
    ]
    return token_cache.purge(directory, stems)


def _removed(count: int) -> str:
    if not count:
        return ""
    return f"; removed {count} cached token{'s' if count != 1 else ''}"


def _run_login(args: argparse.Namespace) -> int:
    import getpass  # noqa: PLC0415

    environ = os.environ
    profile = command_support.profile(args.profile, environ)
    key = read_key(
        profile,
        stdin_is_tty=sys.stdin is not None and sys.stdin.isatty(),
        read_stdin=sys.stdin.read,
        prompt=getpass.getpass,
    )
    login(profile, key, environ, out=print, warn=lambda msg: print(msg, file=sys.stderr))
    return 0


def _run_logout(args: argparse.Namespace) -> int:
    environ = os.environ
    logout(command_support.profile(args.profile, environ), environ, out=print)
    return 0
