"""Real kubectl (the newest found: tests/e2e/conftest.py), through the installed rgpu-exec, against
the emulator."""

from __future__ import annotations

import json
import time
from datetime import datetime

import httpx
import pytest

from rgpu_emulator.testing import V1BETA1

from emulator_support import RGPU_EXEC, Harness, Kubectl, run

pytestmark = pytest.mark.e2e


def kubectl_run(kubectl: Kubectl, env: dict[str, str], *args: str):
    return run([kubectl.path, *args], env)


def test_allowed_namespace_works_and_the_other_is_forbidden(
    emulator: Harness, newest_kubectl: Kubectl
):
    kubectl = newest_kubectl
    team, other = emulator.namespace("team-ml"), emulator.namespace("other")
    key = emulator.namespace_key(team)
    emulator.kubeconfig(team, other)
    env = emulator.plugin_env(key["key"])

    pods = kubectl_run(kubectl, env, "get", "pods")
    assert pods.returncode == 0, pods.stderr
    assert "No resources found in team-ml namespace." in pods.stderr

    whoami = kubectl_run(kubectl, env, "auth", "whoami", "-o", "json")
    assert whoami.returncode == 0, whoami.stderr
    user = json.loads(whoami.stdout)["status"]["userInfo"]
    assert user["username"] == f"remotegpu:apikey:{key['prefix']}"
    assert user["groups"] == [
        f"remotegpu:account:{emulator.client.account_id}",
        "system:authenticated",
    ]

    assert (
        kubectl_run(kubectl, env, "auth", "can-i", "create", "configmaps").stdout.strip() == "yes"
    )
    denied = kubectl_run(kubectl, env, "auth", "can-i", "list", "pods", "-n", "other")
    assert (denied.returncode, denied.stdout.strip()) == (1, "no")
    rules = kubectl_run(kubectl, env, "auth", "can-i", "--list")
    assert rules.returncode == 0, rules.stderr
    assert "selfsubjectaccessreviews.authorization.k8s.io" in rules.stdout

    created = kubectl_run(
        kubectl, env, "create", "configmap", "settings", "--from-literal=gpu=h100"
    )
    assert created.returncode == 0, created.stderr
    read = kubectl_run(kubectl, env, "get", "configmap", "settings", "-o", "jsonpath={.data.gpu}")
    assert (read.returncode, read.stdout) == (0, "h100")

    forbidden = kubectl_run(kubectl, env, "get", "pods", "-n", "other")
    assert forbidden.returncode == 1
    assert (
        f'Error from server (Forbidden): pods is forbidden: User "remotegpu:apikey:{key["prefix"]}" '
        'cannot list resource "pods" in API group "" in the namespace "other"'
    ) in forbidden.stderr
    # Every kubectl above was a separate process: one exchange served them all.
    assert emulator.client.stats()["exchanges"]["by_namespace"] == {team["id"]: 1}


def test_key_outside_its_scope_and_revoked_key(emulator: Harness, newest_kubectl: Kubectl):
    kubectl = newest_kubectl
    team, other = emulator.namespace("team-ml"), emulator.namespace("other")
    key = emulator.namespace_key(team)
    emulator.kubeconfig(team, other)

    outside = kubectl_run(
        kubectl, emulator.plugin_env(key["key"]), "--context", "other", "get", "pods"
    )
    assert outside.returncode == 1
    assert "failed with exit code 4" in outside.stderr
    ours = f"the API key {key['prefix']}… may not get credentials for namespace"
    assert f"{ours} other ({other['id'][:8]}…) (forbidden: " in outside.stderr

    emulator.client.revoke_key(key["id"])
    revoked = kubectl_run(kubectl, emulator.plugin_env(key["key"]), "get", "pods")
    assert revoked.returncode == 1
    assert "failed with exit code 3" in revoked.stderr
    assert (
        f"rgpu-exec: the RemoteGPU API rejected the API key {key['prefix']}…: the key has been "
        "revoked (revoked_api_key). " in revoked.stderr
    )
    assert key["key"] not in revoked.stderr
    assert emulator.exchanges() == 0


def test_expired_token_is_refreshed_with_exactly_one_exchange(
    emulator: Harness, newest_kubectl: Kubectl
):
    kubectl = newest_kubectl
    # A 4 s token: the plugin refreshes once less than half its lifetime remains, 2 s after
    # issue (2.5 s at most, the server's Date being whole seconds).
    emulator.client.configure(token_ttl=4)
    refreshed_ttl = 900  # what the refresh gets: fresh for minutes, however slow kubectl is
    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)
    emulator.kubeconfig(team)
    env = emulator.plugin_env(key["key"])
    token_argv = [
        str(RGPU_EXEC),
        "token",
        "--namespace-id",
        team["id"],
        "--api-url",
        emulator.ready.api_url,
    ]

    first = run(token_argv, env)
    issued_at = time.monotonic()
    old_token = json.loads(first.stdout)["status"]["token"]
    assert emulator.exchanges() == 1
    # Expire it on the emulator without waiting for it; then wait out the freshness window.
    emulator.client.set_clock(advance=120)
    assert (emulator.client.lookup_token(old_token) or {})["valid"] is False
    # The refresh below must not be another 4 s token, fresh for only 2 s: on a loaded
    # machine the third kubectl would then refresh again, and count an exchange too many.
    emulator.client.configure(token_ttl=refreshed_ttl)
    expired = httpx.get(
        f"{emulator.ready.kube_server}/api/v1/namespaces/team-ml/pods",
        headers={"authorization": f"Bearer {old_token}"}, verify=emulator.ready.ssl_context(),
    )  # fmt: skip
    assert (expired.status_code, expired.json()["reason"]) == (401, "Unauthorized")
    time.sleep(max(0.0, issued_at + 3.0 - time.monotonic()))

    again = kubectl_run(kubectl, env, "get", "pods")
    assert again.returncode == 0, again.stderr
    assert emulator.exchanges() == 2
    assert kubectl_run(kubectl, env, "get", "pods").returncode == 0
    assert emulator.exchanges() == 2
    new_token = json.loads(run(token_argv, env).stdout)["status"]["token"]
    assert new_token != old_token
    issued = emulator.client.lookup_token(new_token) or {}
    assert issued["valid"] is True
    assert _seconds(issued["expires_at"]) - _seconds(issued["issued_at"]) == refreshed_ttl
    assert emulator.exchanges() == 2


def _seconds(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def test_v1beta1_stanza(emulator: Harness, newest_kubectl: Kubectl):
    kubectl = newest_kubectl
    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)
    emulator.kubeconfig(team, api_version=V1BETA1)
    env = emulator.plugin_env(key["key"])
    assert (
        kubectl_run(kubectl, env, "create", "configmap", "beta", "--from-literal=a=1").returncode
        == 0
    )
    listed = kubectl_run(kubectl, env, "get", "configmaps", "-o", "name")
    assert (listed.returncode, listed.stdout) == (0, "configmap/beta\n"), listed.stderr
    assert emulator.exchanges() == 1
