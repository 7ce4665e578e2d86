"""The kubens habit: a context whose namespace was switched keeps the old namespace's token, and
kubectl is Forbidden there. `kubeconfig list`, `whoami` and `check` say so, and what to do."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from conftest import API_KEY, NAMESPACE_ID

VISION_ID = "0b7e9c2a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"


def switched_kubeconfig(path: Path, api_url: str) -> None:
    """The context generate wrote for team-ml, then `kubectl config set-context --current
    --namespace team-vision`."""
    args = ["token", "--namespace-id", NAMESPACE_ID, "--namespace", "team-ml", "--api-url", api_url]
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "rgpu-team-ml",
        "clusters": [{"name": "rgpu-team-ml", "cluster": {"server": "https://k8s.example"}}],
        "contexts": [
            {
                "name": "rgpu-team-ml",
                "context": {"cluster": "rgpu-team-ml", "user": "rgpu-team-ml", "namespace": "team-vision"},
            }
        ],
        "users": [
            {
                "name": "rgpu-team-ml",
                "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                  "interactiveMode": "Never", "command": "rgpu-exec", "args": args}},
            }
        ],
    }  # fmt: skip
    path.write_text(json.dumps(document))


def run(rgpu_exec_bin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [rgpu_exec_bin, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "REMOTEGPU_API_KEY": API_KEY},
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


FIX = "kubectl config set-context rgpu-team-ml --namespace team-ml"


def test_list_and_whoami_say_the_namespace_is_not_the_tokens(rgpu_exec_bin, sandbox, stub_api):
    switched_kubeconfig(sandbox / "kubeconfig", stub_api.url)

    listed = run(rgpu_exec_bin, "kubeconfig", "list")
    who = run(rgpu_exec_bin, "whoami")

    assert listed.returncode == 0, listed.stderr
    assert "its namespace is team-vision, but its exec stanza gets tokens for team-ml" in (
        listed.stdout
    )
    assert FIX in listed.stdout
    assert who.returncode == 0, who.stderr
    assert "gets tokens for team-ml" in who.stdout
    assert FIX in who.stdout


def test_check_names_the_namespace_it_checked_and_warns(rgpu_exec_bin, sandbox, stub_api):
    switched_kubeconfig(sandbox / "kubeconfig", stub_api.url)

    result = run(rgpu_exec_bin, "check")

    assert result.returncode == 0, result.stderr
    # The ID checked is team-ml's: the row says so, not team-vision.
    assert f"team-ml ({NAMESPACE_ID[:8]}…) [rgpu-team-ml]" in result.stdout
    assert "team-vision (" not in result.stdout
    assert "rgpu-exec: warning: context 'rgpu-team-ml': its namespace is team-vision" in (
        result.stderr
    )
    assert FIX in result.stderr
