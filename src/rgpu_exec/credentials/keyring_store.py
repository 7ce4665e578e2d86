"""The OS keyring, where `rgpu-exec login` keeps a profile's API key.

Service `rgpu-exec`, username = the profile name. Reading never raises: a keyring that is
missing, locked or broken (headless Linux, CI) means "no key there". Writing and deleting raise
`KeyringUnavailableError` with what to do instead.

The one rule for a plaintext backend (`keyrings.alt`): a key already there is a key like any
other, read by `token`, shown by `whoami` and deleted by `logout`; only storing a new key there
needs the backend named in `PYTHON_KEYRING_BACKEND` (`backend_problem` says why not). A key file
is the plain-text storage rgpu-exec offers itself (`file_store`, `login --insecure-storage`).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from rgpu_exec import output
from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import settings

if TYPE_CHECKING:
    from collections.abc import Mapping

log = logging.getLogger(__name__)

SERVICE = "rgpu-exec"
# Backends that store nothing, or store it in clear. `keyrings.alt`'s file backends are the
# plaintext ones (the encrypted one asks for a password on every use, useless to kubectl).
_UNUSABLE = frozenset({"keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"})
_PLAINTEXT_MARKERS = ("Plaintext", "keyrings.alt.file")
_NOT_STORED = "Nothing was stored."
_NOT_DELETED = "No key was deleted from it."


class KeyringUnavailableError(UsageError):
    """No keyring backend that can keep a key safely (exit 2)."""


def get_key(profile: str) -> str | None:
    try:
        import keyring  # noqa: PLC0415

        value = keyring.get_password(SERVICE, profile)
    except Exception as exc:
        log.debug("keyring unavailable (%s): treating it as holding no key", type(exc).__name__)
        return None
    output.know(value)
    return value or None


def _qualified(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def backend_name() -> str:
    """The keyring backend in use, as people know it (`SecretService Keyring`). Never raises."""
    try:
        import keyring  # noqa: PLC0415

        backend = keyring.get_keyring()
    except Exception as exc:
        return f"none ({type(exc).__name__})"
    return str(getattr(backend, "name", None) or _qualified(backend))


def backend_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """Why the keyring in use cannot keep a key, or None when it can. Never raises."""
    environ = os.environ if environ is None else environ
    try:
        import keyring  # noqa: PLC0415

        backend = keyring.get_keyring()
    except Exception as exc:
        return f"the keyring library could not start ({type(exc).__name__})"
    problem = _holds_nothing(backend)
    if problem:
        return problem
    qualified = _qualified(backend)
    chosen = settings.keyring_backend(environ)
    if plaintext(backend) and chosen != qualified:
        return (
            f"the only keyring backend available, {qualified}, stores keys in plain text, and "
            f"{settings.ENV_KEYRING_BACKEND} does not name it"
        )
    return None


def holds_keys() -> bool:
    """Whether the keyring in use can hold keys at all (a plaintext one can): what `token`
    reads and `logout` deletes. Never raises."""
    try:
        import keyring  # noqa: PLC0415

        backend = keyring.get_keyring()
    except Exception:  # no keyring library at work: it holds nothing
        return False
    return _holds_nothing(backend) is None


def plaintext(backend: object) -> bool:
    return any(marker in _qualified(backend) for marker in _PLAINTEXT_MARKERS)


def _holds_nothing(backend: object) -> str | None:
    if _qualified(backend) in _UNUSABLE or getattr(backend, "priority", 1) <= 0:
        return (
            "no keyring backend is usable on this machine: no Secret Service, KWallet, "
            "Keychain or Windows Credential Manager was found"
        )
    return None


def _unavailable(problem: str, outcome: str) -> KeyringUnavailableError:
    return KeyringUnavailableError(
        f"cannot use the OS keyring: {problem}. {outcome} On a server, `rgpu-exec login "
        "--insecure-storage` keeps the key in a file only you can read; in CI, set "
        f"{settings.ENV_API_KEY} in the environment instead (from your CI's secret store); on a "
        "desktop, unlock or install a keyring (GNOME Keyring, KWallet, macOS Keychain, Windows "
        "Credential Manager) and try again."
    )


_SECRET_SERVICE = "keyring.backends.SecretService.Keyring"  # noqa: S105 - a class name


def list_profiles() -> list[str] | None:
    """The profiles that hold a key, when the backend can list its entries (the Secret Service
    can search them by service); None when it cannot (keyring's API has no listing). Never
    raises; never reads a key."""
    try:
        import keyring  # noqa: PLC0415

        backend = keyring.get_keyring()
        for candidate in getattr(backend, "backends", None) or [backend]:  # a chainer, or one
            if _qualified(candidate) == _SECRET_SERVICE:
                collection = candidate.get_preferred_collection()
                items = collection.search_items({"service": SERVICE})
                names = {item.get_attributes().get("username") for item in items}
                return sorted(name for name in names if name)
    except Exception as exc:
        log.debug("cannot list the keyring's entries (%s)", type(exc).__name__)
    return None


def check_usable(environ: Mapping[str, str] | None = None) -> None:
    """Raise KeyringUnavailableError (nothing stored) when no backend can keep a key."""
    problem = backend_problem(environ)
    if problem:
        raise _unavailable(problem, _NOT_STORED)


def set_key(profile: str, value: str) -> str:
    """Store the key for `profile`; the backend's name. Raises KeyringUnavailableError."""
    problem = backend_problem()
    if problem:
        raise _unavailable(problem, _NOT_STORED)
    try:
        import keyring  # noqa: PLC0415

        keyring.set_password(SERVICE, profile, value)
        stored = keyring.get_password(SERVICE, profile)
    except Exception as exc:
        raise _unavailable(
            f"{backend_name()} refused to store the key ({_reason(exc)})", _NOT_STORED
        ) from None
    if stored != value:
        raise _unavailable(
            f"{backend_name()} accepted the key but does not give it back", _NOT_STORED
        )
    return backend_name()


def delete_key(profile: str) -> bool:
    """Delete the key for `profile`: True if one was there (from any backend that holds keys,
    a plaintext one too). Raises KeyringUnavailableError."""
    if not holds_keys():
        problem = backend_problem() or "no keyring backend is usable on this machine"
        raise _unavailable(problem, _NOT_DELETED)
    try:
        import keyring  # noqa: PLC0415
        from keyring.errors import PasswordDeleteError  # noqa: PLC0415

        if keyring.get_password(SERVICE, profile) is None:
            return False
        try:
            keyring.delete_password(SERVICE, profile)
        except PasswordDeleteError:
            return False
    except Exception as exc:
        raise _unavailable(f"{backend_name()} failed ({_reason(exc)})", _NOT_DELETED) from None
    return True


def _reason(exc: Exception) -> str:
    # Backend errors carry no secrets (we pass the key only to set_password), but keep it short.
    text = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
