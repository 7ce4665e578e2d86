"""The entry lock's rules, in one process: flock conflicts between two open descriptions of the
same file even within a process, so the bounded wait and the refusals need no second process
(the herds that hold it across processes are in tests/process/test_single_flight.py)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import filelock  # noqa: F401 - loaded before fcntl is hidden, as where filelock has a lock to use
import pytest

from rgpu_exec.hotpath import entry_lock


@pytest.fixture
def lock_path(tmp_path: Path):
    yield str(tmp_path / "entry.lock")
    for stem in ("first", "second", "third"):
        entry_lock.release(stem)
        entry_lock._dealt_with.pop(stem, None)


def test_a_held_lock_makes_the_next_taker_give_up_at_its_deadline(lock_path: str) -> None:
    assert entry_lock.acquire(lock_path, "first", time.monotonic() + 5)
    assert entry_lock.holds("first")
    assert entry_lock.held("first")

    started = time.monotonic()
    assert not entry_lock.acquire(lock_path, "second", started + 0.05)
    assert time.monotonic() - started >= 0.05, "it waited until its deadline"
    assert entry_lock.held("second"), "it will not wait a second time"
    assert not entry_lock.holds("second")

    entry_lock.release("first")
    assert not entry_lock.held("first")
    assert entry_lock.acquire(lock_path, "third", time.monotonic())


def test_the_lock_file_is_private_and_never_taken_through_a_symlink(
    lock_path: str, tmp_path: Path
) -> None:
    assert entry_lock.acquire(lock_path, "first", time.monotonic())
    assert Path(lock_path).stat().st_mode & 0o777 == 0o600
    entry_lock.release("first")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("")
    link = tmp_path / "linked.lock"
    link.symlink_to(elsewhere)
    assert not entry_lock.acquire(str(link), "second", time.monotonic() + 1)
    assert not entry_lock.held("second"), "a refusal is not a wait that ran out"


def test_without_fcntl_filelock_takes_the_same_file(lock_path: str, monkeypatch) -> None:
    assert "filelock" in sys.modules
    monkeypatch.setitem(sys.modules, "fcntl", None)  # as on Windows

    assert entry_lock.acquire(lock_path, "first", time.monotonic() + 5)
    assert entry_lock.holds("first")
    assert not entry_lock.acquire(lock_path, "second", time.monotonic() + 0.05)
    assert entry_lock.held("second")
    assert not entry_lock.holds("second")
    entry_lock.release("first")
    assert entry_lock.acquire(lock_path, "third", time.monotonic() + 1)


def test_without_fcntl_a_lock_that_cannot_be_made_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "fcntl", None)
    blocked = tmp_path / "file"
    blocked.write_text("")

    assert not entry_lock.acquire(str(blocked / "entry.lock"), "first", time.monotonic() + 1)
    assert not entry_lock.held("first")
