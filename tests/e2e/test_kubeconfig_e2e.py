"""A generated and an imported kubeconfig work with real kubectl and the official Python client."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulator_support import RGPU_EXEC, Harness, Kubectl, run

pytestmark = pytest.mark.e2e


def generate(emulator: Harness, namespace: dict[str, Any], *extra: str, key: str) -> None:
    ready = emulator.ready
    argv = [
        str(RGPU_EXEC), "kubeconfig", "generate", "--namespace", namespace["name"],
        "--namespace-id", namespace["id"], "--server", ready.kube_server,
        "--certificate-authority-data", ready.ca_data, "--api-url", ready.api_url, *extra,
    ]  # fmt: skip
    result = run(argv, emulator.plugin_env(key))
    assert result.returncode == 0, result.stderr


def test_generated_kubeconfig_works_with_kubectl(
    emulator: Harness, newest_kubectl: Kubectl, sandbox: Path
):
    kubectl = newest_kubectl
    team, other = emulator.namespace("team-ml"), emulator.namespace("other")
    key = emulator.namespace_key(team)["key"]
    generate(emulator, team, "--set-current-context", key=key)
    generate(emulator, other, "--no-verify", key=key)
    assert emulator.exchanges() == 1  # the verification; --no-verify made none
    env = emulator.plugin_env(key)

    pods = run([kubectl.path, "get", "pods"], env)
    assert pods.returncode == 0, pods.stderr
    assert "No resources found in team-ml namespace." in pods.stderr
    assert pods.stderr.count("rgpu-exec") == 0  # silent on success

    created = run([kubectl.path, "create", "configmap", "gen", "--from-literal=a=b"], env)
    assert created.returncode == 0, created.stderr
    outside = run([kubectl.path, "--context", "rgpu-other", "get", "pods"], env)
    assert outside.returncode == 1
    assert "failed with exit code 4" in outside.stderr


def test_imported_console_kubeconfig_works_with_kubectl(
    emulator: Harness, newest_kubectl: Kubectl, sandbox: Path
):
    kubectl = newest_kubectl
    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)["key"]
    console = emulator.client.call(
        "GET", f"/v1/kubernetes/namespaces/{team['id']}/kubeconfig"
    ).json()
    target = sandbox / "imported.yaml"
    argv = [
        str(RGPU_EXEC),
        "kubeconfig",
        "import",
        "-",
        "--api-url",  # the emulator's, as a user who trusts it would choose it
        emulator.ready.api_url,
        "--kubeconfig",
        str(target),
        "--set-current-context",
    ]
    result = run_with_stdin(argv, emulator.plugin_env(key), console["kubeconfig"])
    assert result.returncode == 0, result.stderr
    assert "curl" not in target.read_text()
    exec_ = yaml.safe_load(target.read_text())["users"][0]["user"]["exec"]
    assert exec_["args"] == [
        "token",
        "--namespace-id",
        team["id"],
        "--namespace",
        "team-ml",
        "--api-url",
        emulator.ready.api_url,
    ]

    pods = run([kubectl.path, "--kubeconfig", str(target), "get", "pods"], emulator.plugin_env(key))
    assert pods.returncode == 0, pods.stderr
    assert "No resources found in team-ml namespace." in pods.stderr


def test_generated_kubeconfig_works_with_the_official_python_client(
    emulator: Harness, sandbox: Path, monkeypatch: pytest.MonkeyPatch
):
    kubernetes = pytest.importorskip("kubernetes")
    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)["key"]
    generate(emulator, team, "--no-verify", key=key)
    monkeypatch.setenv("REMOTEGPU_API_KEY", key)  # the client runs the plugin with our environment

    api_client = kubernetes.config.new_client_from_config(
        config_file=os.environ["KUBECONFIG"], context="rgpu-team-ml"
    )
    with api_client:
        core = kubernetes.client.CoreV1Api(api_client)
        core.create_namespaced_config_map(
            "team-ml", {"metadata": {"name": "from-python"}, "data": {"gpu": "h100"}}
        )
        assert core.read_namespaced_config_map("from-python", "team-ml").data == {"gpu": "h100"}
        assert core.list_namespaced_pod("team-ml").items == []
    assert emulator.exchanges() == 1


def run_with_stdin(argv: list[str], env: dict[str, str], stdin: str):
    return subprocess.run(
        argv, env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_generate_verifies_the_namespace_pairing_with_the_cluster(emulator: Harness, sandbox: Path):
    # The API vouches for the ID; only the cluster can say the name is that namespace's.
    team, vision = emulator.namespace("team-ml"), emulator.namespace("team-vision")
    key = emulator.key({"kubernetes_exec": {"namespace_ids": [team["id"], vision["id"]]}})["key"]
    ready = emulator.ready
    kubeconfig = sandbox / "kubeconfig"

    def generate_as(name: str, namespace_id: str) -> subprocess.CompletedProcess[str]:
        argv = [
            str(RGPU_EXEC), "kubeconfig", "generate", "--namespace", name,
            "--namespace-id", namespace_id, "--server", ready.kube_server,
            "--certificate-authority-data", ready.ca_data, "--api-url", ready.api_url,
        ]  # fmt: skip
        return run(argv, emulator.plugin_env(key))

    mismatched = generate_as("team-vision", team["id"])
    assert mismatched.returncode == 4, mismatched.stderr
    assert "the name and the ID are of different namespaces" in mismatched.stderr
    assert "verified with" not in mismatched.stdout
    assert not kubeconfig.exists()

    paired = generate_as("team-ml", team["id"])
    assert paired.returncode == 0, paired.stderr
    assert "lets its token list pods in namespace team-ml" in paired.stdout.splitlines()[0], (
        paired.stdout
    )
    assert kubeconfig.exists()
