"""The single-flight lock of one cache entry, taken before any costly import.

Standard library only: the cache-hit path imports this module on a miss. On a miss, the cache-hit
path (`_fast`) takes the entry's lock (`<stem>.lock`, an exclusive `flock`) within a few
milliseconds of starting, waits a bounded time for it, and reads the cache again. The first
process of a herd keeps the lock while the full command loads httpx and pydantic and exchanges;
the others wait here, then answer from the cache it wrote, without loading anything more.

The full command takes the same lock with filelock, which also uses `flock` on the same file,
unless this process already holds it (`held`). Where `fcntl` does not exist (Windows), nothing
is taken here and the full command's filelock does all the locking.
"""

from __future__ import annotations

import os
import time

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_POLL_SECONDS = 0.01
# The bounded wait for another process's exchange of the same entry is that exchange's deadline
# plus this; after it, exchange anyway rather than hang kubectl (it has no timeout on plugins).
WAIT_GRACE = 2.0

# Stems whose lock this process has dealt with: the open descriptor holding it, or None when the
# bounded wait ran out (the full command must then exchange without waiting a second time).
_dealt_with: dict[str, int | None] = {}


def acquire(lock_path: str, stem: str, give_up_at: float) -> bool:
    """Hold the lock at `lock_path` (created 0600 if needed, never through a symlink).

    Waits until `give_up_at` (time.monotonic()); False when the wait ran out or the lock cannot
    be taken here at all. Either way the full command will not take it again (`held`).
    """
    try:
        import fcntl  # noqa: PLC0415 - only on a miss, and only where it exists
    except ImportError:
        return False
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
        _dealt_with[stem] = fd
        return True


def held(stem: str) -> bool:
    """Whether this process already holds the entry's lock, or already waited for it in vain."""
    return stem in _dealt_with


def release(stem: str) -> None:
    fd = _dealt_with.pop(stem, None)
    if fd is not None:
        os.close(fd)  # closing the descriptor releases the flock
