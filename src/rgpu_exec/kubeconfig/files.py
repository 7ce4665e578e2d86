"""Which kubeconfig files, and how to change one safely, as kubectl does.

- Files: `--kubeconfig` alone; else `KUBECONFIG` split on the path separator (duplicates
  dropped, missing files skipped when reading); else `~/.kube/config`.
- The default file (new entries, `current-context`): the explicit file; else the first file of
  the list that exists; else the last one (created 0600, missing directories 0700).
- Lock: kubectl's own `<file>.lock`, created with O_EXCL, so we and `kubectl config` never
  write at the same time. We wait a little for it, then report it with its age.
- Write: a temp file beside the real file, fsync, then rename over it; the file keeps its mode
  (new files 0600). A symlinked kubeconfig is written through to its target, as kubectl does
  (the link stays a link); the lock and the backup sit beside the name as given.
- Backup: before changing a file that exists, its previous content goes to
  `<file>.rgpu-exec.bak` (0600), replacing the backup of the change before.
- The write rule of every file rgpu-exec writes (`private_files.write_target_problem`): only a
  regular file (or none) is replaced, never a device or a FIFO (`KUBECONFIG=/dev/null`, also
  through a symlink), which is refused before its lock is taken.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec import fixes
from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import private_files, settings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

LOCK_SUFFIX = ".lock"
BACKUP_SUFFIX = ".rgpu-exec.bak"
LOCK_WAIT_SECONDS = 3.0
_LOCK_POLL_SECONDS = 0.05
_NEW_FILE_MODE = 0o600
_NEW_DIR_MODE = 0o700
_DEVICE_READ_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Targets:
    """The files kubectl would read, in order, and the one it writes new entries to."""

    paths: tuple[Path, ...]
    default: Path


def select_targets(flag: str | None, environ: Mapping[str, str]) -> Targets:
    if flag:
        path = _absolute(flag, environ)
        return Targets((path,), path)
    raw = settings.kubeconfig_list(environ)
    paths: list[Path] = []
    for part in raw.split(os.pathsep):
        if part:
            path = _absolute(part, environ)
            if path not in paths:
                paths.append(path)
    if not paths:
        home = settings.home(environ)
        path = Path(home, ".kube", "config")
        return Targets((path,), path)
    existing = [p for p in paths if p.exists()]
    return Targets(tuple(paths), existing[0] if existing else paths[-1])


def mention(text: str, flag: str | None, environ: Mapping[str, str]) -> bool:
    """Whether a kubeconfig file kubectl reads holds `text` (in any case): a test cheap enough
    for `token`'s miss path, before a file is parsed (no YAML is loaded for it)."""
    wanted = text.lower()
    for path in select_targets(flag, environ).paths:
        try:
            found = read_text(path)
        except UsageError:
            continue
        if found is not None and wanted in found.lower():
            return True
    return False


def _absolute(value: str, environ: Mapping[str, str]) -> Path:
    if value == "~" or value.startswith("~/"):
        value = settings.home(environ) + value[1:]
    return Path(os.path.abspath(value))  # noqa: PTH100 - no symlink resolution, unlike resolve()


def read_text(path: Path) -> str | None:
    """The file's text, or None when it does not exist. Opened without blocking: a FIFO (or a
    socket, a directory) is refused, never waited on; a device reads as what it gives at once
    (`/dev/null`: nothing, as kubectl reads it)."""
    try:
        data = read_nonblocking(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(
            f"cannot read the kubeconfig {path} ({exc.strerror or exc}). Check its permissions; "
            "nothing was changed."
        ) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"the kubeconfig {path} is not UTF-8 text (byte {exc.start}). Fix or move it, then "
            "run this again; nothing was changed."
        ) from None


