"""Reading the console's kubeconfig: server, CA, namespace, namespace ID and API URL."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from rgpu_exec.errors import UsageError
from rgpu_exec.kubeconfig import console

NAMESPACE_ID = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"
PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def console_text(url: str, cluster: str = "    certificate-authority-data: Q0E=\n") -> str:
    return (
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
        f"    server: https://k8s.example\n{cluster}"
        "contexts:\n- name: x\n  context: {cluster: c, user: u, namespace: team-ml}\n"
        "users:\n- name: u\n  user:\n    exec:\n      command: sh\n"
        f'      args: ["-c", "curl -fsS -X POST -H \\"x-api-key: $REMOTEGPU_API_KEY\\" {url}"]\n'
    )


def test_reads_everything_generate_needs(tmp_path: Path) -> None:
    url = f"https://api.remotegpu.ai/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"
    found = console.parse(console_text(url), "f", tmp_path)
    assert found == console.ConsoleKubeconfig(
        server="https://k8s.example",
        ca_data="Q0E=",
        namespace="team-ml",
        namespace_id=NAMESPACE_ID,
        api_url="https://api.remotegpu.ai",
    )


def test_api_url_with_a_path_prefix_is_kept(tmp_path: Path) -> None:
    url = f"https://gw.example/rgpu/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"
    assert console.parse(console_text(url), "f", tmp_path).api_url == "https://gw.example/rgpu"


def test_ca_file_is_read_relative_to_the_console_file(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(PEM)
    url = f"https://api.remotegpu.ai/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"
    found = console.parse(console_text(url, "    certificate-authority: ca.pem\n"), "f", tmp_path)
    assert found.ca_data == base64.b64encode(PEM).decode()


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://api.remotegpu.ai/v1/other", id="other-endpoint"),
        pytest.param(
            "https://api.remotegpu.ai/v1/kubernetes/namespaces/team-ml/exec-credential",
            id="not-uuid",
        ),
    ],
)
def test_no_exchange_url_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(UsageError, match="does not call the RemoteGPU exchange endpoint"):
        console.parse(console_text(url), "f", tmp_path)


def test_several_contexts_without_a_current_one_is_refused(tmp_path: Path) -> None:
    text = "contexts:\n- name: a\n  context: {}\n- name: b\n  context: {}\n"
    with pytest.raises(UsageError, match="expected one context"):
        console.parse(text, "f", tmp_path)
