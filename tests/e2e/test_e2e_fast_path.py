"""Real kubectl reaches the cache-hit path: its exact KUBERNETES_EXEC_INFO is recognised, and a
second kubectl command runs rgpu-exec without importing anything beyond cheap stdlib modules."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from rgpu_emulator.testing import V1, V1BETA1
from rgpu_exec.hotpath.exec_credential import recognise_exec_info

from conftest import write_kubeconfig
from emulator_support import RGPU_EXEC, Harness, Kubectl, run

pytestmark = pytest.mark.e2e

PROBE = """\
import os, sys
with open(sys.argv[1], "w") as out:
    out.write(os.environ.get("KUBERNETES_EXEC_INFO", "<unset>"))
print('{"apiVersion": "%s", "kind": "ExecCredential", "status": {"token": "probe"}}' % sys.argv[2])
"""


def _kubeconfig(emulator: Harness, path: Path, exec_stanza: Mapping[str, object]) -> Path:
    return write_kubeconfig(
        path,
        {"u": {"exec": exec_stanza}},
        {"x": {"user": "u", "namespace": "team-ml"}},
        clusters={"c": emulator.cluster},
    )


@pytest.mark.parametrize("api_version", [V1, V1BETA1])
def test_kubectl_exec_info_is_recognised_without_json(
    emulator: Harness, kubectl: Kubectl, tmp_path: Path, api_version: str
) -> None:
    probe, captured = tmp_path / "probe.py", tmp_path / "exec-info"
    probe.write_text(PROBE)
    stanza: dict[str, object] = {
        "apiVersion": api_version,
        "command": sys.executable,
        "args": [str(probe), str(captured), api_version],
    }
    if api_version == V1:
        stanza["interactiveMode"] = "Never"
    config = _kubeconfig(emulator, tmp_path / "kubeconfig", stanza)

    run([kubectl.path, "--kubeconfig", str(config), "get", "pods"], emulator.plugin_env("unused"))

    exec_info = captured.read_text()
    assert exec_info != "<unset>"
    assert recognise_exec_info(exec_info) == (api_version, False), repr(exec_info)


def test_second_kubectl_command_takes_the_stdlib_only_path(
    emulator: Harness, kubectl: Kubectl, tmp_path: Path
) -> None:
    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)
    log = tmp_path / "importtime.log"
    plugin = shlex.join([sys.executable, "-X", "importtime", str(RGPU_EXEC)])
    stanza = {
        "apiVersion": V1,
        "interactiveMode": "Never",
        "command": "sh",
        "args": ["-c", f'{plugin} "$@" 2>>{shlex.quote(str(log))}', "rgpu-exec", "token",
                 "--namespace-id", team["id"], "--api-url", emulator.process.ready.api_url],
    }  # fmt: skip
    config = _kubeconfig(emulator, tmp_path / "kubeconfig", stanza)
    env = emulator.plugin_env(key["key"])
    argv = [kubectl.path, "--kubeconfig", str(config), "get", "pods"]

    cold = run(argv, env)
    assert cold.returncode == 0, cold.stderr
    assert "httpx" in log.read_text(), "the first command exchanged, through the full command"
    log.write_text("")
    hit = run(argv, env)

    assert hit.returncode == 0, hit.stderr
    assert emulator.exchanges() == 1
    modules = {
        line.rsplit("|", 1)[1].strip() for line in log.read_text().splitlines() if "|" in line
    }
    assert "rgpu_exec.hotpath.cache_hit" in modules
    assert not modules & {"httpx", "pydantic", "json", "re", "argparse", "rgpu_exec.cli"}