def read_nonblocking(path: Path) -> bytes:
    """A kubeconfig's bytes, opened without blocking (`read_text`); UsageError for a FIFO, a
    socket or a directory."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode):
            return handle.read()
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            return handle.read(_DEVICE_READ_BYTES) or b""
    raise UsageError(
        f"the kubeconfig {path} {private_files.write_target_problem(str(path), follow=True)}: "
        "rgpu-exec reads and writes only a regular file. Choose one with --kubeconfig (or "
        "KUBECONFIG); nothing was changed."
    )


def check_writable(path: Path) -> None:
    """Refuse what the write rule refuses (a device, a FIFO: `KUBECONFIG=/dev/null`), and a
    file the user made read-only (even as root, who could write it anyway)."""
    _check_target(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if not os.access(path, os.W_OK) or not info.st_mode & stat.S_IWUSR:
        raise UsageError(
            f"the kubeconfig {path} is read-only (mode {stat.filemode(info.st_mode)}). Make it "
            f"writable (chmod u+w {path}) or choose another file with --kubeconfig; nothing was "
            "changed."
        )


def _check_target(path: Path) -> None:
    problem = private_files.write_target_problem(str(path), follow=True)
    if problem and path.name.endswith(BACKUP_SUFFIX):
        raise UsageError(
            f"the kubeconfig's backup {path} {problem}. Move it away and run this again; "
            "nothing was changed."
        )
    if problem:
        raise UsageError(
            f"the kubeconfig {path} {problem}. kubectl can read it, but rgpu-exec writes only a "
            "regular file: choose one with --kubeconfig (or KUBECONFIG); nothing was changed."
        )


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + LOCK_SUFFIX)


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + BACKUP_SUFFIX)


@contextlib.contextmanager
def locked(
    paths: list[Path],
    wait: float = LOCK_WAIT_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[None]:
    """Hold `<file>.lock` for each file (in sorted order), waiting at most `wait` seconds each."""
    held: list[Path] = []
    try:
        for path in sorted(set(paths)):
            _ensure_directory(path.parent)
            _acquire(lock_path(path), path, wait, clock, sleep)
            held.append(lock_path(path))
        yield
    finally:
        for lock in reversed(held):
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()


def _acquire(
    lock: Path,
    target: Path,
    wait: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    give_up_at = clock() + wait
    while True:
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _NEW_FILE_MODE)
        except FileExistsError:
            if clock() >= give_up_at:
                raise _lock_busy(lock, target, wait) from None
            sleep(_LOCK_POLL_SECONDS)
            continue
        except OSError as exc:
            raise UsageError(
                f"cannot create the lock file {lock} ({exc.strerror or exc}). Check the "
                "directory's permissions; nothing was changed."
            ) from exc
        os.close(fd)
        return


def _lock_busy(lock: Path, target: Path, wait: float) -> UsageError:
    try:
        age = f"created {_age(time.time() - lock.stat().st_mtime)} ago"
    except OSError:
        age = "of unknown age"
    return UsageError(
        f"{target} is locked by {lock} ({age}); waited {wait:.0f} s. Another kubectl or "
        "rgpu-exec may be writing it. If none is running, the lock is stale (left by a command "
        f"that was killed): delete it with {fixes.command('rm', str(lock))} and run this again. "
        "Nothing was changed."
    )


def _age(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 120:  # noqa: PLR2004
        return f"{seconds:.0f} s"
    if seconds < 7200:  # noqa: PLR2004
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:  # noqa: PLR2004
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def write(path: Path, text: str, previous: str | None) -> Path | None:
    """Replace the file's content atomically; return where the previous content was saved."""
    real = Path(os.path.realpath(path))
    try:
        st: os.stat_result | None = real.stat()
    except FileNotFoundError:
        st = None
    # The file (and its backup) keep its owner: root editing a user's kubeconfig must not make
    # it root's, which would lock the user out of it. The backup goes first, so a file that
    # cannot be given back is refused before the kubeconfig is touched.
    owner = (st.st_uid, st.st_gid) if st is not None else None
    backup = None
    if previous is not None:
        backup = backup_path(path)
        _replace(backup, previous, _NEW_FILE_MODE, owner)
    if st is None:
        _ensure_directory(real.parent)
        _replace(real, text, _NEW_FILE_MODE)
    else:
        _replace(real, text, stat.S_IMODE(st.st_mode), owner)
    return backup


def _replace(path: Path, text: str, mode: int, owner: tuple[int, int] | None = None) -> None:
    _check_target(path)  # the kubeconfig and its backup alike: never a device or a FIFO
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise UsageError(
            f"cannot write in {path.parent} ({exc.strerror or exc}); rgpu-exec writes a temporary "
            "file there and renames it over the kubeconfig. Check the directory's permissions."
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if owner is not None and hasattr(os, "geteuid") and owner != (os.geteuid(), os.getegid()):
            _give_back(temp, path, owner)
        os.chmod(temp, mode)  # noqa: PTH101
        os.replace(temp, path)  # noqa: PTH105
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)  # noqa: PTH108
        raise
    _fsync_directory(path.parent)


def _give_back(temp: str, path: Path, owner: tuple[int, int]) -> None:
    """The new file gets the old one's owner and group, or nothing is written."""
    try:
        os.chown(temp, *owner)
    except OSError as exc:
        raise UsageError(
            f"cannot give the rewritten {path} back to its owner (uid {owner[0]}, gid "
            f"{owner[1]}): {exc.strerror or exc}. Run this as that user; nothing was changed."
        ) from exc


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _ensure_directory(directory: Path) -> None:
    if directory.is_dir():
        return
    try:
        directory.mkdir(mode=_NEW_DIR_MODE, parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create the directory {directory} ({exc.strerror or exc}). Create it, or "
            "choose another file with --kubeconfig."
        ) from exc
