"""Which shell `rgpu-exec completion` writes for when none is named (`completion.detect_shell`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rgpu_exec.usecases.completion import detect_shell


def fake_proc(tmp_path: Path, parent: str) -> str:
    comm = tmp_path / str(os.getppid()) / "comm"
    comm.parent.mkdir()
    comm.write_text(parent + "\n", encoding="utf-8")
    return str(tmp_path)


@pytest.mark.parametrize(
    ("parent", "login", "chosen"),
    [
        pytest.param("bash", "/bin/zsh", "bash", id="running-shell-beats-login-shell"),
        pytest.param("-zsh", "", "zsh", id="login-shell-parent"),
        pytest.param("make", "/opt/homebrew/bin/fish", "fish", id="not-a-shell-parent"),
        pytest.param("make", "/bin/tcsh", None, id="unknown-login-shell"),
        pytest.param("make", "", None, id="no-shell-at-all"),
        pytest.param("make", "  /bin/zsh  ", "zsh", id="blank-padded"),
    ],
)
def test_the_running_shell_then_the_login_shell(tmp_path, parent, login, chosen):
    proc = fake_proc(tmp_path, parent)
    assert detect_shell({"SHELL": login}, proc=proc) == chosen


def test_without_proc_the_login_shell_decides(tmp_path):
    missing = str(tmp_path / "no-proc")
    assert detect_shell({"SHELL": "/bin/zsh"}, proc=missing) == "zsh"
    assert detect_shell({}, proc=missing) is None
