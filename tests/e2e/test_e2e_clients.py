"""The Python Kubernetes clients, and a herd of kubectl processes, against the emulator."""

from __future__ import annotations

import subprocess

import pytest

from rgpu_emulator.testing import V1BETA1

from emulator_support import KUBECTLS, Harness

pytestmark = pytest.mark.e2e


def test_official_kubernetes_client_lists_pods(emulator: Harness, monkeypatch: pytest.MonkeyPatch):
    from kubernetes import client, config

    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)
    path = emulator.kubeconfig(team)
    monkeypatch.setenv("REMOTEGPU_API_KEY", key["key"])

    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="trainer"),
        spec=client.V1PodSpec(containers=[client.V1Container(name="main", image="busybox")]),
    )
    api_client = config.new_client_from_config(config_file=str(path))  # type: ignore[no-untyped-call]
    with api_client:
        core = client.CoreV1Api(api_client)
        core.create_namespaced_pod("team-ml", pod)
        pods = core.list_namespaced_pod("team-ml")
        assert [p.metadata.name for p in pods.items if p.metadata] == ["trainer"]
        with pytest.raises(client.ApiException) as denied:
            core.list_namespaced_pod("other")
        assert denied.value.status == 403
    assert emulator.exchanges() == 1


def test_lightkube_with_a_v1beta1_stanza(emulator: Harness, monkeypatch: pytest.MonkeyPatch):
    from lightkube import Client, KubeConfig
    from lightkube.models.core_v1 import Container, PodSpec
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import ConfigMap, Pod

    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)
    path = emulator.kubeconfig(team, api_version=V1BETA1)
    monkeypatch.setenv("REMOTEGPU_API_KEY", key["key"])

    pod = Pod(
        metadata=ObjectMeta(name="trainer"),
        spec=PodSpec(containers=[Container(name="main", image="busybox")]),
    )
    with Client(KubeConfig.from_file(path), namespace="team-ml") as lightkube:
        lightkube.create(pod)
        assert [p.metadata.name for p in lightkube.list(Pod) if p.metadata] == ["trainer"]
        assert list(lightkube.list(ConfigMap)) == []
    assert emulator.exchanges() == 1


@pytest.mark.xdist_group("timed")  # a herd of 32 kubectl: never beside another timed test
@pytest.mark.skipif(not KUBECTLS, reason="no kubectl found")
def test_32_concurrent_kubectl_on_a_cold_cache_make_one_exchange(emulator: Harness):
    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)
    emulator.kubeconfig(team)
    env = emulator.plugin_env(key["key"])
    processes = [
        subprocess.Popen(
            [KUBECTLS[0].path, "get", "pods", "--request-timeout=60s"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(32)
    ]
    try:
        results = [(p.wait(timeout=120), p.communicate(timeout=10)) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    failures = [err for code, (_, err) in results if code != 0]
    assert failures == []
    assert emulator.client.stats()["exchanges"] == {
        "total": 1,
        "by_namespace": {team["id"]: 1},
        "by_key": {key["prefix"]: 1},
    }
