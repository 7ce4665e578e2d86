"""The key file of `login --insecure-storage` is changed under a lock: concurrent processes (the
point of these tests, so they start real ones) never lose one another's profiles, and a
`logout` racing a `login` really deletes what it says it deleted."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from rgpu_exec.credentials import file_store

from conftest import API_KEY

ROUNDS = 4


def _start(rgpu_exec_bin: str, *args: str, stdin: Path | None = None) -> subprocess.Popen[str]:
    """Started at once, its stdin read from a file (so that all of them run together)."""
    with (stdin or Path(os.devnull)).open() as source:
        return subprocess.Popen(
            [rgpu_exec_bin, *args],
            stdin=source,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def _finish(processes: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    done = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        done.append((process.returncode, out, err))
    return done


def _login(rgpu_exec_bin: str, profile: str) -> subprocess.Popen[str]:
    key = Path(os.environ["HOME"]) / "typed-key"
    key.write_text(API_KEY)
    args = ("login", "--no-verify", "--insecure-storage", "--profile", profile)
    return _start(rgpu_exec_bin, *args, stdin=key)


def _profiles() -> list[str]:
    return file_store.status(os.environ).profiles


def test_twelve_concurrent_logins_keep_twelve_profiles(rgpu_exec_bin, sandbox: Path):
    wanted = [f"p{i}" for i in range(12)]

    results = _finish([_login(rgpu_exec_bin, profile) for profile in wanted])

    for code, out, err in results:
        assert code == 0, err
        assert "stored the API key" in out
    assert _profiles() == sorted(wanted)  # every "stored" is true: no lost update
    assert all(file_store.get_key(p, os.environ) == API_KEY for p in wanted)


def test_a_logout_racing_a_login_really_deletes(rgpu_exec_bin, sandbox: Path):
    for round_ in range(ROUNDS):
        assert _finish([_login(rgpu_exec_bin, "leaving")])[0][0] == 0
        other = f"arriving{round_}"
        logout = _start(rgpu_exec_bin, "logout", "--profile", "leaving")

        (out_code, out, out_err), (in_code, _, in_err) = _finish(
            [
                logout,
                _login(rgpu_exec_bin, other),
            ]
        )

        assert out_code == 0, out_err
        assert in_code == 0, in_err
        assert "deleted the API key of profile 'leaving' from the key file" in out
        profiles = _profiles()
        assert "leaving" not in profiles, f"round {round_}: logout said deleted, the key stayed"
        assert other in profiles
