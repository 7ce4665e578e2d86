"""An API URL set to the Kubernetes server (`REMOTEGPU_API_URL=$KUBE`): every command that would
send the key there names the server before any request, with the fix (`generate`/`import` do it
in tests/unit/test_kubeconfig_wrong_turns.py). `token` asks the kubeconfig's clusters when the
exec info names no cluster; `whoami`, `check` (with namespace IDs) and `doctor` (a finding)
too. In process: respx answers (and counts) every exchange."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from conftest import API_KEY, NAMESPACE_ID
from exchange_answers import credential_body

# The API exchange's backoff waits on the test's clock, not in real time (conftest).
pytestmark = pytest.mark.usefixtures("waits_on_the_clock")

SERVER = "https://k8s.example:6443"
KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "prod", "cluster": {"server": SERVER}}],
    "contexts": [{"name": "ml", "context": {"cluster": "prod", "user": "u"}}],
    "current-context": "ml",
    "users": [{"name": "u", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": "rgpu-exec",
        "args": ["token", "--namespace-id", NAMESPACE_ID]}}}],
}  # fmt: skip
AT_THE_SERVER = {"REMOTEGPU_API_URL": SERVER}


@pytest.fixture
def answers(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    monkeypatch.setenv("REMOTEGPU_API_KEY", API_KEY)
    (sandbox / "kubeconfig").write_text(json.dumps(KUBECONFIG))  # KUBECONFIG points here
    with respx.mock(assert_all_called=False) as router:
        router.post(url__regex=r".*/exec-credential$").mock(
            return_value=httpx.Response(200, json=credential_body())
        )
        yield router


def named(stderr: str) -> bool:
    return "is the Kubernetes server of cluster 'prod' in " in stderr or (
        "is the Kubernetes server of the cluster of context 'ml'" in stderr
    )


@pytest.mark.parametrize("spelling", [SERVER, "HTTPS://K8S.Example:6443/"])
def test_token_without_a_cluster_in_the_exec_info_refuses_a_kubeconfig_cluster_server(
    run_cli, answers, sandbox, spelling
):
    result = run_cli(["token", "--namespace-id", NAMESPACE_ID], env={"REMOTEGPU_API_URL": spelling})

    assert result.returncode == 2, result.stderr
    assert not answers.calls  # the key never left
    assert f"is the Kubernetes server of cluster 'prod' in {sandbox / 'kubeconfig'}" in (
        result.stderr
    )
    assert "run `unset REMOTEGPU_API_URL`" in result.stderr
    assert "REMOTEGPU_CA_BUNDLE" not in result.stderr


def test_token_with_another_api_url_still_exchanges(run_cli, answers):
    result = run_cli(["token", "--namespace-id", NAMESPACE_ID])

    assert result.returncode == 0, result.stderr
    assert len(answers.calls) == 1


def test_whoami_names_the_cluster_server_instead_of_asking_it(run_cli, answers):
    result = run_cli(["whoami"], env=AT_THE_SERVER)

    assert result.returncode == 2, result.stderr
    assert not answers.calls
    assert named(result.stdout + result.stderr)
    assert "not the RemoteGPU API" in result.stdout + result.stderr


def test_check_with_a_namespace_id_refuses_a_kubeconfig_cluster_server(run_cli, answers):
    result = run_cli(["check", "--expect-allowed", NAMESPACE_ID], env=AT_THE_SERVER)

    assert result.returncode == 2, result.stderr
    assert not answers.calls
    assert named(result.stderr)
    assert "run `unset REMOTEGPU_API_URL`" in result.stderr


def test_doctor_lists_the_cluster_server_as_the_api_url_with_its_fix_and_never_probes_it(
    run_cli, answers, sandbox
):
    no_kubectl = sandbox / "empty-path"
    no_kubectl.mkdir()
    result = run_cli(["doctor", "-o", "json"], env={**AT_THE_SERVER, "PATH": str(no_kubectl)})

    assert not answers.calls
    found = [
        f
        for f in json.loads(result.stdout)["findings"]
        if f["status"] == "problem" and "is the Kubernetes server" in f["detail"]
    ]
    assert found, result.stdout
    assert "`unset REMOTEGPU_API_URL`" in found[0]["fix"]


@pytest.mark.parametrize(
    ("environment", "fix"),
    [
        ({}, "Leave out --api-url to use the default API (https://api.remotegpu.ai)"),
        (
            {"REMOTEGPU_API_URL": "http://127.0.0.1:8"},
            "Leave out --api-url to use REMOTEGPU_API_URL (http://127.0.0.1:8)",
        ),
        (AT_THE_SERVER, "Give --api-url the API URL"),  # leaving it out would not help
    ],
    ids=["default", "environment", "environment-at-the-server-too"],
)
def test_a_cluster_server_given_with_api_url_says_which_api_the_command_takes_without_it(
    run_cli, answers, monkeypatch, environment, fix
):
    monkeypatch.delenv("REMOTEGPU_API_URL", raising=False)
    result = run_cli(
        ["check", "--api-url", SERVER, "--expect-allowed", NAMESPACE_ID], env=environment
    )

    assert result.returncode == 2, result.stderr
    assert not answers.calls
    assert named(result.stderr)
    assert fix in result.stderr


# --- check at the default API while the current context names its own ----------------------

TEAM_API = "https://api.team.example"


def test_check_failing_at_the_default_api_names_the_current_contexts_api_and_its_rerun(
    run_cli, answers, sandbox
):
    config = json.loads(json.dumps(KUBECONFIG))
    config["users"][0]["user"]["exec"]["args"] += ["--api-url", TEAM_API]
    (sandbox / "kubeconfig").write_text(json.dumps(config))
    answers.post(url__regex=r".*/exec-credential$").mock(  # replaces the route: no answer
        side_effect=httpx.ConnectError("refused")
    )

    result = run_cli(["check", "--expect-allowed", NAMESPACE_ID])

    assert result.returncode == 5, result.stderr
    assert "cannot reach" in result.stderr
    assert f"current context 'ml' gets its tokens from {TEAM_API}" in result.stderr
    assert (
        f"`export REMOTEGPU_API_URL={TEAM_API} && rgpu-exec check --expect-allowed {NAMESPACE_ID}`"
        in result.stderr
    )
