"""A use case returns what it did and said before a failure stopped it (the command says that,
then fails): `kubeconfig import` of several files, whose policy lives in its use case
(`usecases.kubeconfig_import.run_import`, not the command), and `login`'s notes."""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

import pytest
import yaml

from rgpu_exec.errors import UsageError
from rgpu_exec.usecases.kubeconfig_import import ImportRequest, run_import
from rgpu_exec.usecases.kubeconfig_report import WriteRequest
from rgpu_exec.usecases.kubeconfig_write import StanzaRequest

from conftest import NAMESPACE_ID

if TYPE_CHECKING:
    from pathlib import Path

OTHER_ID = "0b7e9c2a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"


def _console(path: Path, api_url: str, namespace: str, namespace_id: str) -> str:
    exchange = f"{api_url}/v1/kubernetes/namespaces/{namespace_id}/exec-credential"
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "remotegpu", "cluster": {"server": "https://k8s.example:6443"}}],
        "contexts": [
            {
                "name": f"remotegpu-{namespace}",
                "context": {"cluster": "remotegpu", "user": "remotegpu", "namespace": namespace},
            }
        ],
        "current-context": f"remotegpu-{namespace}",
        "users": [
            {
                "name": "remotegpu",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "interactiveMode": "Never",
                        "command": "sh",
                        "args": [
                            "-c",
                            f'curl -fsS -X POST -H "x-api-key: $REMOTEGPU_API_KEY" {exchange}',
                        ],
                    }
                },
            }
        ],
    }
    path.write_text(yaml.safe_dump(document))
    return str(path)


def _request(kubeconfig: Path, *files: str, context: str | None = None) -> ImportRequest:
    return ImportRequest(
        files,
        StanzaRequest(context=context, exec_command="rgpu-exec"),
        WriteRequest(kubeconfig=str(kubeconfig), verify=False),
    )


def test_several_files_with_stdin_or_one_context_name_are_refused(sandbox: Path) -> None:
    first = _console(sandbox / "a.yaml", "https://api.remotegpu.ai", "team-ml", NAMESPACE_ID)
    target = sandbox / "kubeconfig"
    for wanted in (
        _request(target, first, "-"),
        _request(target, first, first, context="x"),
    ):
        with pytest.raises(UsageError, match="import several files without -"):
            run_import(wanted, os.environ, io.BytesIO())
    assert not target.exists()


def test_a_later_file_that_fails_keeps_what_the_earlier_ones_did(sandbox: Path) -> None:
    first = _console(sandbox / "a.yaml", "https://api.remotegpu.ai", "team-ml", NAMESPACE_ID)
    second = _console(sandbox / "b.yaml", "https://api.elsewhere.example", "team-cv", OTHER_ID)
    target = sandbox / "kubeconfig"

    done = run_import(_request(target, first, second), os.environ, io.BytesIO())

    assert len(done.results) == 1
    assert done.results[0].lines  # what the first import did, for the command to say
    assert isinstance(done.error, UsageError)
    assert "https://api.elsewhere.example" in done.error.message
    contexts = yaml.safe_load(target.read_text())["contexts"]
    assert [c["name"] for c in contexts] == ["rgpu-team-ml"]


def test_a_first_file_that_fails_is_the_failure_itself(sandbox: Path) -> None:
    only = _console(sandbox / "b.yaml", "https://api.elsewhere.example", "team-cv", OTHER_ID)

    with pytest.raises(UsageError, match=r"api\.elsewhere\.example"):
        run_import(_request(sandbox / "kubeconfig", only), os.environ, io.BytesIO())


def test_login_says_its_note_before_the_failure_that_stops_it(sandbox: Path) -> None:
    from rgpu_exec.usecases import login

    # The sandbox's keyring stores nothing: the store fails after the note about the key's shape.
    done = login.store("default", "sk-not-a-remotegpu-key", os.environ, verify="--no-verify")

    assert [kind for kind, _ in done.said] == ["warning"]
    assert "usual shape" in done.said[0][1]
    assert done.error is not None
