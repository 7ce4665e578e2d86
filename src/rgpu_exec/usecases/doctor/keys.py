"""The doctor's checks of the API key and the keyring, with no network: which key `token` would
use and from where (as `token` finds it), whether the keyring can hold one, and the login that
stores a key for a profile."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rgpu_exec import contract, fixes
from rgpu_exec.credentials import keyring_store
from rgpu_exec.credentials.key_shape import key_problem, shown_prefix
from rgpu_exec.errors import ApiKeyError, UsageError
from rgpu_exec.hotpath import request, settings
from rgpu_exec.redact import key_prefix
from rgpu_exec.usecases.doctor.findings import Finding
from rgpu_exec.usecases.key_exchange import find_key

if TYPE_CHECKING:
    from collections.abc import Mapping


def key_findings(
    environ: Mapping[str, str],
    profile: str,
    *,
    keyring_usable: bool = True,
    profile_flag: str | None = None,
) -> tuple[list[Finding], str | None]:
    """Which key `token` would use, and from where: found as `token` finds it
    (`key_exchange.find_key`: `--profile` beats the environment; then the keyring, then the
    key file of `login --insecure-storage`). Whether the API accepts it is asked later. Also
    where the key comes from when that is not the keyring (then a missing keyring is fine)."""
    env_key = request.environment_key(profile_flag, environ)
    if env_key is not None and key_problem(env_key):
        return [
            _unusable_key(
                profile,
                f"{settings.ENV_API_KEY}{shown_prefix(env_key)} {key_problem(env_key)}",
                "set it to the key exactly as the console showed it, without quotes or spaces",
            )
        ], None
    try:
        key = find_key(environ, profile_flag)
    except ApiKeyError:
        overridden = settings.api_key(environ) is not None
        detail = (
            f"no key: neither the keyring nor the key file holds one for profile {profile!r}, "
            f"and --profile wins over {settings.ENV_API_KEY}"
            if overridden
            else f"no key: {settings.ENV_API_KEY} is unset, and neither the keyring nor the key "
            f"file holds one for profile {profile!r}"
        )
        fix = (
            f"leave out --profile to use {settings.ENV_API_KEY}, or store a key for profile "
            f"{profile!r}: run {login_fix(profile, keyring_usable)}"
            if overridden
            else no_key_fix(profile, keyring_usable)
        )
        return [_unusable_key(profile, detail, fix)], None
    except UsageError as exc:  # a stored value that cannot be a key, or a key file not private
        return [_unusable_key(profile, exc.message, new_key_fix(None, profile))], None
    detail = f"key {key_prefix(key.value)} {key.origin}"
    if key.source != "env" and settings.api_key(environ) is not None:
        detail += f" (--profile wins over {settings.ENV_API_KEY}, which is set too)"
    findings = [Finding("API key", "ok", detail)]
    stored = keyring_store.get_key(profile) if key.source == "env" else None
    if stored:
        findings.append(
            Finding(
                "API key",
                "note",
                f"the keyring also holds {key_prefix(stored)} for profile {profile!r}; "
                f"{settings.ENV_API_KEY} wins while it is set (unless --profile is given)",
            )
        )
    return findings, None if key.source == "keyring" else key.origin


def _unusable_key(profile: str, detail: str, fix: str) -> Finding:
    """No key, or none that can be used, for the doctor's profile."""
    return Finding("API key", "problem", detail, fix, "key-unusable", {"profile": profile})


def no_key_fix(profile: str, keyring_usable: bool) -> str:
    if keyring_usable:
        return f"run {login_fix(profile, keyring_usable)}, or export {settings.ENV_API_KEY}"
    return (
        f"export {settings.ENV_API_KEY} (in CI, from its secret store), or on a machine of "
        f"your own {login_fix(profile, keyring_usable)} (a file only you can read): this "
        "machine has no usable OS keyring to keep a key in"
    )


def login_fix(profile: str, keyring_usable: bool) -> str:
    """The login that stores a key for `profile`: in the keyring, else (none usable) in the key
    file of `--insecure-storage`."""
    flags = () if keyring_usable else ("--insecure-storage",)
    return _login(profile, *flags)


def _login(profile: str, *flags: str) -> str:
    return fixes.command("rgpu-exec", "login", *flags, "--profile", profile)


def keyring_usable(environ: Mapping[str, str]) -> bool:
    return keyring_store.backend_problem(environ) is None


def keyring_findings(environ: Mapping[str, str], key_origin: str | None = None) -> list[Finding]:
    """The keyring backend; a missing one is only a note when the key comes from elsewhere
    (`key_origin`: the environment, or the key file)."""
    name = keyring_store.backend_name()
    problem = keyring_store.backend_problem(environ)
    if problem is None:
        return [Finding("keyring", "ok", name)]
    if key_origin is not None:
        return [Finding("keyring", "note", f"{problem}; fine, the key comes {key_origin}")]
    return [
        Finding(
            "keyring",
            "problem",
            problem,
            f"on a server or in CI export {settings.ENV_API_KEY}; on a desktop unlock or install "
            "a keyring, then `rgpu-exec login`",
        )
    ]


def new_key_fix(source: str | None, profile: str) -> str:
    if source == "env":
        where = f"put it in {settings.ENV_API_KEY}"
    else:  # where the old one was: the key file, or the keyring while one is usable
        usable = source != "file" and keyring_store.backend_problem() is None
        where = "store it with " + login_fix(profile, usable)
    return f"create a key with Kubernetes access in {contract.KEYS_CONSOLE_PAGE}, then {where}"
