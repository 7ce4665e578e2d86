"""Crashes mid-refresh and hostile local files: the cache never holds a bad entry, kubectl still
gets a credential, and nothing outside the cache is ever written."""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rgpu_exec.hotpath import token_cache

from conftest import NAMESPACE_ID, key_identity

if TYPE_CHECKING:
    from emulator_support import Exchange


def cache_files(cache: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {"token": [], "tmp": [], "other": []}
    for path in cache.iterdir() if cache.exists() else []:
        kind = path.suffix.lstrip(".")
        found["token" if kind == "token" else "tmp" if kind == "tmp" else "other"].append(path)
    return found


@pytest.mark.long
@pytest.mark.xdist_group("timed")  # 100 timed kills: never beside another timed test
def test_sigkill_at_random_points_never_leaves_a_bad_entry(
    rgpu_exec_bin, emulated_exchange: Exchange, sandbox
) -> None:
    cache = sandbox / "cache"
    rng = random.Random(1234)
    emulated_exchange.harness.client.add_fault(target="exchange", delay=0.02, count=None)
    argv = [rgpu_exec_bin, *emulated_exchange.args()]
    trials = 100
    killed_mid_flight = 0
    for trial in range(trials):
        for path in cache.glob("*.token"):
            path.unlink()  # make every trial a refresh
        process = subprocess.Popen(
            argv,
            env=emulated_exchange.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(rng.uniform(0.0, 0.35))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        if process.returncode == -signal.SIGKILL:
            killed_mid_flight += 1
        for entry_file in cache_files(cache)["token"]:
            stem = entry_file.name.removesuffix(".token")
            entry = token_cache.parse_entry(entry_file.read_text())
            assert entry is not None, f"trial {trial}: partial or invalid entry {entry_file}"
            assert stem == entry.key.stem
        # A killed process's lock never blocks the next call beyond the bounded wait.
        started = time.monotonic()
        follow_up = subprocess.run(
            argv,
            env=emulated_exchange.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert follow_up.returncode == 0, f"trial {trial}: {follow_up.stderr}"
        assert emulated_exchange.issued(json.loads(follow_up.stdout)["status"]["token"])
        assert time.monotonic() - started < 10
    assert killed_mid_flight >= trials // 4, "enough trials were really cut short"
    leftovers = cache_files(cache)["tmp"]
    # A temp file of a killed writer may remain; it is never read as an entry and never grows.
    assert all(p.stat().st_size < 4096 for p in leftovers)


def test_an_insecure_cache_directory_is_refused_but_kubectl_gets_a_token(
    run_token_in_process, sandbox
) -> None:
    cache = sandbox / "cache"
    cache.mkdir()
    cache.chmod(0o777)
    result = run_token_in_process()
    assert result.returncode == 0
    assert json.loads(result.stdout)["status"]["token"] == "fake-token-1"
    assert "not using the token cache" in result.stderr
    assert "writable by other users" in result.stderr
    assert list(cache.iterdir()) == [], "nothing written into a directory others can write"


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a directory's owner needs root")
def test_a_foreign_owned_cache_directory_is_refused(run_token_in_process, sandbox) -> None:
    cache = sandbox / "cache"
    cache.mkdir(mode=0o700)
    os.chown(cache, 12345, 12345)
    result = run_token_in_process()
    assert result.returncode == 0
    assert "owned by another user" in result.stderr


@pytest.mark.parametrize("suffix", [".token", ".lock", ".fail"])
def test_symlinks_in_the_cache_are_never_followed(
    run_token_in_process, fake_api, sandbox, suffix
) -> None:
    cache = sandbox / "cache"
    cache.mkdir(mode=0o700)
    precious = sandbox / "home" / "precious.txt"
    precious.write_text("do not touch\n")
    stem = token_cache.entry_stem(fake_api.url, NAMESPACE_ID, key_identity())
    (cache / f"{stem}{suffix}").symlink_to(precious)

    first = run_token_in_process()
    second = run_token_in_process()

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert precious.read_text() == "do not touch\n"
    assert json.loads(first.stdout)["status"]["token"] == "fake-token-1"


def _no_file_writes() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def test_a_full_disk_still_prints_the_credential_with_one_warning(
    rgpu_exec_bin, emulated_exchange: Exchange, sandbox
) -> None:
    result = subprocess.run(
        [rgpu_exec_bin, *emulated_exchange.args()],
        env=emulated_exchange.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_no_file_writes,
    )
    assert result.returncode == 0, result.stderr
    assert emulated_exchange.issued(json.loads(result.stdout)["status"]["token"])
    assert emulated_exchange.count == 1
    warnings = [line for line in result.stderr.splitlines() if line]
    assert len(warnings) == 1
    assert warnings[0].startswith("rgpu-exec: warning: could not save the token")
    assert list((sandbox / "cache").glob("*.token")) == []
