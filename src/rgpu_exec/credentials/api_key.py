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

from rgpu_exec import contract, fixes, output
from rgpu_exec.credentials import file_store, keyring_store
from rgpu_exec.credentials.misplaced_key import misplaced_key_hint
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
# A shell variable's name as people write one, in capitals: `NAME=` at the start of a value is an
# assignment pasted whole (a key has no `=` before its end).
_DIGITS = frozenset("0123456789")
_VARIABLE_NAME = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") | _DIGITS
# Only a name that says it holds a secret counts: the key's format is an assumption, and a key
# of another format could start with capitals and hold `=` (base64 padding, say).
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET")
KEY_LENGTH = KEY_PREFIX_LENGTH + 1 + KEY_SECRET_LENGTH
KEY_SHAPE = f"{KEY_START}, {KEY_ID_HEX_DIGITS} hex characters, _, {KEY_SECRET_LENGTH} characters"


def key_problem(value: str) -> str | None:
    """Why this value cannot be an API key in any format, or None: the one key rule, for every
    source (environment, keyring, prompt, `login`). Refused here only what no key can be:
    empty, wrapped in (or starting or ending with) quotes, starting with `NAME=` (an assignment
    pasted whole), or holding whitespace, control or non-ASCII characters, which no HTTP header
    carries. Everything else is sent: the key's
    format is the API's to judge (the documented shape is an assumption, see `shape_note`).
    Says nothing of the value itself."""
    if not value:
        return "is empty"
    if not _header_safe(value):
        return _NOT_HEADER_SAFE
    if len(value) >= 2 and value[0] in _QUOTES and value[-1] in _QUOTES:  # noqa: PLR2004
        return "is wrapped in quotes, which became part of the value"
    if value[:1] in _QUOTES or value[-1:] in _QUOTES:
        return "starts or ends with a quote, which became part of the value"
    name, equals, rest = value.partition("=")
    if (
        name[:1] not in _DIGITS
        and set(name) <= _VARIABLE_NAME
        and any(word in name for word in _SECRET_WORDS)  # a key in another format may hold `=`
        and equals
        and rest.strip("=")
    ):
        said = f"{name}=" if name == settings.ENV_API_KEY else "a variable's name and ="
        return f"starts with {said} (a whole NAME=value assignment was pasted as the value)"
    return None


def shape_note(value: str) -> str | None:
    """How a key the API rejected differs from the shape RemoteGPU keys are documented to have
    (`KEY_SHAPE`), for the diagnosis; None when it has that shape. A guess, worded as one: the
    API decides what a key is."""
    if looks_like_key(value):
        return None
    if not value.startswith(KEY_START):
        what = f"it does not start with {KEY_START!r}"
    elif len(value) != KEY_LENGTH:
        what = f"it has {len(value)} characters, not {KEY_LENGTH}"
    else:
        what = f"it is not {KEY_SHAPE}"
    return (
        f"The key does not have the usual shape of a RemoteGPU API key ({what}): maybe it was "
        "cut short, pasted with something else, or is another service's key."
    )


def shown_prefix(value: str) -> str:
    """` (rgpu_3f9a2c1b…)` for a value shaped like a RemoteGPU key (also inside stray quotes),
    else nothing: the first characters of anything else may well be secret."""
    inner = value.strip(_QUOTES)
    return f" ({key_prefix(inner)})" if looks_like_remotegpu_key(inner) else ""


_NOT_HEADER_SAFE = "contains spaces, line breaks or control characters (or non-ASCII ones)"


def _header_safe(value: str) -> bool:
    # An HTTP header carries ASCII only: anything else cannot be a key, and must not get as far
    # as the HTTP client (which would fail on it with an encoding error, exit 1).
    return value.isascii() and not any(c.isspace() or not c.isprintable() for c in value)


@dataclass(frozen=True)
class ApiKey:
    value: str
    source: KeySource
    profile: str | None = None  # the profile it came from (source "keyring" or "file")

    def __post_init__(self) -> None:
        output.know(self.value)  # wherever it came from, the output gate never shows it

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
    if key.source == "env" and keyring_store.backend_problem() is None:
        remedy = (
            f"The key is {key.origin}, which wins over the keyring: set it to a valid key "
            f"with Kubernetes access (from {page}), or unset it to use the keyring."
        )
    elif key.source == "env":  # no keyring to fall back on (CI): the variable is the way
        remedy = (
            f"The key is {key.origin}: create a key with Kubernetes access in {page} and give "
            f"it to {settings.ENV_API_KEY} (in CI: replace the secret it comes from)."
        )
    elif key.source in ("keyring", "file"):
        profile = key.profile or "default"
        again = ["--insecure-storage"] if key.source == "file" else []
        remedy = (
            f"The key is {key.origin}: store a valid one with "
            f"{fixes.command('rgpu-exec', 'login', *again, '--profile', profile)} (create it "
            f"with Kubernetes access in {page})."
        )
    else:
        remedy = (
            f"The key was {key.origin}: type a valid one, or store one with `rgpu-exec login` "
            f"(create it with Kubernetes access in {page})."
        )
    note = shape_note(key.value)
    return exc.with_remedy(f"{note} {remedy}" if note else remedy)


