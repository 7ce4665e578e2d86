"""The exec command `generate` and `import` write by default: the launcher the user ran, by the
path a reinstall puts back (pipx's link on PATH), never resolved into the virtual environment;
on Windows (simulated) the `kubectl-rgpu.exe` entry point, the only kind of file kubectl runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rgpu_exec.errors import UsageError
from rgpu_exec.kubeconfig import launcher
from rgpu_exec.kubeconfig.launcher import Process, default_command

from conftest import NAMESPACE_ID


def executable(path: Path, text: str = "#!/usr/bin/env python3\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def pipx(tmp_path: Path) -> dict[str, Path]:
    """pipx's layout: the launcher in a virtual environment, linked from ~/.local/bin."""
    venv_bin = tmp_path / "pipx" / "venvs" / "rgpu-exec" / "bin"
    launcher_file = executable(venv_bin / "rgpu-exec")
    executable(venv_bin / "python")
    plugin = executable(venv_bin / "kubectl-rgpu")
    local_bin = tmp_path / "home" / ".local" / "bin"
    local_bin.mkdir(parents=True)
    (local_bin / "rgpu-exec").symlink_to(launcher_file)
    (local_bin / "kubectl-rgpu").symlink_to(plugin)
    return {"venv_bin": venv_bin, "local_bin": local_bin}


def test_a_run_through_the_link_on_path_writes_the_link_not_the_venv(pipx) -> None:
    link = pipx["local_bin"] / "rgpu-exec"
    ran = Process(str(link), str(pipx["venv_bin"] / "python"), platform="linux")
    path = f"{pipx['local_bin']}:/usr/bin"
    assert default_command({"PATH": path}, ran) == str(link)


def test_the_venv_launcher_run_by_its_path_writes_the_link_that_path_finds(pipx) -> None:
    # The same file, reached through PATH's link: the link is what survives `pipx reinstall`.
    ran = Process(str(pipx["venv_bin"] / "rgpu-exec"), str(pipx["venv_bin"] / "python"))
    path = f"/nowhere:{pipx['local_bin']}"
    assert default_command({"PATH": path}, ran) == str(pipx["local_bin"] / "rgpu-exec")


def test_a_launcher_no_path_entry_reaches_is_written_as_it_was_run(pipx) -> None:
    ran = Process(str(pipx["venv_bin"] / "rgpu-exec"), str(pipx["venv_bin"] / "python"))
    assert default_command({"PATH": "/usr/bin"}, ran) == str(pipx["venv_bin"] / "rgpu-exec")


def test_another_installation_earlier_on_path_is_not_the_one_written(pipx, tmp_path) -> None:
    other = executable(tmp_path / "other" / "rgpu-exec")
    link = pipx["local_bin"] / "rgpu-exec"
    ran = Process(str(link), str(pipx["venv_bin"] / "python"))
    path = f"{other.parent}:{pipx['local_bin']}"
    assert default_command({"PATH": path}, ran) == str(link)


def test_a_relative_argv0_is_made_absolute_without_following_the_link(
    pipx, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(pipx["local_bin"])
    ran = Process("./rgpu-exec", str(pipx["venv_bin"] / "python"))
    assert default_command({"PATH": "/usr/bin"}, ran) == str(pipx["local_bin"] / "rgpu-exec")


def test_a_run_as_kubectl_rgpu_writes_the_launcher_beside_it(pipx) -> None:
    ran = Process(str(pipx["local_bin"] / "kubectl-rgpu"), str(pipx["venv_bin"] / "python"))
    assert default_command({"PATH": "/usr/bin"}, ran) == str(pipx["local_bin"] / "rgpu-exec")


def test_python_dash_m_writes_the_launcher_beside_the_interpreter(pipx, tmp_path) -> None:
    ran = Process(str(tmp_path / "rgpu_exec" / "__main__.py"), str(pipx["venv_bin"] / "python"))
    path = str(pipx["local_bin"])
    assert default_command({"PATH": path}, ran) == str(pipx["local_bin"] / "rgpu-exec")
    assert default_command({"PATH": "/usr/bin"}, ran) == str(pipx["venv_bin"] / "rgpu-exec")


def test_a_file_that_cannot_be_executed_or_a_relative_path_entry_is_never_written(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    not_executable = tmp_path / "bin" / "rgpu-exec"
    not_executable.parent.mkdir()
    not_executable.write_text("")
    executable(tmp_path / "relative" / "rgpu-exec")
    monkeypatch.chdir(tmp_path)
    ran = Process(str(not_executable), str(tmp_path / "nowhere" / "python"))
    with pytest.raises(UsageError, match="Pass its path with --exec-command"):
        default_command({"PATH": f"relative:{not_executable.parent}"}, ran)


def test_on_windows_the_entry_point_exe_is_written_never_the_script(tmp_path) -> None:
    # pipx on Windows copies the entry points into ~/.local/bin; pip's wrapper gives argv[0]
    # without `.exe`. The `rgpu-exec` script beside them is no program for kubectl there.
    scripts = tmp_path / "venv" / "Scripts"
    executable(scripts / "rgpu-exec")
    executable(scripts / "kubectl-rgpu.exe", "MZ")
    local_bin = tmp_path / "local" / "bin"
    copy = executable(local_bin / "kubectl-rgpu.exe", "MZ")
    executable(local_bin / "rgpu-exec")
    windows = "win32"
    ran = Process(str(local_bin / "kubectl-rgpu"), str(scripts / "python.exe"), platform=windows)
    assert default_command({"PATH": f"{local_bin};C:\\Windows"}, ran) == str(copy)
    # The script run by its path (`python Scripts\rgpu-exec`): the entry point beside it.
    by_script = Process(
        str(scripts / "rgpu-exec"), str(tmp_path / "py" / "python.exe"), None, windows
    )
    assert default_command({"PATH": ""}, by_script) == str(scripts / "kubectl-rgpu.exe")
    # Nothing but scripts on PATH: no command kubectl could run is found.
    bare = Process("", str(tmp_path / "py" / "python.exe"), str(tmp_path / "py"), windows)
    with pytest.raises(UsageError):
        default_command({"PATH": str(scripts.parent / "none")}, bare)


def test_generate_writes_the_link_the_user_ran(
    run_cli, pipx, sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = pipx["local_bin"] / "rgpu-exec"
    ran = Process(str(link), str(pipx["venv_bin"] / "python"))
    monkeypatch.setattr(launcher.Process, "current", classmethod(lambda _cls: ran))
    result = run_cli(
        ["kubeconfig", "generate", "--namespace", "team-ml", "--namespace-id", NAMESPACE_ID,
         "--server", "https://k8s.example.test", "--no-verify"],
        env={"PATH": f"{pipx['local_bin']}:/usr/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = yaml.safe_load((sandbox / "kubeconfig").read_text())
    assert written["users"][0]["user"]["exec"]["command"] == str(link)
