"""Which file kubectl would write, and writing it safely: lock, backup, mode, symlink."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from rgpu_exec.errors import UsageError
from rgpu_exec.kubeconfig import files


def test_flag_wins_over_kubeconfig_variable(tmp_path: Path) -> None:
    env = {"KUBECONFIG": str(tmp_path / "a"), "HOME": str(tmp_path)}
    targets = files.select_targets(str(tmp_path / "mine"), env)
    assert targets.paths == (tmp_path / "mine",)
    assert targets.default == tmp_path / "mine"


def test_kubeconfig_list_drops_duplicates_and_defaults_to_first_existing(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    b.write_text("")
    c.write_text("")
    env = {"KUBECONFIG": os.pathsep.join([str(a), str(b), "", str(a), str(c)])}
    targets = files.select_targets(None, env)
    assert targets.paths == (a, b, c)
    assert targets.default == b


def test_kubeconfig_list_with_no_existing_file_defaults_to_the_last(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    targets = files.select_targets(None, {"KUBECONFIG": f"{a}{os.pathsep}{b}"})
    assert targets.default == b


@pytest.mark.parametrize(
    "value", [pytest.param("", id="unset"), pytest.param(os.pathsep, id="empty")]
)
def test_no_kubeconfig_variable_means_home_kube_config(tmp_path: Path, value: str) -> None:
    targets = files.select_targets(None, {"KUBECONFIG": value, "HOME": str(tmp_path)})
    assert targets.paths == (tmp_path / ".kube" / "config",)


def test_relative_and_tilde_paths_are_made_absolute(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path / "home")}
    assert files.select_targets("~/k", env).default == tmp_path / "home" / "k"
    assert files.select_targets("rel/k", env).default == Path.cwd() / "rel" / "k"


def test_new_file_is_0600_in_a_new_0700_directory(tmp_path: Path) -> None:
    path = tmp_path / ".kube" / "config"
    assert files.write(path, "a: 1\n", None) is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_write_keeps_mode_and_backs_up_the_previous_content(tmp_path: Path) -> None:
    tmp_path = tmp_path / "kube"
    tmp_path.mkdir()
    path = tmp_path / "config"
    path.write_text("old\n")
    path.chmod(0o640)
    backup = files.write(path, "new\n", "old\n")
    assert path.read_text() == "new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert backup == tmp_path / "config.rgpu-exec.bak"
    assert backup.read_text() == "old\n"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config", "config.rgpu-exec.bak"]


def test_symlinked_kubeconfig_is_written_through_to_its_target(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "kubeconfig"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "config"
    link.symlink_to(real)
    files.write(link, "new\n", "old\n")
    assert link.is_symlink()
    assert real.read_text() == "new\n"
    assert (tmp_path / "config.rgpu-exec.bak").read_text() == "old\n"
    assert sorted(p.name for p in real.parent.iterdir()) == ["kubeconfig"]


def test_read_only_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("x\n")
    path.chmod(0o400)
    with pytest.raises(UsageError, match="read-only"):
        files.check_writable(path)
    files.check_writable(tmp_path / "missing")  # a file to create is fine


def test_lock_is_kubectls_lock_file_and_is_released(tmp_path: Path) -> None:
    path = tmp_path / "config"
    with files.locked([path]):
        assert (tmp_path / "config.lock").exists()
    assert not (tmp_path / "config.lock").exists()


def test_lock_is_released_on_error(tmp_path: Path) -> None:
    path = tmp_path / "config"
    with pytest.raises(RuntimeError), files.locked([path]):
        raise RuntimeError
    assert not (tmp_path / "config.lock").exists()


def test_held_lock_waits_a_bounded_time_then_reports_its_age(tmp_path: Path) -> None:
    path = tmp_path / "config"
    lock = tmp_path / "config.lock"
    lock.write_text("")
    hour_ago = lock.stat().st_mtime - 3 * 3600
    os.utime(lock, (hour_ago, hour_ago))
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with (
        pytest.raises(UsageError) as caught,
        files.locked([path], wait=1.0, clock=lambda: now[0], sleep=sleep),
    ):
        pytest.fail("must not get the lock")
    message = str(caught.value)
    assert 1.0 <= now[0] < 1.2
    assert "created 3 h ago" in message
    assert f"rm {lock}" in message
    assert lock.exists()  # someone else's lock is never removed for them


def test_lock_taken_when_released_during_the_wait(tmp_path: Path) -> None:
    path = tmp_path / "config"
    lock = tmp_path / "config.lock"
    lock.write_text("")
    calls = []

    def sleep(seconds: float) -> None:
        calls.append(seconds)
        lock.unlink()

    with files.locked([path], wait=5.0, sleep=sleep):
        assert lock.exists()
    assert len(calls) == 1
