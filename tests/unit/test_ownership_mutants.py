"""Whose a kubeconfig entry is, verdict by verdict, for the entries the write gate meets less
often: a context with no usable user or a missing one, users of every kind (ours, the console's,
another's and the contexts that use it), entries with no body, a cluster judged by the contexts
of its own file, and an entry absent from the file asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from rgpu_exec.kubeconfig import ownership
from rgpu_exec.kubeconfig.document import Document

from conftest import NAMESPACE_ID, console_kubeconfig

FILE = Path("/kubeconfig")


def judged(text: str, kind: str, name: str) -> ownership.Verdict:
    docs = {FILE: Document.parse(text, str(FILE))}
    return ownership.judge((FILE,), docs, kind, name)  # type: ignore[arg-type]


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


OURS = (
    "{exec: {command: rgpu-exec, args: [token, --namespace-id, ns1],"
    " apiVersion: client.authentication.k8s.io/v1}}"
)
AT = "a cluster at https://k.example"
SERVER = "https://k.example"
CLUSTER_K = "clusters:\n- name: k\n  cluster: {server: https://k.example}\n"
CONTEXT_C = "contexts:\n- name: c\n  context: {cluster: k, user: u}\n"


@pytest.mark.parametrize(
    ("text", "kind", "name", "expected"),
    [
        pytest.param(
            CLUSTER_K.replace("k", "rgpu-a", 1) + f"users:\n- name: rgpu-a\n  user: {OURS}\n",
            "cluster",
            "rgpu-a",
            ownership.Verdict("rgpu-exec", "cluster", "rgpu-a", FILE, AT, "", None, SERVER),
            id="an-unused-cluster-beside-our-user-of-its-name",
        ),
        pytest.param(
            "clusters:\n- name: rgpu-a\n  cluster: {}\n",
            "cluster",
            "rgpu-a",
            ownership.Verdict(
                "rgpu-exec", "cluster", "rgpu-a", FILE, "a cluster with no server", "", None, None
            ),
            id="an-unused-cluster-alone-named-as-we-name-them",
        ),
        pytest.param(
            CLUSTER_K.replace("k", "prod", 1),
            "cluster",
            "prod",
            ownership.Verdict(
                "foreign",
                "cluster",
                "prod",
                FILE,
                AT,
                "no context of rgpu-exec uses it",
                None,
                SERVER,
            ),
            id="an-unused-cluster-of-another-name",
        ),
        pytest.param(
            CLUSTER_K + CONTEXT_C + "users:\n- name: u\n  user: {token: t}\n",
            "cluster",
            "k",
            ownership.Verdict(
                "foreign",
                "cluster",
                "k",
                FILE,
                f"{AT}, used by context 'c'",
                f"{AT}, used by context 'c'",
                None,
                SERVER,
            ),
            id="a-cluster-another-context-uses",
        ),
        pytest.param(
            CLUSTER_K + CONTEXT_C + f"users:\n- name: u\n  user: {OURS}\n",
            "cluster",
            "k",
            ownership.Verdict("rgpu-exec", "cluster", "k", FILE, AT, "", None, SERVER),
            id="a-cluster-our-context-uses",
        ),
        pytest.param(
            CONTEXT_C + f"users:\n- name: u\n  user: {OURS}\n",
            "context",
            "c",
            ownership.Verdict(
                "rgpu-exec", "context", "c", FILE, "a context of a user that runs rgpu-exec"
            ),
            id="a-context-of-our-user",
        ),
        pytest.param(
            CONTEXT_C + "users:\n- name: u\n  user: {token: t}\n",
            "context",
            "c",
            ownership.Verdict(
                "foreign",
                "context",
                "c",
                FILE,
                "a context of a user with a static token, used by context 'c'",
                "its user 'u' has no exec stanza",
            ),
            id="a-context-of-another-user",
        ),
        pytest.param(
            "users: []\n",
            "user",
            "x",
            ownership.Verdict("absent", "user", "x", None, "absent", "it does not exist"),
            id="absent",
        ),
    ],
)
def test_a_verdict_names_the_entry_its_file_what_it_is_and_why(
    text: str, kind: str, name: str, expected: ownership.Verdict
) -> None:
    assert judged(text, kind, name) == expected


def test_an_unused_cluster_beside_the_consoles_user_of_its_name_is_the_consoles() -> None:
    text = console_kubeconfig().replace(
        "contexts:\n- name: remotegpu-team-ml\n"
        "  context: {cluster: remotegpu, user: remotegpu, namespace: team-ml}\n"
        "current-context: remotegpu-team-ml\n",
        "",
    )
    assert "contexts:" not in text

    verdict = judged(text, "cluster", "remotegpu")

    assert (verdict.owner, verdict.namespace_id) == (ownership.CONSOLE, NAMESPACE_ID)
    assert verdict.server == "https://k8s.example:6443"


def test_a_cluster_the_consoles_context_uses_is_the_consoles_for_its_namespace() -> None:
    verdict = judged(console_kubeconfig(), "cluster", "remotegpu")

    assert (verdict.owner, verdict.namespace_id) == (ownership.CONSOLE, NAMESPACE_ID)


def test_an_unused_cluster_alone_named_as_we_name_them_keeps_its_server() -> None:
    verdict = judged(CLUSTER_K.replace("k", "rgpu-a", 1), "cluster", "rgpu-a")

    assert verdict == ownership.Verdict(
        "rgpu-exec", "cluster", "rgpu-a", FILE, AT, "", None, SERVER
    )


def test_a_cluster_without_a_server_string_is_said_to_have_no_server() -> None:
    verdict = judged("clusters:\n- name: prod\n  cluster: {server: 5}\n", "cluster", "prod")

    assert (verdict.what, verdict.server) == ("a cluster with no server", None)


def test_a_file_of_the_list_that_was_not_read_is_passed_over() -> None:
    other = Path("/unread")
    docs = {FILE: Document.parse(CLUSTER_K.replace("k", "prod", 1), str(FILE))}

    verdict = ownership.judge((other, FILE), docs, "cluster", "prod")

    assert (verdict.owner, verdict.file) == (ownership.FOREIGN, FILE)


def test_a_user_that_runs_rgpu_exec_is_ours() -> None:
    verdict = judged(f"users:\n- name: u\n  user: {OURS}\n", "user", "u")

    assert verdict == ownership.Verdict(
        "rgpu-exec", "user", "u", FILE, "a user that runs rgpu-exec"
    )


def test_the_consoles_curl_stanza_is_the_consoles_for_its_namespace() -> None:
    verdict = judged(console_kubeconfig(), "user", "remotegpu")

    assert verdict == ownership.Verdict(
        "console",
        "user",
        "remotegpu",
        FILE,
        "the console's curl stanza",
        "runs 'sh', not rgpu-exec",
        NAMESPACE_ID,
    )


@pytest.mark.parametrize(
    "context",
    [
        pytest.param("null", id="null"),
        pytest.param("{cluster: k}", id="no-user"),
        pytest.param("{cluster: k, user: 5}", id="a-number"),
        pytest.param("{cluster: k, user: [u]}", id="a-list"),
        pytest.param('{cluster: k, user: ""}', id="empty"),
    ],
)
def test_a_context_that_names_no_user_is_refused_with_its_name_and_file(context: str) -> None:
    text = f"contexts:\n- name: c\n  context: {context}\n"

    assert judged(text, "context", "c") == ownership.Verdict(
        "foreign", "context", "c", FILE, "a context that names no user", "it names no user"
    )


def test_a_context_whose_user_is_missing_is_refused_with_its_name_and_file() -> None:
    text = "contexts:\n- name: c\n  context: {cluster: k, user: u}\n"

    assert judged(text, "context", "c") == ownership.Verdict(
        "foreign",
        "context",
        "c",
        FILE,
        "a context whose user 'u' does not exist",
        "its user 'u' does not exist",
    )


def test_a_user_or_cluster_with_no_body_is_not_ours() -> None:
    user = judged("users:\n- name: u\n  user: null\n", "user", "u")
    cluster = judged("clusters:\n- name: k\n  cluster: null\n", "cluster", "k")

    assert (user.owner, user.what) == (ownership.FOREIGN, "a user rgpu-exec did not write")
    assert (cluster.owner, cluster.what) == (ownership.FOREIGN, "a cluster with no server")


def test_a_users_verdict_names_every_other_context_that_uses_it_and_only_those() -> None:
    text = (
        "contexts:\n"
        "- name: a\n  context: {cluster: k, user: u}\n"
        "- name: b\n  context: {cluster: k, user: u}\n"
        "- name: other\n  context: {cluster: k, user: v}\n"
        "- name: empty\n  context: null\n"
        "- name: u\n  context: {cluster: k, user: u}\n"
        "users:\n- name: u\n  user: {token: t}\n"
    )

    verdict = judged(text, "user", "u")

    assert verdict.what == "a user with a static token, used by context 'a', 'b'"


SECOND = Path("/second")


def test_an_entry_asked_for_in_one_file_is_absent_there_even_if_another_file_has_it() -> None:
    docs = {
        FILE: Document.parse("users:\n- name: u\n  user: {token: t}\n", str(FILE)),
        SECOND: Document.parse("users: []\n", str(SECOND)),
    }

    verdict = ownership.judge((FILE, SECOND), docs, "user", "u", SECOND)

    assert verdict == ownership.Verdict(
        "absent", "user", "u", SECOND, "absent", "it does not exist"
    )


def test_a_cluster_is_judged_by_the_contexts_that_use_it_in_their_own_file() -> None:
    # The first file's context `c` is ours but uses another cluster; the second file's context
    # of the same name uses `k` for a static token: `k` is that context's, not ours to change.
    docs = {
        FILE: Document.parse(
            f"contexts:\n- name: c\n  context: {{cluster: elsewhere, user: ours}}\n"
            f"users:\n- name: ours\n  user: {OURS}\n",
            str(FILE),
        ),
        SECOND: Document.parse(
            CLUSTER_K
            + "contexts:\n- name: c\n  context: {cluster: k, user: theirs}\n"
            + "users:\n- name: theirs\n  user: {token: t}\n",
            str(SECOND),
        ),
    }

    verdict = ownership.judge((FILE, SECOND), docs, "cluster", "k")

    assert (verdict.owner, verdict.file) == (ownership.FOREIGN, SECOND)
    assert verdict.reason == f"{AT}, used by context 'c'"
