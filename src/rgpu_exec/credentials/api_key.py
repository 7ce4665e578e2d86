"""Find the API key: the environment, else the keyring, else (interactive only) a prompt."""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rgpu_exec.credentials import keyring_store
from rgpu_exec.errors import ApiKeyError, UsageError
from rgpu_exec.hotpath import settings

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

KeySource = Literal["env", "keyring", "prompt"]

# The documented raw key: `rgpu_` + 8 lower-case hex (the key id) + `_` + 32 url-safe characters.
# Its first 13 characters are its prefix, the only part ever shown.
KEY_START = "rgpu_"
KEY_ID_HEX_DIGITS = 8
KEY_PREFIX_LENGTH = len(KEY_START) + KEY_ID_HEX_DIGITS
KEY_SECRET_LENGTH = 32
# Anything shaped like a key (in a log line, say): its prefix is group 1.
KEY_PATTERN = rf"({KEY_START}[0-9a-f]{{{KEY_ID_HEX_DIGITS}}})_[A-Za-z0-9_-]+"
_HEX = frozenset("0123456789abcdef")
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def looks_like_remotegpu_key(value: str) -> bool:
    """`rgpu_` + 8 lower-case hex + `_` + at least 16 more characters: enough of the documented
    shape that its first 13 characters are its prefix, not part of its secret."""
    return (
        value.startswith(KEY_START)
        and len(value) >= KEY_PREFIX_LENGTH + 1 + 16
        and value[KEY_PREFIX_LENGTH] == "_"
        and set(value[len(KEY_START) : KEY_PREFIX_LENGTH]) <= _HEX
    )


def looks_like_key(value: str) -> bool:
    """Exactly the documented raw key, with its 32-character url-safe secret."""
    secret = value[KEY_PREFIX_LENGTH + 1 :]
    return (
        looks_like_remotegpu_key(value)
        and len(secret) == KEY_SECRET_LENGTH
        and set(secret) <= _URL_SAFE
    )


@dataclass(frozen=True)
class ApiKey:
    value: str
    source: KeySource

    def __repr__(self) -> str:  # never show the key, even in a traceback
        return f"ApiKey(source={self.source!r})"


def env_key(environ: Mapping[str, str]) -> ApiKey | None:
    value = settings.api_key(environ)
    if value is None:
        return None
    check_key_format(value, f"{settings.ENV_API_KEY}")
    return ApiKey(value, "env")


def _terminal_available() -> bool:
    """Whether a prompt can be shown without echo: getpass needs the controlling terminal."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def check_key_format(value: str, where: str) -> None:
    # An HTTP header carries ASCII only: anything else cannot be a key, and must not get as far
    # as the HTTP client (which would fail on it with an encoding error, exit 1).
    if not value.isascii() or any(c.isspace() or not c.isprintable() for c in value):
        raise UsageError(
            f"{where} contains spaces, line breaks or control characters (or non-ASCII ones), "
            "so it cannot be an API key. Copy the key again from where you saved it when you "
            "created it."
        )


def find_api_key(
    environ: Mapping[str, str],
    profile: str,
    *,
    interactive: bool,
    keyring_get: Callable[[str], str | None] | None = None,
    prompt: Callable[[str], str] | None = None,
) -> ApiKey:
    key = env_key(environ)
    if key is not None:
        return key
    stored = (keyring_get or keyring_store.get_key)(profile)
    if stored:
        check_key_format(stored, f"The key in the keyring (profile {profile!r})")
        return ApiKey(stored, "keyring")
    if interactive and (prompt is not None or _terminal_available()):
        try:
            typed = (prompt or getpass.getpass)(
                f"RemoteGPU API key (profile {profile!r}, not echoed): "
            ).strip()
        except EOFError:  # Ctrl-D: no key typed
            typed = ""
        if typed:
            check_key_format(typed, "The key you typed")
            if keyring_store.backend_problem(environ) is None:
                print(
                    "rgpu-exec: tip: run `rgpu-exec login` to keep the key in your keyring.",
                    file=sys.stderr,
                )
            return ApiKey(typed, "prompt")
    from rgpu_exec.token import api_contract  # noqa: PLC0415 - pydantic only when it is needed

    raise ApiKeyError(
        f"no RemoteGPU API key found (profile {profile!r}). Either export {settings.ENV_API_KEY}, "
        f"or store a key in your keyring once with `rgpu-exec login`. Keys are created in "
        f"{api_contract.KEYS_CONSOLE_PAGE}."
    )
