"""doctor tells a kubeconfig path that is not a regular file (`KUBECONFIG=/dev/null`, a FIFO)
as the problem it is, with a fix that works as printed, instead of "no kubeconfig file found"
and a fix (`kubeconfig generate`) that the write gate then refuses."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from rgpu_exec.usecases.doctor import kube


@pytest.mark.slow  # the fix runs in a real shell, as printed
@pytest.mark.parametrize("where", ["/dev/null", "fifo"])
def test_a_kubeconfig_that_is_not_a_regular_file_is_a_problem_with_a_fix_that_works(
    sandbox: Path, where: str
) -> None:
    path = where
    if where == "fifo":
        path = str(sandbox / "fifo-kubeconfig")
        os.mkfifo(path)
    home = sandbox / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text("apiVersion: v1\nkind: Config\n")
    environ = {"KUBECONFIG": path, "HOME": str(home)}

    findings = kube.inspect(None, environ).findings

    (found,) = [f for f in findings if f.topic == "kubeconfig"]
    assert found.status == "problem"
    assert f"the kubeconfig {path} is " in found.detail
    assert "not a regular file" in found.detail
    assert found.fix is not None
    fix = found.fix.split("`")[1]
    # The home directory written out (the fix owner quotes every value, so `~` would stay `~`).
    assert fix == shlex.join(["export", f"KUBECONFIG={home}/.kube/config"])
    # The fix, run as printed in a shell, leaves KUBECONFIG naming a regular file, which the
    # doctor no longer calls a problem.
    fixed = subprocess.run(
        ["bash", "-c", f'{fix} && printf %s "$KUBECONFIG"'],
        env={"HOME": str(home), "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    after = kube.inspect(None, {**environ, "KUBECONFIG": fixed}).findings
    assert not [f for f in after if f.topic == "kubeconfig" and f.status == "problem"]


def test_a_kubeconfig_flag_naming_a_device_gets_a_flag_fix(sandbox: Path) -> None:
    (found,) = kube.inspect("/dev/null", {"HOME": str(sandbox)}).findings
    assert found.status == "problem"
    assert found.fix is not None
    assert "--kubeconfig" in found.fix
