"""`kubeconfig generate | import` say whom they asked and where its URL came from; "verified" is
said only of what the API or a cluster the user chose confirmed. In process, respx mocks the
exchange and the cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from rgpu_exec.cli import main

from conftest import API_KEY, NAMESPACE_ID, console_kubeconfig
from exchange_answers import credential_body

API = "https://api.remotegpu.ai"
SERVER = "https://k8s.example:6443"
REVIEW = f"{SERVER}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def review(allowed: bool) -> httpx.Response:
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {"verb": "list", "resource": "pods", "namespace": "team-ml"}
        },
        "status": {"allowed": allowed},
    }
    return httpx.Response(201, json=body)


CONSOLE_FILE = console_kubeconfig(API, SERVER)
GENERATE = [
    "kubeconfig", "generate", "--namespace", "team-ml", "--namespace-id", NAMESPACE_ID,
    "--server", SERVER, "--exec-command", "rgpu-exec",
]  # fmt: skip


@pytest.fixture(autouse=True)
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    monkeypatch.setenv("REMOTEGPU_API_KEY", API_KEY)
    with respx.mock(assert_all_called=False) as router:
        router.post(url__regex=r".*/exec-credential$").mock(
            return_value=httpx.Response(200, json=credential_body())
        )
        yield router


def first_line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out.splitlines()[0]


def test_a_cluster_an_imported_file_names_is_quoted_never_called_verified(
    sandbox: Path, answers: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    answers.post(REVIEW).mock(return_value=review(allowed=True))
    downloaded = sandbox / "remotegpu-team-ml-kubeconfig.yaml"
    downloaded.write_text(CONSOLE_FILE)

    assert main(["kubeconfig", "import", str(downloaded)]) == 0

    line = first_line(capsys)
    assert line.startswith(
        f"rgpu-exec: verified with {API} (the default API URL): the key {API_KEY[:13]}… "
        f"(from REMOTEGPU_API_KEY) may get tokens for namespace ID {NAMESPACE_ID}; "
    )
    _, cluster = line.split("; ", 1)
    assert cluster == (
        f"the cluster at {SERVER} named in {downloaded} says its token may list pods in "
        "namespace team-ml (its own word, not verified: the file chose that cluster)."
    )
    assert "verified" not in cluster.replace("not verified", "")


def test_a_cluster_given_with_server_is_named_and_verifies(
    sandbox: Path, answers: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    answers.post(REVIEW).mock(return_value=review(allowed=True))

    assert main([*GENERATE, "--api-url", API]) == 0

    assert first_line(capsys) == (
        f"rgpu-exec: verified with {API} (--api-url): the key {API_KEY[:13]}… (from "
        f"REMOTEGPU_API_KEY) may get tokens for namespace ID {NAMESPACE_ID}; the cluster at "
        f"{SERVER} given with --server lets its token list pods in namespace team-ml."
    )


def test_a_cluster_that_cannot_be_asked_is_named_with_where_its_url_came_from(
    sandbox: Path, answers: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    answers.post(REVIEW).mock(side_effect=httpx.ConnectError("refused"))
    downloaded = sandbox / "remotegpu-team-ml-kubeconfig.yaml"
    downloaded.write_text(CONSOLE_FILE)

    assert main(["kubeconfig", "import", str(downloaded)]) == 0

    _, cluster = first_line(capsys).split("; ", 1)
    assert cluster.startswith(
        "whether namespace team-ml is that namespace was not verified (the cluster at "
        f"{SERVER} named in {downloaded}: "
    )


def test_a_file_whose_cluster_rejects_the_token_is_told_to_download_again(
    sandbox: Path, answers: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    answers.post(REVIEW).mock(
        return_value=httpx.Response(
            401, json={"kind": "Status", "apiVersion": "v1", "code": 401, "reason": "Unauthorized"}
        )
    )
    downloaded = sandbox / "remotegpu-team-ml-kubeconfig.yaml"
    downloaded.write_text(CONSOLE_FILE)

    assert main(["kubeconfig", "import", str(downloaded)]) == 2

    err = capsys.readouterr().err
    assert f"the cluster at {SERVER} named in {downloaded} rejects the token" in err
    assert "--server" not in err  # not given: the file named the server
    assert "Download the kubeconfig again" in err
