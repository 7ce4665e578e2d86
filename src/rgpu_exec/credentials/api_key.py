"""Find the API key, and the one rule of its shape.

Order: `REMOTEGPU_API_KEY`, else the keyring profile, else the key file (`login
--insecure-storage`), else (interactive only) a prompt, bounded in time; but a `--profile` given
as a flag beats the environment: the key then comes from that profile's keyring entry, key file
entry or the prompt, as `hotpath.request.environment_key` decides for the cache too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rgpu_exec import contract
from rgpu_exec.credentials import file_store, keyring_store
from rgpu_exec.credentials.prompt import PROMPT_TIMEOUT, read_hidden
from rgpu_exec.errors import ApiKeyError, UsageError
from rgpu_exec.hotpath import request, settings
from rgpu_exec.redact import (
    KEY_ID_HEX_DIGITS,
    KEY_PREFIX_LENGTH,
    KEY_START,
    key_prefix,
    looks_like_remotegpu_key,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

KeySource = Literal["env", "keyring", "file", "prompt"]
KEY_SECRET_LENGTH = 32
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def looks_like_key(value: str) -> bool:
    """Exactly the documented raw key, with its 32-character url-safe secret."""
    secret = value[KEY_PREFIX_LENGTH + 1 :]
    return (
        looks_like_remotegpu_key(value)
        and len(secret) == KEY_SECRET_LENGTH
        and set(secret) <= _URL_SAFE
    )


_QUOTES = "'\"`"  # curly quotes are not ASCII: refused before this
KEY_LENGTH = KEY_PREFIX_LENGTH + 1 + KEY_SECRET_LENGTH
KEY_SHAPE = f"{KEY_START}, {KEY_ID_HEX_DIGITS} hex characters, _, {KEY_SECRET_LENGTH} characters"


def key_problem(value: str) -> str | None:
    """What is wrong with a value meant as a RemoteGPU API key, or None when it has the
    documented shape (`looks_like_key`): the one key-shape rule, in words for people. Says
    nothing of the value itself."""
    if looks_like_key(value):
        return None
    if not _header_safe(value):
        return _NOT_HEADER_SAFE
    if len(value) >= 2 and value[0] in _QUOTES and value[-1] in _QUOTES:  # noqa: PLR2004
        return "is wrapped in quotes, which became part of the value"
    if value[:1] in _QUOTES or value[-1:] in _QUOTES:
        return "starts or ends with a quote, which became part of the value"
    if not value.startswith(KEY_START):
        return f"does not start with {KEY_START!r}, so it is not a RemoteGPU API key"
    if len(value) != KEY_LENGTH:
        return (
            f"has {len(value)} characters where a RemoteGPU API key has {KEY_LENGTH} (cut "
            "short, or pasted with something else)"
        )
    if not looks_like_remotegpu_key(value):
        return f"does not have the shape of a RemoteGPU API key ({KEY_SHAPE})"
    return "has characters a RemoteGPU API key never has (only letters, digits, '-' and '_')"


def shown_prefix(value: str) -> str:
    """` (rgpu_3f9a2c1b…)` for a value shaped like a RemoteGPU key (also inside stray quotes),
    else nothing: the first characters of anything else may well be secret."""
    inner = value.strip(_QUOTES)
    return f" ({key_prefix(inner)})" if looks_like_remotegpu_key(inner) else ""


_NOT_HEADER_SAFE = (
    "contains spaces, line breaks or control characters (or non-ASCII ones), so it cannot be "
    "an API key"
)


def _header_safe(value: str) -> bool:
    # An HTTP header carries ASCII only: anything else cannot be a key, and must not get as far
    # as the HTTP client (which would fail on it with an encoding error, exit 1).
    return value.isascii() and not any(c.isspace() or not c.isprintable() for c in value)


@dataclass(frozen=True)
class ApiKey:
    value: str
    source: KeySource
    profile: str | None = None  # the profile it came from (source "keyring" or "file")

    def __repr__(self) -> str:  # never show the key, even in a traceback
        return f"ApiKey(source={self.source!r}, profile={self.profile!r})"

    @property
    def origin(self) -> str:
        """Where it came from, as every command says it: `from REMOTEGPU_API_KEY`, `from
        keyring profile 'ci'`, `typed at the prompt`."""
        return describe_source(self.source, self.profile)


def rejected(exc: ApiKeyError, key: ApiKey) -> ApiKeyError:
    """The API's rejection of `key`, with the remedy for where the key came from: while
    REMOTEGPU_API_KEY is set it wins over the keyring, so `rgpu-exec login` would not help."""

    page = contract.KEYS_CONSOLE_PAGE
    if key.source == "env":
        remedy = (
            f"The key is {key.origin}, which wins over the keyring: set it to a valid key "
            f"with Kubernetes access (from {page}), or unset it to use the keyring."
        )
    elif key.source in ("keyring", "file"):
        profile = key.profile or "default"
        again = " --insecure-storage" if key.source == "file" else ""
        remedy = (
            f"The key is {key.origin}: store a valid one with `rgpu-exec login{again} --profile "
            f"{profile}` (create it with Kubernetes access in {page})."
        )
    else:
        remedy = (
            f"The key was {key.origin}: type a valid one, or store one with `rgpu-exec login` "
            f"(create it with Kubernetes access in {page})."
        )
    return exc.with_remedy(remedy)


def describe_source(source: KeySource, profile: str | None) -> str:
    if source == "env":
        return f"from {settings.ENV_API_KEY}"
    if source == "keyring":
        return f"from keyring profile {profile!r}"
    if source == "file":
        return f"from the key file, profile {profile!r}"
    return "typed at the prompt"


def env_key(environ: Mapping[str, str], profile_flag: str | None = None) -> ApiKey | None:
    """The key from `REMOTEGPU_API_KEY`, checked against the key shape (a UsageError says what
    is wrong with it); None when unset, or when `--profile` names a profile (a flag beats the
    environment: `request.environment_key`)."""
    value = request.environment_key(profile_flag, environ)
    if value is None:
        return None
    problem = key_problem(value)
    if problem == _NOT_HEADER_SAFE:
        check_key_format(value, settings.ENV_API_KEY)
    if problem:
        raise UsageError(
            f"{settings.ENV_API_KEY}{shown_prefix(value)} {problem}. Nothing was sent. Set it to "
            f"the key exactly as the console showed it ({KEY_SHAPE}), without quotes or spaces: "
            f"`export {settings.ENV_API_KEY}=rgpu_…` in a shell, the bare value in a CI secret."
        )
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
    """Refuse what no HTTP header can carry (a looser rule than `key_problem`, for keys the user
    chose to store as they are)."""
    if not _header_safe(value):
        raise UsageError(
            f"{where} {_NOT_HEADER_SAFE}. Copy the key again from where you saved it when you "
            "created it."
        )


def find_api_key(
    environ: Mapping[str, str],
    profile: str,
    *,
    interactive: bool,
    profile_flag: str | None = None,
    keyring_get: Callable[[str], str | None] | None = None,
    file_get: Callable[[str], str | None] | None = None,
    prompt: Callable[[str], str] | None = None,
) -> ApiKey:
    """The key to use. `profile` is the resolved profile; `profile_flag` the `--profile` given
    on the command line (or in a kubeconfig's exec args), which makes the profile win over the
    environment."""
    key = env_key(environ, profile_flag)
    if key is not None:
        return key
    stored = (keyring_get or keyring_store.get_key)(profile)
    if stored:
        check_key_format(stored, f"The key in the keyring (profile {profile!r})")
        return ApiKey(stored, "keyring", profile)
    in_file = (file_get or (lambda name: file_store.get_key(name, environ)))(profile)
    if in_file:
        check_key_format(in_file, f"The key in the key file (profile {profile!r})")
        return ApiKey(in_file, "file", profile)
    if interactive and (prompt is not None or _terminal_available()):
        typed = _typed_key(profile, prompt or read_hidden)
        if typed:
            check_key_format(typed, "The key you typed")
            return ApiKey(typed, "prompt", profile)

    if profile_flag and settings.api_key(environ) is not None:
        raise ApiKeyError(
            f"no API key in the keyring for profile {profile!r}. {settings.ENV_API_KEY} is set, "
            f"but --profile {profile} takes precedence over it: store the profile's key with "
            f"`rgpu-exec login --profile {profile}`, or drop --profile (from the command, or "
            f"from the kubeconfig's exec args) to use {settings.ENV_API_KEY}."
        )
    blank = (
        f" {settings.ENV_API_KEY} is set but empty (an unset CI secret, or an empty variable)."
        if settings.api_key_blank(environ)
        else ""
    )
    no_keyring = keyring_store.backend_problem(environ)
    remedy = (
        f"No keyring can keep a key here: {no_keyring}. Export {settings.ENV_API_KEY}, or "
        "keep the key in a file only you can read with `rgpu-exec login --insecure-storage`."
        if no_keyring
        else f"Either export {settings.ENV_API_KEY}, or store a key in your keyring once with "
        "`rgpu-exec login`."
    )
    raise ApiKeyError(
        f"no RemoteGPU API key found (profile {profile!r}).{blank} {remedy} Keys are created in "
        f"{contract.KEYS_CONSOLE_PAGE}."
    )


def _typed_key(profile: str, prompt: Callable[[str], str]) -> str:
    """The key typed at the prompt ("" for none); the wait is bounded (`PROMPT_TIMEOUT`)."""
    try:
        return prompt(
            f"RemoteGPU API key (profile {profile!r}, not echoed, {PROMPT_TIMEOUT:.0f} s to type "
            "it): "
        ).strip()
    except EOFError:  # Ctrl-D: no key typed
        return ""
    except TimeoutError:
        raise ApiKeyError(
            f"no API key was typed within {PROMPT_TIMEOUT:.0f} s. Store one so that kubectl "
            "need not ask: `rgpu-exec login` (the OS keyring), `rgpu-exec login "
            f"--insecure-storage` (a file only you can read), or export {settings.ENV_API_KEY}."
        ) from None
