"""doctor's fixes for an API URL spelled wrong are commands that set the right one, where the
right one is known: the base URL for one ending in /v1 (REMOTEGPU_API_URL exported, or the
context's exec args given again), http:// for an https URL to a plain-http local server (the
emulator). The fix printed is run, and doctor asked again finds the API. In process: respx
answers the API; the plain-http server is a loopback server in a thread."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from local_server import serving

from conftest import API_KEY, NAMESPACE_ID
from exchange_answers import error_body

API = "https://api.team.example"
LAUNCHER = str(Path(sys.executable).parent / "rgpu-exec")  # found without PATH


class _Plain(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(401)
        body = b'{"error": {"code": "missing_api_key", "message": "no key"}}'
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def plain_http() -> Iterator[str]:
    """A local server that speaks plain http (as the emulator does): its https:// URL."""
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _Plain)) as server:
        yield f"https://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def api(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    monkeypatch.setenv("REMOTEGPU_API_KEY", API_KEY)
    empty = sandbox / "no-kubectl"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no kubectl: doctor asks no cluster here
    with respx.mock(assert_all_called=False) as router:
        router.post(url__startswith=f"{API}/v1/v1/").mock(return_value=httpx.Response(404))
        router.post(url__startswith=f"{API}/v1/kubernetes/").mock(
            return_value=httpx.Response(
                401,
                content=error_body("missing_api_key", "Missing API key"),
                headers={"content-type": "application/json"},
            )
        )
        router.route(host="127.0.0.1").pass_through()
        yield router


def kubeconfig_with(sandbox: Path, api_url: str) -> Path:
    path = sandbox / "kubeconfig"  # KUBECONFIG points here
    path.write_text(
        json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "ml",
            "clusters": [{"name": "c", "cluster": {"server": "https://k8s.example:6443"}}],
            "contexts": [{"name": "ml", "context": {"cluster": "c", "user": "u"}}],
            "users": [{"name": "u", "user": {"exec": {
                "apiVersion": "client.authentication.k8s.io/v1", "command": LAUNCHER,
                "interactiveMode": "Never",
                "args": ["token", "--namespace-id", NAMESPACE_ID, "--api-url", api_url],
                "env": [{"name": "RGPU_EXEC_DEADLINE", "value": "20"}]}}}],
        })
    )  # fmt: skip
    return path


def api_rows(run_cli: Any, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    result = run_cli(["doctor", "-o", "json"], env=env or {})
    document = json.loads(result.stdout)
    assert "findings" in document, result.stdout + result.stderr
    return [f for f in document["findings"] if f["topic"] == "API"]


def the_command(fix: str) -> list[str]:
    return shlex.split(fix.split("`")[1])


def test_an_api_url_ending_in_v1_gets_the_export_of_its_base_url(run_cli, api):
    rows = api_rows(run_cli, {"REMOTEGPU_API_URL": f"{API}/v1"})

    assert rows[0]["status"] == "problem", rows
    assert rows[0]["fix"].startswith(f"run `export REMOTEGPU_API_URL={API}`")
    assert the_command(rows[0]["fix"]) == ["export", f"REMOTEGPU_API_URL={API}"]
    assert api_rows(run_cli, {"REMOTEGPU_API_URL": API})[0]["status"] == "ok"


def test_doctors_own_api_url_ending_in_v1_gets_the_same_doctor_run_with_the_base_url(
    run_cli, api, sandbox
):
    kubeconfig = kubeconfig_with(sandbox, API)
    flags = ["--kubeconfig", str(kubeconfig), "--profile", "ci", "--context", "ml"]
    result = run_cli(["doctor", "-o", "json", *flags, "--api-url", f"{API}/v1"])
    rows = [f for f in json.loads(result.stdout)["findings"] if f["topic"] == "API"]

    assert rows[0]["status"] == "problem", rows
    command = the_command(rows[0]["fix"])
    assert command == ["rgpu-exec", "doctor", *flags, "--api-url", API]  # its flags kept
    again = run_cli([*command[1:], "-o", "json"])
    assert [f["status"] for f in json.loads(again.stdout)["findings"] if f["topic"] == "API"] == [
        "ok"
    ]


def test_a_contexts_api_url_ending_in_v1_gets_its_exec_args_given_again_with_the_base_url(
    run_cli, api, sandbox
):
    kubeconfig = kubeconfig_with(sandbox, f"{API}/v1")

    rows = api_rows(run_cli)

    assert rows[0]["status"] == "problem", rows
    command = the_command(rows[0]["fix"])
    assert command[:4] == ["kubectl", "config", "set-credentials", "u"]
    assert f"--exec-arg={API}" in command
    assert "--exec-env=RGPU_EXEC_DEADLINE=20" in command
    assert command[-2:] == ["--kubeconfig", str(kubeconfig)]


@pytest.mark.slow
def test_the_set_credentials_fix_run_by_kubectl_makes_the_context_find_the_api(
    run_cli, api, sandbox, kubectl
):
    kubeconfig_with(sandbox, f"{API}/v1")
    command = the_command(api_rows(run_cli)[0]["fix"])

    subprocess.run([kubectl.path, *command[1:]], check=True, capture_output=True)

    assert [r["status"] for r in api_rows(run_cli)] == ["ok"]


def test_an_https_api_url_to_a_plain_http_local_server_gets_the_command_that_sets_http(
    run_cli, api, sandbox, plain_http
):
    kubeconfig_with(sandbox, plain_http)

    rows = api_rows(run_cli)

    assert rows[0]["status"] == "problem", rows
    assert "does not speak TLS" in rows[0]["detail"]
    command = the_command(rows[0]["fix"])
    plain = plain_http.replace("https://", "http://")
    assert f"--exec-arg={plain}" in command
    assert f"--exec-arg={plain_http}" not in command


def test_a_profile_without_a_key_beside_an_environment_key_gets_a_fix_that_can_help(
    run_cli, api, sandbox
):
    # REMOTEGPU_API_KEY is set (the `api` fixture), but --profile wins over it: exporting it
    # again cannot help. This sandbox has no usable keyring: the login stores the key in a file.
    keys = [f for f in api_rows_of(run_cli, "--profile", "ci") if f["topic"] == "API key"]

    assert keys[0]["status"] == "problem", keys
    assert keys[0]["fix"].startswith("leave out --profile to use REMOTEGPU_API_KEY, or store")
    login = the_command(keys[0]["fix"])
    assert login == ["rgpu-exec", "login", "--insecure-storage", "--profile", "ci"]
    stored = run_cli([*login[1:], "--no-verify"], stdin=API_KEY)
    assert stored.returncode == 0, stored.stderr
    after = [f for f in api_rows_of(run_cli, "--profile", "ci") if f["topic"] == "API key"]
    assert after[0]["status"] == "ok", after


def api_rows_of(run_cli: Any, *flags: str) -> list[dict[str, Any]]:
    result = run_cli(["doctor", "-o", "json", *flags], env={"REMOTEGPU_API_URL": API})
    document = json.loads(result.stdout)
    assert "findings" in document, result.stdout + result.stderr
    findings: list[dict[str, Any]] = document["findings"]
    return findings
