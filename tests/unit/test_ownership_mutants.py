"""Whose a kubeconfig entry is, for the entries the write gate meets less often: a context with
no user or a missing one, and the users rgpu-exec did not write, each named for what it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from rgpu_exec.kubeconfig import ownership
from rgpu_exec.kubeconfig.document import Document

FILE = Path("/kubeconfig")


def judged(text: str, kind: str, name: str) -> ownership.Verdict:
    docs = {FILE: Document.parse(text, str(FILE))}
    return ownership.judge((FILE,), docs, kind, name)  # type: ignore[arg-type]


def test_a_context_that_names_no_user_is_not_ours() -> None:
    verdict = judged("contexts:\n- name: c\n  context: {cluster: k}\n", "context", "c")

    assert verdict.owner == ownership.FOREIGN
    assert (verdict.what, verdict.reason) == ("a context that names no user", "it names no user")


def test_a_context_whose_user_is_missing_is_not_ours() -> None:
    verdict = judged("contexts:\n- name: c\n  context: {cluster: k, user: u}\n", "context", "c")

    assert verdict.owner == ownership.FOREIGN
    assert verdict.reason == "its user 'u' does not exist"
    assert verdict.what == "a context whose user 'u' does not exist"


@pytest.mark.parametrize(
    ("user", "what"),
    [
        ("{client-certificate-data: eA==}", "a user with a client certificate"),
        ("{client-certificate: /c.pem}", "a user with a client certificate"),
        ("{token: t}", "a user with a static token"),
        ("{tokenFile: /t}", "a user with a static token"),
        ("{password: p}", "a user with a password"),
        ("{auth-provider: {name: oidc}}", "a user with an auth provider"),
        (
            "{exec: {command: gke-gcloud-auth-plugin, apiVersion: client.authentication.k8s.io/v1}}",
            "a user that runs 'gke-gcloud-auth-plugin'",
        ),
        ("{}", "a user rgpu-exec did not write"),
    ],
)
def test_a_user_rgpu_exec_did_not_write_is_named_for_what_it_is(user: str, what: str) -> None:
    verdict = judged(f"users:\n- name: u\n  user: {user}\n", "user", "u")

    assert verdict.owner == ownership.FOREIGN
    assert verdict.what == what
