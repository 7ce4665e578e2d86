"""The kubens habit: a context whose namespace was switched keeps the old namespace's token, and
kubectl is Forbidden there. `kubeconfig list`, `whoami` and `check` say so, and what to do."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import API_KEY, NAMESPACE_ID, CliRun, RunCli, team_ml_kubeconfig

VISION_ID = "0b7e9c2a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"


def switched_kubeconfig(path: Path, api_url: str) -> None:
    """The context generate wrote for team-ml, then `kubectl config set-context --current
    --namespace team-vision`."""
    args = ["token", "--namespace-id", NAMESPACE_ID, "--namespace", "team-ml", "--api-url", api_url]
    team_ml_kubeconfig(path, args, namespace="team-vision")


def run(run_cli: RunCli, *args: str) -> CliRun:
    return run_cli([*args], env={"REMOTEGPU_API_KEY": API_KEY})


FIX = "kubectl config set-context rgpu-team-ml --namespace team-ml"


def test_list_and_whoami_say_the_namespace_is_not_the_tokens(run_cli, sandbox, fake_api):
    switched_kubeconfig(sandbox / "kubeconfig", fake_api.url)

    listed = run(run_cli, "kubeconfig", "list")
    who = run(run_cli, "whoami")

    assert listed.returncode == 0, listed.stderr
    assert "its namespace is team-vision, but its exec stanza gets tokens for team-ml" in (
        listed.stdout
    )
    assert FIX in listed.stdout
    # The row pairs the ID with the namespace it is for, and says the switched one as such.
    assert f"team-ml ({NAMESPACE_ID[:8]}…); switched to namespace team-vision" in listed.stdout
    assert f"team-vision ({NAMESPACE_ID[:8]}" not in listed.stdout, "never the other one's ID"
    assert who.returncode == 0, who.stderr
    assert "gets tokens for team-ml" in who.stdout
    assert FIX in who.stdout


def test_check_names_the_namespace_it_checked_and_warns(run_cli, sandbox, fake_api):
    switched_kubeconfig(sandbox / "kubeconfig", fake_api.url)

    result = run(run_cli, "check")

    assert result.returncode == 0, result.stderr
    # The ID checked is team-ml's: the row says so, not team-vision.
    assert f"team-ml ({NAMESPACE_ID[:8]}…) [rgpu-team-ml]" in result.stdout
    assert "team-vision (" not in result.stdout
    assert "rgpu-exec: warning: context 'rgpu-team-ml': its namespace is team-vision" in (
        result.stderr
    )
    assert FIX in result.stderr


def test_whoami_shows_the_namespace_the_token_is_for_and_the_switched_one_as_such(
    run_cli, sandbox, fake_api
):
    switched_kubeconfig(sandbox / "kubeconfig", fake_api.url)

    who = run(run_cli, "whoami")
    document = json.loads(run(run_cli, "whoami", "-o", "json").stdout)

    assert who.returncode == 0, who.stderr
    assert (
        f"tokens for namespace team-ml ({NAMESPACE_ID[:8]}…); switched to namespace team-vision"
    ) in who.stdout
    assert f"team-vision ({NAMESPACE_ID[:8]}" not in who.stdout, "never the other one's ID"
    assert (document["namespace"], document["token_namespace"]) == ("team-vision", "team-ml")
    assert document["namespace_id"] == NAMESPACE_ID
