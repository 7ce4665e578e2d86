"""A namespace ID that is what is wrong is shown whole (a typo at its end must show), and `cache
list` names each entry's namespace by what its exec stanza serves, never by a context's namespace
switched away from it (kubens). In process: respx answers the API."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from rgpu_exec.hotpath import token_cache

from conftest import API_KEY, NAMESPACE_ID
from exchange_answers import API as STUB_API

API = "https://api.remotegpu.ai"
CV_ID = "0b7e9c2a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"
NOT_FOUND = {"error": {"code": "namespace_not_found", "message": "Namespace not found"}}


def test_an_unknown_namespace_is_shown_by_its_whole_id(run_cli, api):
    api.post(f"/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential").mock(
        return_value=httpx.Response(404, json=NOT_FOUND)
    )

    result = run_cli(
        ["token", "--namespace-id", NAMESPACE_ID, "--namespace", "team-ml"],
        env={"REMOTEGPU_API_KEY": API_KEY, "REMOTEGPU_API_URL": STUB_API},
    )

    assert result.returncode == 4, result.stderr
    assert f"namespace team-ml ({NAMESPACE_ID}) does not exist" in result.stderr
    assert "…)" not in result.stderr


def test_check_shows_an_unknown_namespace_by_its_whole_id(run_cli, api):
    api.post(f"/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential").mock(
        return_value=httpx.Response(404, json=NOT_FOUND)
    )
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://k8s.example"}}],
        "contexts": [{"name": "ml", "context": {"cluster": "c", "user": "u", "namespace": "team-ml"}}],
        "users": [{"name": "u", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1", "command": "rgpu-exec",
            "args": ["token", "--namespace-id", NAMESPACE_ID, "--namespace", "team-ml"]}}}],
    }  # fmt: skip
    Path("kubeconfig").write_text(json.dumps(kubeconfig))

    result = run_cli(
        ["check", "--context", "ml"],
        env={"REMOTEGPU_API_KEY": API_KEY, "REMOTEGPU_API_URL": STUB_API},
    )

    assert f"team-ml ({NAMESPACE_ID}) [ml]" in result.stdout, result.stdout + result.stderr


def test_cache_list_labels_entries_by_the_namespace_their_exec_stanza_serves(run_cli, sandbox):
    now = time.time()
    for namespace_id in (NAMESPACE_ID, CV_ID):
        token_cache.write_entry(
            str(sandbox / "cache"),
            token_cache.Entry(
                token_cache.CacheKey(API, namespace_id, token_cache.profile_identity("default")),
                now,
                now + 900,
                "tok-secret",
            ),
        )

    def user(namespace_id: str, name: str) -> dict[str, object]:
        args = ["token", "--namespace-id", namespace_id, "--namespace", name]
        return {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                         "command": "rgpu-exec", "args": args}}  # fmt: skip

    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://k8s.example"}}],
        # rgpu-team-ml was switched to team-cv with kubens; its stanza still serves team-ml.
        "contexts": [
            {"name": "rgpu-team-ml", "context": {"cluster": "c", "user": "ml", "namespace": "team-cv"}},
            {"name": "rgpu-team-cv", "context": {"cluster": "c", "user": "cv", "namespace": "team-cv"}},
        ],
        "users": [
            {"name": "ml", "user": user(NAMESPACE_ID, "team-ml")},
            {"name": "cv", "user": user(CV_ID, "team-cv")},
        ],
    }  # fmt: skip
    (sandbox / "kubeconfig").write_text(json.dumps(kubeconfig))

    result = run_cli(["cache", "list"])

    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("team-")]
    assert sorted(row.split(" (")[0] for row in rows) == ["team-cv", "team-ml"], rows
    assert any(row.startswith(f"team-ml ({NAMESPACE_ID[:8]}…)") for row in rows)
    assert any(row.startswith(f"team-cv ({CV_ID[:8]}…)") for row in rows)
