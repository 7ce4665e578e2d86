"""`doctor` on an exec command kubectl cannot start: what kubectl shows for it (a path: `fork/exec
…: no such file or directory`, no installHint; a bare name: the installHint), and a fix that
works as printed: run here, it writes the stanza again with the launcher the user runs."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from rgpu_exec.kubeconfig import launcher
from rgpu_exec.kubeconfig.launcher import Process

from conftest import NAMESPACE_ID, RunCli, rgpu_exec_user, write_kubeconfig

API_URL = "http://127.0.0.1:9"  # nothing listens: the doctor's probe fails at once


def install(root: Path) -> Path:
    """A virtual environment's launcher (a file that runs), as pip installs it."""
    launcher_file = root / "bin" / "rgpu-exec"
    launcher_file.parent.mkdir(parents=True)
    launcher_file.write_text("#!/usr/bin/env python3\n")
    launcher_file.chmod(0o755)
    (root / "bin" / "python").write_text("")
    return launcher_file


@pytest.fixture
def reinstalled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """rgpu-exec installed again in a new virtual environment, linked from ~/.local/bin as pipx
    does, and run through that link: the old environment is gone."""
    new = install(tmp_path / "venvs" / "new")
    local_bin = tmp_path / "home" / ".local" / "bin"
    local_bin.mkdir(parents=True)
    link = local_bin / "rgpu-exec"
    link.symlink_to(new)
    ran = Process(str(link), str(new.parent / "python"))
    monkeypatch.setattr(launcher.Process, "current", classmethod(lambda _cls: ran))
    return {"link": link, "local_bin": local_bin}


def doctor(run_cli: RunCli, path: Path, *args: str) -> list[dict[str, Any]]:
    result = run_cli(["doctor", "-o", "json", *args], env={"PATH": str(path)})
    return list(json.loads(result.stdout)["findings"])


def gone(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # (`kind` is the doctor's own, not in its JSON document: the detail says it)
    return [f for f in found if f["status"] == "problem" and ": the exec command " in f["detail"]]


def the_command_in(fix: str) -> list[str]:
    (command,) = re.findall(r"`([^`]+)`", fix)[:1]
    return shlex.split(command)


def test_a_moved_venv_is_named_and_its_fix_writes_the_link_as_printed(
    run_cli, reinstalled, sandbox, tmp_path
) -> None:
    old = install(tmp_path / "venvs" / "old")
    written = run_cli(
        ["kubeconfig", "generate", "--namespace", "team-ml", "--namespace-id", NAMESPACE_ID,
         "--server", "https://k8s.example.test", "--context", "my team", "--api-url", API_URL,
         "--profile", "ci", "--interactive-mode", "Never", "--exec-command", str(old),
         "--no-verify"],
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    shutil.rmtree(tmp_path / "venvs" / "old")

    (finding,) = gone(doctor(run_cli, reinstalled["local_bin"]))
    assert f"fork/exec {old}: no such file or directory`" in finding["detail"]
    assert "no installHint" in finding["detail"]
    words = the_command_in(finding["fix"])
    assert words == [
        "rgpu-exec", "kubeconfig", "generate", "--namespace", "team-ml", "--namespace-id",
        NAMESPACE_ID, "--server", "https://k8s.example.test", "--context", "my team",
        "--api-url", API_URL, "--profile", "ci", "--interactive-mode", "Never", "--no-verify",
    ]  # fmt: skip
    assert "`rgpu-exec kubeconfig generate" in finding["fix"]
    assert "--context 'my team'" in finding["fix"]  # quoted for the shell

    fixed = run_cli(words[1:], env={"PATH": str(reinstalled["local_bin"])})
    assert fixed.returncode == 0, fixed.stderr
    users = yaml.safe_load((sandbox / "kubeconfig").read_text())["users"]
    assert [u["user"]["exec"]["command"] for u in users] == [str(reinstalled["link"])]
    assert gone(doctor(run_cli, reinstalled["local_bin"])) == []


def test_a_link_whose_target_is_gone_is_told_as_such(run_cli, sandbox, tmp_path) -> None:
    old = install(tmp_path / "venvs" / "old")
    link = tmp_path / "bin" / "rgpu-exec"
    link.parent.mkdir()
    link.symlink_to(old)
    write_kubeconfig(sandbox / "kubeconfig", {"a": rgpu_exec_user(command=str(link))})
    shutil.rmtree(tmp_path / "venvs")

    (finding,) = gone(doctor(run_cli, tmp_path / "bin"))
    assert f"is a link to {old}, which no longer exists" in finding["detail"]
    assert f"fork/exec {link}: no such file or directory" in finding["detail"]


def test_a_bare_name_not_on_path_is_told_with_the_install_hint(run_cli, sandbox, tmp_path) -> None:
    write_kubeconfig(sandbox / "kubeconfig", {"a": rgpu_exec_user(command="rgpu-exec")})
    (finding,) = gone(doctor(run_cli, tmp_path / "empty"))
    assert (
        "'rgpu-exec' is not found on PATH, so kubectl shows the stanza's installHint"
        in (finding["detail"])
    )


def test_a_file_that_is_not_executable_is_told_as_permission_denied(
    run_cli, sandbox, tmp_path
) -> None:
    plain = tmp_path / "rgpu-exec"
    plain.write_text("")
    write_kubeconfig(sandbox / "kubeconfig", {"a": rgpu_exec_user(command=str(plain))})
    (finding,) = gone(doctor(run_cli, tmp_path))
    assert f"fork/exec {plain}: permission denied" in finding["detail"]


def test_entries_generate_did_not_name_get_the_users_command_alone(
    run_cli, reinstalled, sandbox, tmp_path
) -> None:
    # write_kubeconfig names the cluster `rgpu` and the user after its context: generate would
    # write entries of its own beside them, so the fix changes the user's command only.
    kubeconfig = write_kubeconfig(
        sandbox / "kubeconfig", {"a b": rgpu_exec_user(command=str(tmp_path / "old" / "rgpu-exec"))}
    )
    (finding,) = gone(doctor(run_cli, reinstalled["local_bin"]))
    link = reinstalled["link"]
    # kubectl's --exec-command alone writes `args: null`: the fix gives the args again.
    assert finding["fix"] == (
        f"run `kubectl config set-credentials 'a b' --exec-command={link} --exec-arg=token "
        f"--exec-arg=--namespace-id --exec-arg={NAMESPACE_ID} --kubeconfig {kubeconfig}`"
    )


def test_the_fix_names_the_kubeconfig_doctor_was_told_to_read(
    run_cli, reinstalled, sandbox, tmp_path
) -> None:
    other = tmp_path / "elsewhere.yaml"
    run_cli(
        ["kubeconfig", "generate", "--namespace", "team-ml", "--namespace-id", NAMESPACE_ID,
         "--server", "https://k8s.example.test", "--exec-command", str(tmp_path / "old" / "rgpu-exec"),
         "--kubeconfig", str(other), "--no-verify"],
    )  # fmt: skip
    (finding,) = gone(doctor(run_cli, reinstalled["local_bin"], "--kubeconfig", str(other)))
    assert the_command_in(finding["fix"])[-3:] == ["--kubeconfig", str(other), "--no-verify"]
