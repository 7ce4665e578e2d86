"""Find the API key (the rule of its shape: `key_shape`).

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
from rgpu_exec.credentials.key_shape import NOT_HEADER_SAFE, key_problem, shape_note, shown_prefix
from rgpu_exec.credentials.misplaced_key import misplaced_key_hint
from rgpu_exec.credentials.prompt import PROMPT_TIMEOUT, read_hidden
from rgpu_exec.errors import ApiKeyError, UsageError
from rgpu_exec.hotpath import request, settings

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

KeySource = Literal["env", "keyring", "file", "prompt"]


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
    shown = "" if problem == NOT_HEADER_SAFE else shown_prefix(value)
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
