"""The single-flight lock of one cache entry: one implementation for both paths of `token`.

Standard library only: the cache-hit path takes the lock on a miss, within a few milliseconds of
starting and before any costly import. The first process of a herd keeps it while the full
command (in the same process) loads httpx and pydantic and exchanges; the others wait here, then
answer from the cache it wrote, without loading anything more.

The lock is `<stem>.lock` beside the entry (never the entry itself), created 0600 and never
through a symlink, held with an exclusive `flock`. Where `fcntl` does not exist (Windows),
filelock takes the same file instead. Waits are bounded: after `give_up_at`, the caller goes on
without the lock rather than hang kubectl (which has no timeout on plugins).
"""

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_POLL_SECONDS = 0.01
# The bounded wait for another process's exchange of the same entry is that exchange's deadline
# plus this; after it, exchange anyway.
WAIT_GRACE = 2.0

# Stems whose lock this process has dealt with: how to release it, or None when the bounded wait
# ran out (the same process must then go on without waiting a second time).
_dealt_with: "dict[str, Callable[[], None] | None]" = {}


def acquire(lock_path: str, stem: str, give_up_at: float) -> bool:
    """Hold the lock at `lock_path`, waiting until `give_up_at` (time.monotonic()).

    False when the wait ran out or the lock cannot be taken at all; either way this process will
    not wait for it again (`held`).
    """
    try:
        import fcntl  # noqa: PLC0415 - only on a miss, and only where it exists
    except ImportError:
        return _acquire_with_filelock(lock_path, stem, give_up_at)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | _O_NOFOLLOW | _O_CLOEXEC, 0o600)
    except OSError:
        return False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= give_up_at:
                os.close(fd)
                _dealt_with[stem] = None
                return False
            time.sleep(_POLL_SECONDS)
            continue
        except OSError:
            os.close(fd)
            return False
        _dealt_with[stem] = lambda: os.close(fd)  # closing the descriptor releases the flock
        return True


def _acquire_with_filelock(lock_path: str, stem: str, give_up_at: float) -> bool:
    import filelock  # noqa: PLC0415 - platforms without fcntl only

    lock = filelock.FileLock(lock_path, mode=0o600)
    try:
        lock.acquire(timeout=max(give_up_at - time.monotonic(), 0.0))
    except filelock.Timeout:
        _dealt_with[stem] = None
        return False
    except OSError:
        return False
    _dealt_with[stem] = lock.release
    return True


def held(stem: str) -> bool:
    """Whether this process already holds the entry's lock, or already waited for it in vain."""
    return stem in _dealt_with


def holds(stem: str) -> bool:
    """Whether this process holds the entry's lock now."""
    return _dealt_with.get(stem) is not None


def release(stem: str) -> None:
    unlock = _dealt_with.pop(stem, None)
    if unlock is not None:
        unlock()