def describe_source(source: KeySource, profile: str | None) -> str:
    if source == "env":
        return f"from {settings.ENV_API_KEY}"
    if source == "keyring":
        return f"from keyring profile {profile!r}"
    if source == "file":
        return f"from the key file, profile {profile!r}"
    return "typed at the prompt"


def env_key(environ: Mapping[str, str], profile_flag: str | None = None) -> ApiKey | None:
    """The key from `REMOTEGPU_API_KEY` (a UsageError when it cannot be a key at all: see
    `key_problem`); None when unset, or when `--profile` names a profile (a flag beats the
    environment: `request.environment_key`)."""
    value = request.environment_key(profile_flag, environ)
    if value is None:
        return None
    check_key(value, settings.ENV_API_KEY)
    return ApiKey(value, "env")


def _terminal_available() -> bool:
    """Whether a prompt can be shown without echo: getpass needs the controlling terminal."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


# What to do about a value that cannot be a key, by where it came from (`check_key`).
ENV_ADVICE = (
    "Use the key exactly as the console showed it, without quotes or spaces: in a shell, paste "
    f"it right after export {settings.ENV_API_KEY}= with nothing around it; in a CI secret, "
    "store the bare value."
)
STDIN_ADVICE = (
    "Pipe in the key alone, exactly as the console showed it: whatever printed it also printed "
    "the quotes or spaces (a file or a secret store holding the key should hold the bare value)."
)
TYPED_ADVICE = "Paste the key alone, exactly as the console showed it, without quotes or spaces."


def check_key(value: str, where: str, advice: str = ENV_ADVICE) -> None:
    """Refuse, before anything is sent, a value that cannot be a key (`key_problem`), saying
    what is wrong with it and where it came from (`where`), never the value itself, and what to
    do about it there (`advice`)."""
    problem = key_problem(value)
    if problem is None:
        return
    # A value with spaces or control characters may be two things pasted together: no prefix.
    shown = "" if problem == _NOT_HEADER_SAFE else shown_prefix(value)
    raise UsageError(
        f"{where}{shown} {problem}, so it cannot be an API key; nothing was sent. {advice}"
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
    key = stored_key(
        environ, profile, profile_flag=profile_flag, keyring_get=keyring_get, file_get=file_get
    )
    if key is not None:
        return key
    return asked_key(
        environ, profile, interactive=interactive, profile_flag=profile_flag, prompt=prompt
    )


def stored_key(
    environ: Mapping[str, str],
    profile: str,
    *,
    profile_flag: str | None = None,
    keyring_get: Callable[[str], str | None] | None = None,
    file_get: Callable[[str], str | None] | None = None,
) -> ApiKey | None:
    """The key kept where `token` looks without asking anyone (the environment, the keyring, the
    key file), in that order; None when there is none."""
    key = env_key(environ, profile_flag)
    if key is not None:
        return key
    stored = (keyring_get or keyring_store.get_key)(profile)
    if stored:
        again = fixes.command("rgpu-exec", "login", "--profile", profile)
        check_key(
            stored, f"the key in the keyring (profile {profile!r})", f"Store it again: {again}."
        )
        return ApiKey(stored, "keyring", profile)
    in_file = (file_get or (lambda name: file_store.get_key(name, environ)))(profile)
    if in_file:
        again = fixes.command("rgpu-exec", "login", "--insecure-storage", "--profile", profile)
        check_key(
            in_file, f"the key in the key file (profile {profile!r})", f"Store it again: {again}."
        )
        return ApiKey(in_file, "file", profile)
    return None


def asked_key(
    environ: Mapping[str, str],
    profile: str,
    *,
    interactive: bool,
    profile_flag: str | None = None,
    prompt: Callable[[str], str] | None = None,
) -> ApiKey:
    """When no key is kept (`stored_key`): the key typed at a prompt (interactive, on a
    terminal), else the error that says where to keep one."""
    if interactive and (prompt is not None or _terminal_available()):
        typed = _typed_key(profile, prompt or read_hidden)
        if typed:
            check_key(typed, "the key you typed", TYPED_ADVICE)
            return ApiKey(typed, "prompt", profile)

    if profile_flag and settings.api_key(environ) is not None:
        raise ApiKeyError(
            f"no API key in the keyring for profile {profile!r}. {settings.ENV_API_KEY} is set, "
            f"but --profile {profile} takes precedence over it: store the profile's key with "
            f"{fixes.command('rgpu-exec', 'login', '--profile', profile)}, or drop --profile "
            f"(from the command, or from the kubeconfig's exec args) to use "
            f"{settings.ENV_API_KEY}."
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
    misplaced = misplaced_key_hint(environ)
    raise ApiKeyError(
        f"no RemoteGPU API key found (profile {profile!r}).{blank}{misplaced} {remedy} Keys are "
        f"created in "
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
