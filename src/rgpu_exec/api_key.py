"""Find the API key: the environment, else the keyring, else (interactive only) a prompt."""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rgpu_exec import keyring_store, settings
from rgpu_exec.errors import ApiKeyError, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

KeySource = Literal["env", "keyring", "prompt"]


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
    from rgpu_exec import api_contract  # noqa: PLC0415 - pydantic only when it is needed

    raise ApiKeyError(
        f"no RemoteGPU API key found (profile {profile!r}). Either export {settings.ENV_API_KEY}, "
        f"or store a key in your keyring once with `rgpu-exec login`. Keys are created in "
        f"{api_contract.KEYS_CONSOLE_PAGE}."
    )
