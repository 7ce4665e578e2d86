"""The entry lock's bounded wait and its file (`hotpath.entry_lock`), pinned where mutation testing
(`make mutation`) found no test holding them: a taker at or past its deadline gives up without
waiting, a lock the file system cannot take is refused, and the lock file filelock takes (where
`fcntl` does not exist) is private too."""

from __future__ import annotations

import errno
import fcntl
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import filelock  # noqa: F401 - loaded before fcntl is hidden, as where filelock has a lock to use
import pytest

from rgpu_exec.hotpath import entry_lock

if TYPE_CHECKING:
    from conftest import Clock


@pytest.fixture
def lock_path(tmp_path: Path):
    yield str(tmp_path / "entry.lock")
    for stem in ("first", "second"):
        entry_lock.release(stem)
        entry_lock._dealt_with.pop(stem, None)


def test_a_taker_whose_deadline_is_now_gives_up_without_another_poll(
    lock_path: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The lock's waits on the test's clock: a poll is a recorded sleep, not a real one.
    monkeypatch.setattr(
        entry_lock, "time", SimpleNamespace(monotonic=clock.monotonic, sleep=clock.sleep)
    )
    assert entry_lock.acquire(lock_path, "first", clock.monotonic() + 5)

    assert not entry_lock.acquire(lock_path, "second", clock.monotonic())
    assert clock.sleeps == [], "at its deadline it gives up at once"
    assert entry_lock.held("second"), "a wait that ran out: not waited for again"


def test_a_lock_the_file_system_cannot_take_is_refused_at_once(
    lock_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # flock fails other than by a conflict (ENOLCK: a network file system without locks).
    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", no_locks)

    assert entry_lock.acquire(lock_path, "first", time.monotonic() + 5) is False
    assert not entry_lock.held("first"), "a refusal is not a wait that ran out"


def test_without_fcntl_a_taker_past_its_deadline_gives_up_at_once(
    lock_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "fcntl", None)  # as on Windows
    assert entry_lock.acquire(lock_path, "first", time.monotonic() + 5)

    started = time.monotonic()
    assert not entry_lock.acquire(lock_path, "second", started - 1)
    assert time.monotonic() - started < 0.5, "no wait past a deadline already gone"
    assert entry_lock.held("second")


def test_without_fcntl_the_lock_file_is_private(lock_path: str, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "fcntl", None)

    assert entry_lock.acquire(lock_path, "first", time.monotonic() + 1)
    assert Path(lock_path).stat().st_mode & 0o777 == 0o600
