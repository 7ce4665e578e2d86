"""Real kubectl, every version found, with `provideClusterInfo: true`: the exec info it sends
(with spec.cluster) is read on the cache-hit path, without `json` or anything costly."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from rgpu_emulator.testing import V1, V1BETA1

from emulator_support import RGPU_EXEC, Harness, Kubectl, run

pytestmark = pytest.mark.e2e

COSTLY = {
    "json",
    "re",
    "httpx",
    "pydantic",
    "argparse",
    "rgpu_exec.cli",
    "rgpu_exec.usecases.token",
}


@pytest.mark.parametrize("api_version", [V1, V1BETA1])
def test_cluster_info_is_read_on_the_hit_path(
    emulator: Harness, kubectl: Kubectl, tmp_path: Path, api_version: str
) -> None:
    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)
    log, seen = tmp_path / "importtime.log", tmp_path / "exec-info"
    plugin = shlex.join([sys.executable, "-X", "importtime", str(RGPU_EXEC)])
    record = f'printf %s "$KUBERNETES_EXEC_INFO" > {shlex.quote(str(seen))}'
    script = f'{record}; {plugin} "$@" 2>>{shlex.quote(str(log))}'
    path = emulator.kubeconfig(  # provideClusterInfo, as generate writes it
        team, api_version=api_version, path=tmp_path / "kubeconfig",
        command="sh", wrap=["-c", script, "rgpu-exec"],
    )  # fmt: skip
    argv = [kubectl.path, "--kubeconfig", str(path), "get", "pods"]
    env = emulator.plugin_env(key["key"])

    cold = run(argv, env)
    assert cold.returncode == 0, cold.stderr
    assert '"cluster":{' in seen.read_text(), "kubectl sent the cluster"
    log.write_text("")
    hit = run(argv, env)

    assert hit.returncode == 0, hit.stderr
    assert emulator.exchanges() == 1
    modules = {
        line.rsplit("|", 1)[1].strip() for line in log.read_text().splitlines() if "|" in line
    }
    assert {"rgpu_exec.hotpath.cache_hit", "rgpu_exec.hotpath.exec_info_scan"} <= modules
    assert not modules & COSTLY, modules & COSTLY
