"""The key file: where `rgpu-exec login --insecure-storage` keeps a profile's API key in plain
text, for machines without a keyring (a headless server), as an explicit opt-in (as `gh auth
login --insecure-storage` does).

One file, `<user config dir>/rgpu-exec/api-keys` (`$XDG_CONFIG_HOME/rgpu-exec/api-keys`, or
`~/.config/rgpu-exec/api-keys` on Linux), 0600 in a 0700 directory, written atomically: a first
line `rgpu-exec-api-keys 1`, then one `<profile> <key>` line per profile. It is read only when
it is a regular file of ours that nobody else can read or write: a file with loose permissions
is refused, with what to do, never used. `token` reads it after the environment and the keyring.

Every change (`set_key`, `delete_key`) reads, changes and writes the file under `api-keys.lock`
beside it (an exclusive lock, `hotpath.entry_lock`), so concurrent logins and logouts never lose
one another's profiles. The file passes the write rule of every file rgpu-exec writes
(`private_files.write_target_problem`); the directory is absolute (a relative XDG_CONFIG_HOME is
ignored, `settings.config_dir`).
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec import fixes, output
from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import entry_lock, private_files, settings

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

MAGIC = "rgpu-exec-api-keys 1"
FILE_NAME = settings.KEY_FILE_NAME
LOCK_SUFFIX = ".lock"
LOCK_WAIT_SECONDS = 10.0
_MAX_BYTES = 64 * 1024


class KeyFileError(UsageError):
    """The key file exists but cannot be used safely (exit 2): loose permissions, another owner,
    a symlink, or not a key file."""


def path(environ: Mapping[str, str]) -> str:
    """Where the key file is (whether it exists or not)."""
    directory = settings.config_dir(environ)
    if directory is None:  # a platform whose rules need platformdirs (Windows)
        import platformdirs  # noqa: PLC0415 - only where the settings cannot say

        directory = platformdirs.user_config_dir(settings.APP_NAME, appauthor=False)
    return str(Path(directory) / FILE_NAME)


@dataclass(frozen=True)
class KeyFile:
    """What the key file holds now: its path, the profiles in it (empty when there is no file),
    and why it is refused (None when it is fine or absent)."""

    path: str
    profiles: list[str]
    problem: str | None = None


def status(environ: Mapping[str, str]) -> KeyFile:
    """The key file's state, for `whoami` and `doctor`. Never raises, never shows a key."""
    where = path(environ)
    try:
        keys = _read(where)
    except KeyFileError as exc:
        return KeyFile(where, [], exc.message)
    return KeyFile(where, sorted(keys))


def get_key(profile: str, environ: Mapping[str, str]) -> str | None:
    """The profile's key from the file; None when the file or the profile is absent. Raises
    KeyFileError for a file that exists and is not safe to use."""
    key = _read(path(environ)).get(profile)
    output.know(key)  # the output gate never shows it
    return key


def set_key(profile: str, value: str, environ: Mapping[str, str]) -> str:
    """Store the key for `profile` (replacing its old one), under the lock; the file's path."""
    where = path(environ)
    _make_directory(where)
    with _locked(where):
        keys = _read(where)
        keys[profile] = value
        _write(where, keys)
    return where


def delete_key(profile: str, environ: Mapping[str, str]) -> bool:
    """Delete the profile's key, under the lock: True if one was there (and it is gone). The
    file goes with its last key. A file with loose permissions is refused here too (`chmod 600`
    it, or delete it yourself)."""
    where = path(environ)
    if not Path(where).parent.is_dir():
        return False  # no directory, no key file: nothing to lock or delete
    with _locked(where):
        keys = _read(where)
        if keys.pop(profile, None) is None:
            return False
        if keys:
            _write(where, keys)
        else:
            Path(where).unlink()
    return True


def exposed_warning(environ: Mapping[str, str]) -> str | None:
    """A warning when other users can write to a directory above the key file; else None."""
    where = path(environ)
    directory = private_files.exposed_directory(where)
    if directory is None:
        return None
    return (
        f"rgpu-exec: warning: other users can write to {directory}, above the key file "
        f"{where}: they could replace its directory. Keep it in a directory of yours "
        "(set XDG_CONFIG_HOME to one, or fix that directory's mode)."
    )


@contextlib.contextmanager
def _locked(where: str) -> Iterator[None]:
    """Hold `<key file>.lock` for one read-change-write; KeyFileError when another login or
    logout holds it for longer than LOCK_WAIT_SECONDS."""
    lock = where + LOCK_SUFFIX
    stem = f"key-file:{lock}"
    if not entry_lock.acquire(lock, stem, time.monotonic() + LOCK_WAIT_SECONDS):
        entry_lock.release(stem)  # forget the failed wait: a later change may wait again
        raise _refused(
            where,
            f"is locked by {lock} (another `rgpu-exec login` or `logout` is changing it)",
            "Run this again when it is done; nothing was changed.",
        )
    try:
        yield
    finally:
        entry_lock.release(stem)


def _read(where: str) -> dict[str, str]:
    try:
        fd = os.open(where, os.O_RDONLY | private_files.SAFE_OPEN_FLAGS)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise _refused(where, f"cannot be opened ({exc.strerror or type(exc).__name__})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refused(where, "is not a regular file")
        geteuid = getattr(os, "geteuid", None)
        if geteuid is not None and st.st_uid != geteuid():
            raise _refused(where, "belongs to another user")
        if st.st_mode & 0o077:
            raise _refused(
                where,
                f"can be read or written by other users (mode {stat.S_IMODE(st.st_mode):04o})",
                f"Consider its keys exposed (rotate them in the console), then run "
                f"{fixes.command('chmod', '600', where)}.",
            )
        data = os.read(fd, _MAX_BYTES + 1)
    finally:
        os.close(fd)
    return _parse(where, data)


def _parse(where: str, data: bytes) -> dict[str, str]:
    try:
        lines = data.decode().splitlines()
    except UnicodeDecodeError:
        lines = []
    if len(data) > _MAX_BYTES or not lines or lines[0] != MAGIC:
        raise _refused(where, "is not a key file rgpu-exec wrote")
    keys: dict[str, str] = {}
    for line in lines[1:]:
        profile, space, key = line.partition(" ")
        if not space or not settings.valid_profile(profile) or not key:
            raise _refused(where, "is not a key file rgpu-exec wrote")
        keys[profile] = key
    return keys


def _make_directory(where: str) -> None:
    """The key file's directory (0700), after the write rule (absolute, a regular file or none)."""
    problem = private_files.write_target_problem(where, follow=False)
    if problem:
        raise _refused(where, problem)
    directory = Path(where).parent
    directory.parent.mkdir(parents=True, exist_ok=True)
    directory.mkdir(mode=0o700, exist_ok=True)


def _write(where: str, keys: dict[str, str]) -> None:
    lines = [MAGIC, *(f"{profile} {key}" for profile, key in sorted(keys.items()))]
    try:
        private_files.write_atomically(where, "\n".join(lines) + "\n")
    except private_files.RefusedPathError as exc:
        raise _refused(where, str(exc).removeprefix(f"{where} ")) from None


def _refused(where: str, why: str, remedy: str | None = None) -> KeyFileError:
    fix = remedy or f"Delete it ({fixes.command('rm', where)}) and store the key again."
    return KeyFileError(f"the key file {where} {why}, so rgpu-exec does not use it. {fix}")
