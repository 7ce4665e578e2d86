"""Find the API key: the environment, else the keyring, else (interactive only) a prompt."""

from __future__ import annotations

import getpass
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rgpu_exec import api_contract, keyring_store, settings
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


def check_key_format(value: str, where: str) -> None:
    if any(c.isspace() or not c.isprintable() for c in value):
        raise UsageError(
            f"{where} contains spaces, line breaks or control characters, so it cannot be an API "
            "key. Copy the key again from where you saved it when you created it."
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
        return ApiKey(stored, "keyring")
    if interactive:
        typed = (prompt or getpass.getpass)(
            f"RemoteGPU API key (profile {profile!r}, not echoed): "
        ).strip()
        if typed:
            check_key_format(typed, "The key you typed")
            print(
                "rgpu-exec: tip: run `rgpu-exec login` to keep the key in your keyring.",
                file=sys.stderr,
            )
            return ApiKey(typed, "prompt")
    raise ApiKeyError(
        f"no RemoteGPU API key found (profile {profile!r}). Either export {settings.ENV_API_KEY}, "
        f"or store a key in your keyring once with `rgpu-exec login`. Keys are created in "
        f"{api_contract.KEYS_CONSOLE_PAGE}."
    )
