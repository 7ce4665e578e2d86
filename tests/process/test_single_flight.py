"""Single flight across processes: the cache-hit path's early lock and the full command's filelock
are the same lock, and a process that waits for another's exchange loads nothing costly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import filelock

from rgpu_exec.hotpath import entry_lock, private_files, token_cache

from conftest import API_KEY, NAMESPACE_ID, key_identity

API = "https://api.example.test"  # never reached: every answer here comes from the cache


def stem() -> str:
    return token_cache.entry_stem(API, NAMESPACE_ID, key_identity())


def start_plugin(rgpu_exec_bin: str) -> subprocess.Popen[str]:
    env = dict(os.environ, REMOTEGPU_API_KEY=API_KEY)
    argv = [sys.executable, "-X", "importtime", rgpu_exec_bin, "token", "--namespace-id", NAMESPACE_ID, "--api-url", API]  # fmt: skip
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def fresh_entry(token: str) -> token_cache.Entry:
    now = time.time()
    return token_cache.Entry(
        token_cache.CacheKey(API, NAMESPACE_ID, key_identity()),
        now,
        now + 900,
        token,
    )


def test_a_waiting_process_answers_from_the_cache_without_costly_imports(
    rgpu_exec_bin: str, sandbox: Path
) -> None:
    cache = str(sandbox / "cache")
    private_files.ensure_directory(cache)
    # Another process is exchanging: it holds the entry's lock through filelock, as the full
    # command does.
    with filelock.FileLock(str(Path(cache, stem() + token_cache.LOCK_SUFFIX))):
        waiter = start_plugin(rgpu_exec_bin)
        time.sleep(1.0)
        assert waiter.poll() is None, "the plugin waits for the lock"
        token_cache.write_entry(cache, fresh_entry("from-the-exchanger"))
    out, err = waiter.communicate(timeout=30)

    assert waiter.returncode == 0, err
    assert json.loads(out)["status"]["token"] == "from-the-exchanger"
    modules = {line.rsplit("|", 1)[1].strip() for line in err.splitlines() if "|" in line}
    assert "rgpu_exec.hotpath.entry_lock" in modules
    assert not modules & {"httpx", "pydantic", "filelock", "json", "rgpu_exec.cli"}


def test_the_early_lock_excludes_filelock_and_back(sandbox: Path) -> None:
    cache = str(sandbox / "cache")
    private_files.ensure_directory(cache)
    path = str(Path(cache, stem() + token_cache.LOCK_SUFFIX))

    assert entry_lock.acquire(path, stem(), time.monotonic() + 1)
    try:
        assert entry_lock.held(stem())
        other = filelock.FileLock(path, timeout=0.2)
        try:
            other.acquire()
        except filelock.Timeout:
            pass
        else:
            other.release()
            raise AssertionError("filelock got a lock the early lock holds")
    finally:
        entry_lock.release(stem())
    assert not entry_lock.held(stem())

    with filelock.FileLock(path):
        started = time.monotonic()
        assert not entry_lock.acquire(path, stem(), time.monotonic() + 0.3)
        assert time.monotonic() - started >= 0.3, "it waited, bounded"
        assert entry_lock.held(stem()), "after a wait in vain the full command does not wait again"
    entry_lock.release(stem())


def test_a_symlinked_lock_is_not_followed(sandbox: Path) -> None:
    cache = sandbox / "cache"
    private_files.ensure_directory(str(cache))
    target = sandbox / "elsewhere"
    target.write_text("keep")
    path = cache / (stem() + token_cache.LOCK_SUFFIX)
    path.symlink_to(target)
    assert not entry_lock.acquire(str(path), stem(), time.monotonic() + 0.1)
    assert not entry_lock.held(stem())
    assert target.read_text() == "keep"
