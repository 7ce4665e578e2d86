"""Verification before writing, in-process, with the exchange mocked by respx."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
import respx

from rgpu_exec.cli import main

from conftest import API_KEY, NAMESPACE_ID
from exchange_answers import credential_body, error_body

# The API exchange's backoff waits on the test's clock, not in real time (conftest).
pytestmark = pytest.mark.usefixtures("waits_on_the_clock")

API = "https://api.remotegpu.ai"
EXCHANGE = f"{API}/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"
ARGV = [
    "kubeconfig", "generate", "--namespace", "team-ml", "--namespace-id", NAMESPACE_ID,
    "--server", "https://k8s.example:6443", "--exec-command", "rgpu-exec",
]  # fmt: skip
CREDENTIAL = credential_body("issued-token-value", datetime(2099, 1, 1, tzinfo=timezone.utc))


@pytest.fixture
def kubeconfig(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REMOTEGPU_API_KEY", API_KEY)
    monkeypatch.setenv("RGPU_EXEC_DEADLINE", "1")
    return sandbox / "kubeconfig"


def error(status: int, code: str) -> httpx.Response:
    return httpx.Response(
        status, content=error_body(code, code.replace("_", " ")),
        headers={"content-type": "application/json"},
    )  # fmt: skip


@respx.mock
def test_one_exchange_with_the_key_then_the_file_is_written(kubeconfig, capsys):
    route = respx.post(EXCHANGE).mock(return_value=httpx.Response(200, json=CREDENTIAL))
    assert main(ARGV) == 0
    assert route.call_count == 1
    assert route.calls[0].request.headers["x-api-key"] == API_KEY
    assert kubeconfig.exists()
    out, err = capsys.readouterr()
    assert "issued-token-value" not in out + err + kubeconfig.read_text()
    assert API_KEY not in out + err + kubeconfig.read_text()


@respx.mock
@pytest.mark.parametrize(
    ("response", "code", "words"),
    [
        pytest.param(error(403, "forbidden"), 4, "may not get credentials for namespace", id="403"),
        pytest.param(error(404, "namespace_not_found"), 4, "does not exist", id="404"),
        pytest.param(error(401, "revoked_api_key"), 3, "rejected the API key", id="401"),
        pytest.param(httpx.Response(503, text="down"), 5, "HTTP 503", id="503"),
    ],
)
def test_failed_verification_writes_nothing(kubeconfig, capsys, response, code, words):
    kubeconfig.write_text("# mine\n")
    respx.post(EXCHANGE).mock(return_value=response)
    assert main(ARGV) == code
    err = capsys.readouterr().err
    assert err.startswith("rgpu-exec: verification failed, so nothing was written: ")
    assert words in err
    assert API_KEY not in err
    assert kubeconfig.read_text() == "# mine\n"


@respx.mock
def test_no_verify_makes_no_request(kubeconfig):
    route = respx.post(EXCHANGE)
    assert main([*ARGV, "--no-verify"]) == 0
    assert route.call_count == 0


@respx.mock
def test_malformed_file_is_reported_before_any_request(kubeconfig, capsys):
    kubeconfig.write_text("clusters: [\n")
    route = respx.post(EXCHANGE)
    assert main(ARGV) == 2
    assert route.call_count == 0
    assert "not valid YAML" in capsys.readouterr().err


@respx.mock
def test_a_dry_run_never_verifies_it_makes_no_network_call(kubeconfig, capsys):
    route = respx.post(EXCHANGE).mock(return_value=error(403, "forbidden"))
    assert main([*ARGV, "--dry-run"]) == 0
    assert route.call_count == 0
    assert "+- name: " in capsys.readouterr().out
    assert not kubeconfig.exists()
