"""Through the installed launcher: exec info with `spec.cluster` (provideClusterInfo), or written
by the Python client, is answered on the cache-hit path without importing anything costly;
malformed exec info still gets the full command's error (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from emulator_support import Exchange

CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJkakNDQVIyZ0F3SUJBZ0lRR" * 30
CLUSTER_INFO = (
    '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":'
    '{"server":"https://127.0.0.1:6443","certificate-authority-data":"' + CA + '",'
    '"config":null},"interactive":false}}\n'
)
PYTHON_CLIENT_INFO = json.dumps({
    "apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
    "spec": {"interactive": False, "cluster": {"server": "https://127.0.0.1:6443"}},
})  # fmt: skip
COSTLY = {
    "json",
    "re",
    "httpx",
    "pydantic",
    "argparse",
    "rgpu_exec.cli",
    "rgpu_exec.usecases.token",
}


def run_with_importtime(
    rgpu_exec_bin: str, api: Exchange, exec_info: str
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = api.env(KUBERNETES_EXEC_INFO=exec_info)
    argv = [sys.executable, "-X", "importtime", rgpu_exec_bin, *api.args()]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    modules = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if "|" in line}
    return done, modules


@pytest.mark.parametrize(
    ("exec_info", "api_version"),
    [
        pytest.param(CLUSTER_INFO, "client.authentication.k8s.io/v1", id="provideClusterInfo"),
        pytest.param(PYTHON_CLIENT_INFO, "client.authentication.k8s.io/v1beta1", id="python"),
    ],
)
def test_exec_info_with_cluster_is_a_hit_without_costly_imports(
    run_token, emulated_exchange: Exchange, rgpu_exec_bin, exec_info, api_version
):
    filled = run_token()
    assert filled.returncode == 0, filled.stderr
    done, modules = run_with_importtime(rgpu_exec_bin, emulated_exchange, exec_info)

    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["apiVersion"] == api_version
    assert answer["status"]["token"] == json.loads(filled.stdout)["status"]["token"]
    assert emulated_exchange.count == 1
    assert {"rgpu_exec.hotpath.cache_hit", "rgpu_exec.hotpath.exec_info_scan"} <= modules
    assert not modules & COSTLY, modules & COSTLY


@pytest.mark.parametrize(
    "exec_info",
    [
        pytest.param(CLUSTER_INFO[:-40], id="truncated"),
        pytest.param(CLUSTER_INFO.replace('"config":null', '"config":nul'), id="bad-literal"),
        pytest.param(
            CLUSTER_INFO.replace(',"interactive":false', ',"interactive":"maybe"'), id="bool"
        ),
    ],
)
def test_malformed_exec_info_with_cluster_gets_the_full_commands_error(
    run_token_in_process, fake_api, exec_info
):
    assert (
        run_token_in_process().returncode == 0
    )  # a cached token the hit path must not hand out here
    result = run_token_in_process(env={"KUBERNETES_EXEC_INFO": exec_info})
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("rgpu-exec: KUBERNETES_EXEC_INFO is not a valid ExecCredential")
    assert fake_api.count == 1
