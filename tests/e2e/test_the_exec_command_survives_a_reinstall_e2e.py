"""The exec command against real kubectl and the emulator, in pipx's layout: a launcher inside a
virtual environment, linked from a folder on PATH. `generate` run through the link writes the
link, which survives a reinstall (a new environment behind the same link); the venv path the old
default wrote fails with kubectl's `fork/exec …: no such file or directory` and no installHint;
`doctor` names it, and its fix, run as printed by a shell, makes kubectl work again. A bare name
not on PATH gets the installHint."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from rgpu_exec.kubeconfig.entries import INSTALL_HINT_START

from emulator_support import RGPU_EXEC, Harness, Kubectl, run

pytestmark = pytest.mark.e2e


def install(venv: Path) -> Path:
    """The real launcher script (its first line names the test's interpreter), as pip puts it in
    a virtual environment."""
    launcher = venv / "bin" / "rgpu-exec"
    launcher.parent.mkdir(parents=True)
    shutil.copy2(RGPU_EXEC, launcher)
    return launcher


def test_a_reinstall_keeps_the_link_working_and_doctor_repairs_the_venv_path(
    emulator: Harness, kubectl: Kubectl, tmp_path: Path
) -> None:
    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)["key"]
    old = install(tmp_path / "venvs" / "old")
    local_bin = tmp_path / "home" / ".local" / "bin"
    local_bin.mkdir(parents=True)
    link = local_bin / "rgpu-exec"
    link.symlink_to(old)
    kubectl_dir = str(Path(kubectl.path).parent)
    env = {
        **emulator.plugin_env(key, REMOTEGPU_API_URL=emulator.ready.api_url),
        "PATH": os.pathsep.join([str(local_bin), kubectl_dir, os.defpath]),
    }
    generate = [
        "rgpu-exec", "kubeconfig", "generate", "--namespace", "team-ml",
        "--namespace-id", team["id"], "--server", emulator.ready.kube_server,
        "--certificate-authority-data", emulator.ready.ca_data,
        "--api-url", emulator.ready.api_url,
    ]  # fmt: skip
    by_link = run(generate, env)  # found on PATH, as a shell finds it
    old_default = run([*generate, "--context", "old", "--exec-command", str(old)], env)
    assert by_link.returncode == old_default.returncode == 0, by_link.stderr + old_default.stderr
    users = yaml.safe_load(Path(os.environ["KUBECONFIG"]).read_text())["users"]
    commands = {u["name"]: u["user"]["exec"]["command"] for u in users}
    assert commands == {"rgpu-team-ml": str(link), "old": str(old)}

    # `pipx reinstall`: a new environment behind the same link; the old one is gone.
    shutil.rmtree(tmp_path / "venvs" / "old")
    link.unlink()
    link.symlink_to(install(tmp_path / "venvs" / "new"))
    kept = run([kubectl.path, "--context", "rgpu-team-ml", "get", "pods"], env)
    broken = run([kubectl.path, "--context", "old", "get", "pods"], env)
    assert kept.returncode == 0, kept.stderr
    assert broken.returncode != 0
    assert f"fork/exec {old}: no such file or directory" in broken.stderr
    assert INSTALL_HINT_START not in broken.stderr

    doctor = run(["rgpu-exec", "doctor", "--context", "old"], env)
    assert doctor.returncode == 6
    assert f"fork/exec {old}: no such file or directory" in doctor.stdout
    (fix,) = re.findall(r"fix: run `(rgpu-exec kubeconfig generate [^`]+)`", doctor.stdout)
    fixed = run(["sh", "-c", fix], env)  # exactly as printed
    assert fixed.returncode == 0, fixed.stderr
    again = run([kubectl.path, "--context", "old", "get", "pods"], env)
    assert again.returncode == 0, again.stderr


def test_a_bare_name_kubectl_cannot_find_shows_the_install_hint(
    emulator: Harness, kubectl: Kubectl, tmp_path: Path
) -> None:
    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)["key"]
    env = {
        **emulator.plugin_env(key, REMOTEGPU_API_URL=emulator.ready.api_url),
        "PATH": os.pathsep.join([str(Path(kubectl.path).parent), os.defpath]),
    }
    written = run(
        [str(RGPU_EXEC), "kubeconfig", "generate", "--namespace", "team-ml",
         "--namespace-id", team["id"], "--server", emulator.ready.kube_server,
         "--certificate-authority-data", emulator.ready.ca_data,
         "--api-url", emulator.ready.api_url, "--exec-command", "rgpu-exec", "--no-verify"],
        env,
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    # A PATH without rgpu-exec (kubectl is run by its path: its folder may hold rgpu-exec too).
    env["PATH"] = str(tmp_path)
    assert shutil.which("rgpu-exec", path=env["PATH"]) is None
    result = run([kubectl.path, "--context", "rgpu-team-ml", "get", "pods"], env)
    assert result.returncode != 0
    assert "executable rgpu-exec not found" in result.stderr
    assert INSTALL_HINT_START in result.stderr
