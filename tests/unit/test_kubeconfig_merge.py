"""The merge rules, on file texts: what changes, what must not, and malformed input."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest
import yaml

from rgpu_exec.errors import RgpuExecError, UsageError
from rgpu_exec.kubeconfig import merge
from rgpu_exec.kubeconfig import view as kubeconfig_view
from rgpu_exec.kubeconfig.document import Document
from rgpu_exec.kubeconfig.entries import Spec, foreign_exec, install_hint
from rgpu_exec.kubeconfig.listing import managed_call

NAMESPACE_ID = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"


def spec(**changes: str) -> Spec:
    values = {
        "namespace": "team-ml",
        "namespace_id": NAMESPACE_ID,
        "server": "https://k8s.example",
        "ca_data": "Q0E=",
        "context": "rgpu-team-ml",
        "api_url": "https://api.remotegpu.ai",
        "profile": "default",
        "exec_command": "/opt/bin/rgpu-exec",
    }
    values.update(changes)
    return Spec(**values)  # type: ignore[arg-type]


def generate(text: str | None, *extra: merge.Edit, s: Spec | None = None) -> str:
    edits: list[merge.Edit] = [merge.Upsert(e) for e in (s or spec()).entries()]
    return Document.parse(text, "kubeconfig").apply([*edits, *extra])[0]


def load(text: str) -> Any:
    return yaml.safe_load(text)


KUBECTL_STYLE = textwrap.dedent("""\
    # Work clusters. Do not edit by hand (ha).
    apiVersion: v1
    clusters:
    - cluster:
        certificate-authority-data: UFJPRA==
        server: https://prod.example:6443   # the prod API
        x-custom-field: kept
      name: prod
    contexts:
    - context:
        cluster: prod
        namespace: default
        user: prod-admin
      name: prod
    current-context: prod
    kind: Config
    preferences: {}
    users:
    - name: prod-admin
      user:
        token: static-prod-token  # rotated monthly
    """)


def test_new_entries_leave_every_existing_byte_in_place() -> None:
    out = generate(KUBECTL_STYLE)
    assert out.startswith(KUBECTL_STYLE.split("contexts:")[0])
    for line in KUBECTL_STYLE.splitlines():
        assert line in out.splitlines()
    data = load(out)
    assert data["current-context"] == "prod"
    assert [c["name"] for c in data["contexts"]] == ["prod", "rgpu-team-ml"]
    assert data["clusters"][0]["cluster"]["x-custom-field"] == "kept"


def test_new_entries_follow_the_neighbours_key_order() -> None:
    out = generate(KUBECTL_STYLE)
    assert (
        "- cluster:\n    server: https://k8s.example\n    certificate-authority-data: Q0E=\n  name: rgpu-team-ml\n"
        in out
    )
    assert "- name: rgpu-team-ml\n  user:\n    exec:\n" in out


def test_exec_stanza_has_defaults_and_no_static_credential() -> None:
    user = load(generate(None))["users"][0]["user"]
    assert user == {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "/opt/bin/rgpu-exec",
            "args": ["token", "--namespace-id", NAMESPACE_ID, "--namespace", "team-ml"],
            "interactiveMode": "IfAvailable",
            "provideClusterInfo": True,
            "installHint": user["exec"]["installHint"],
        }
    }
    assert "team-ml" in user["exec"]["installHint"]


def test_api_url_and_profile_written_only_when_not_the_defaults() -> None:
    s = spec(api_url="https://api.staging.example", profile="work")
    args = load(generate(None, s=s))["users"][0]["user"]["exec"]["args"]
    assert args == [
        "token",
        "--namespace-id",
        NAMESPACE_ID,
        "--namespace",
        "team-ml",
        "--api-url",
        "https://api.staging.example",
        "--profile",
        "work",
    ]


def test_update_replaces_owned_keys_only_and_keeps_comments() -> None:
    text = textwrap.dedent("""\
        clusters:
        - name: rgpu-team-ml
          cluster:
            # our API
            server: https://old.example
            certificate-authority: /etc/ca.pem
            insecure-skip-tls-verify: true
            proxy-url: http://proxy:3128   # corporate proxy
        users:
        - name: rgpu-team-ml
          user:
            token: leaked-static-token
            exec:
              command: sh
              env:
              - name: HTTPS_PROXY
                value: http://proxy:3128
        """)
    out = generate(text)
    assert "# our API" in out
    assert "proxy-url: http://proxy:3128   # corporate proxy" in out
    data = load(out)
    cluster = data["clusters"][0]["cluster"]
    assert cluster == {
        "server": "https://k8s.example",
        "proxy-url": "http://proxy:3128",
        "certificate-authority-data": "Q0E=",
    }
    user = data["users"][0]["user"]
    assert "token" not in user
    assert user["exec"]["command"] == "/opt/bin/rgpu-exec"
    assert user["exec"]["env"] == [{"name": "HTTPS_PROXY", "value": "http://proxy:3128"}]


@pytest.mark.parametrize(
    "ca",
    [
        pytest.param({"certificate-authority-data": "UFJPRA=="}, id="data"),
        pytest.param({"certificate-authority": "/etc/ca.pem"}, id="file"),
        pytest.param({"insecure-skip-tls-verify": True}, id="insecure"),
        pytest.param(
            {"certificate-authority": "/etc/ca.pem", "insecure-skip-tls-verify": False},
            id="file-and-insecure-false",
        ),
    ],
)
@pytest.mark.parametrize("layout", ["yaml", "json"])  # spliced, and round-tripped whole
def test_without_a_ca_the_existing_cluster_keeps_its_ca(ca: dict[str, Any], layout: str) -> None:
    cluster = {"name": "rgpu-team-ml", "cluster": {"server": "https://old.example", **ca}}
    document = {"apiVersion": "v1", "kind": "Config", "clusters": [cluster]}
    text = json.dumps(document) if layout == "json" else yaml.safe_dump(document)
    out, changes = Document.parse(text, "k").apply(
        [merge.Upsert(e) for e in spec(ca_data="").entries()]
    )
    assert load(out)["clusters"][0]["cluster"] == {"server": "https://k8s.example", **ca}
    assert "updated cluster 'rgpu-team-ml'" in changes.lines  # the server changed, not the CA
    same = Document.parse(out, "k").apply([merge.Upsert(e) for e in spec(ca_data="").entries()])
    assert not same[1]
    replaced = load(generate(out))["clusters"][0]["cluster"]  # an explicit CA replaces them all
    assert replaced == {"server": "https://k8s.example", "certificate-authority-data": "Q0E="}


def test_without_a_ca_a_new_cluster_has_none() -> None:
    cluster = load(generate(None, s=spec(ca_data="")))["clusters"][0]["cluster"]
    assert cluster == {"server": "https://k8s.example"}


def test_second_run_changes_nothing() -> None:
    first = generate(KUBECTL_STYLE)
    doc = Document.parse(first, "k")
    second, changes = doc.apply([merge.Upsert(e) for e in spec().entries()])
    assert not changes
    assert second is first or second == first


def test_current_context_only_changes_when_asked() -> None:
    assert load(generate(KUBECTL_STYLE))["current-context"] == "prod"
    out = generate(KUBECTL_STYLE, merge.SetCurrentContext("rgpu-team-ml"))
    assert load(out)["current-context"] == "rgpu-team-ml"
    assert "current-context: rgpu-team-ml\nkind: Config" in out


def test_indented_sequence_style_is_kept() -> None:
    text = (
        "apiVersion: v1\nclusters:\n  - name: a\n    cluster:\n      server: https://a\nusers: []\n"
    )
    out = generate(text)
    assert out.startswith(
        text.split("users", maxsplit=1)[0] + "  - name: rgpu-team-ml\n    cluster:\n"
    )
    assert load(out)["users"][0]["name"] == "rgpu-team-ml"


def test_json_kubeconfig_is_merged_as_yaml() -> None:
    text = '{"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "a", "cluster": {"server": "https://a"}}]}'
    data = load(generate(text))
    assert [c["name"] for c in data["clusters"]] == ["a", "rgpu-team-ml"]


@pytest.mark.parametrize("text", ["", "\n\n", "# just a comment\n", "{}\n"])
def test_empty_files_get_a_fresh_kubeconfig(text: str) -> None:
    out = generate(text)
    data = load(out)
    assert data["apiVersion"] == "v1"
    assert data["kind"] == "Config"
    assert "current-context" not in data
    if text.startswith("#"):
        assert out.startswith(text)


def test_names_a_yaml_1_1_reader_would_misread_are_quoted() -> None:
    out = generate(None, s=spec(namespace="yes", context="on"))
    data = load(out)
    assert data["contexts"][0] == {
        "name": "on",
        "context": {"cluster": "on", "user": "on", "namespace": "yes"},
    }


def test_remove_takes_away_lines_and_leaves_the_rest() -> None:
    text = generate(KUBECTL_STYLE, merge.SetCurrentContext("rgpu-team-ml"))
    edits: list[merge.Edit] = [
        merge.Remove("context", "rgpu-team-ml"),
        merge.Remove("user", "rgpu-team-ml"),
        merge.Remove("cluster", "rgpu-team-ml"),
        merge.SetCurrentContext(""),
    ]
    out, changes = Document.parse(text, "k").apply(edits)
    assert out == KUBECTL_STYLE.replace("current-context: prod", 'current-context: ""')
    assert len(changes.lines) == 4


def test_removing_the_last_entry_leaves_an_empty_list() -> None:
    out, _ = Document.parse(generate(None), "k").apply([merge.Remove("context", "rgpu-team-ml")])
    assert load(out)["contexts"] == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("clusters: [\n", "not valid YAML", id="yaml-error"),
        pytest.param("- a\n- b\n", "top level is not a mapping", id="list"),
        pytest.param("just text\n", "top level is not a mapping", id="scalar"),
        pytest.param("clusters: {a: 1}\n", "clusters is not a list", id="clusters-map"),
        pytest.param("users:\n- user: {}\n", r"users\[0\] has no name", id="no-name"),
        pytest.param("contexts:\n- name: 5\n", r"contexts\[0\] has no name", id="number-name"),
        pytest.param(
            "contexts:\n- name: a\n  context: text\n", "context is not a mapping", id="body"
        ),
        pytest.param("current-context: [a]\n", "current-context is not a string", id="current"),
        pytest.param("a: 1\n---\nb: 2\n", "not valid YAML", id="two-documents"),
    ],
)
def test_malformed_kubeconfig_is_refused(text: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem) as caught:
        Document.parse(text, "/k/config")
    assert "/k/config" in str(caught.value)
    assert caught.value.exit_code == 2


def test_block_style_files_are_spliced_not_round_tripped(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_round_trip(*_args: object) -> str:
        pytest.fail("the whole file was round-tripped")

    monkeypatch.setattr("rgpu_exec.kubeconfig.roundtrip.render_whole", no_round_trip)
    once = generate(KUBECTL_STYLE)
    generate(once)
    Document.parse(once, "k").apply([merge.Remove("context", "rgpu-team-ml")])


def test_a_result_that_would_not_read_back_is_never_returned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("rgpu_exec.kubeconfig.splice.render", lambda *_: "clusters: []\n")
    monkeypatch.setattr("rgpu_exec.kubeconfig.roundtrip.render_whole", lambda *_: "oops: [\n")
    with pytest.raises(RgpuExecError, match="could not change kubeconfig safely"):
        generate(KUBECTL_STYLE)


def test_windows_line_ends_are_kept() -> None:
    out = generate(KUBECTL_STYLE.replace("\n", "\r\n"))
    assert out.count("\r\n") == out.count("\n")
    assert out.replace("\r\n", "\n") == generate(KUBECTL_STYLE)


@pytest.mark.parametrize(
    ("user", "why"),
    [
        pytest.param({"exec": {"command": "/venv/bin/rgpu-exec", "args": ["token"]}}, None, id="path"),
        pytest.param({"exec": {"command": "rgpu-exec.exe"}}, None, id="windows"),
        pytest.param({"exec": {"command": "kubectl", "args": ["rgpu", "token"]}}, None, id="kubectl-plugin"),
        pytest.param({"exec": {"command": "/opt/wrap", "args": ["token", "--namespace-id", NAMESPACE_ID], "installHint": install_hint("team-ml")}}, None, id="exec-command"),
        pytest.param({"exec": {"command": "sh", "args": ["-c", "curl ..."]}}, "runs 'sh', not rgpu-exec", id="console-curl"),
        pytest.param({"exec": {"args": ["x"]}}, "runs None, not rgpu-exec", id="no-command"),
        pytest.param({"token": "t"}, "has no exec stanza", id="token"),
        pytest.param(None, "has no exec stanza", id="null"),
    ],
)  # fmt: skip
def test_which_users_rgpu_exec_wrote(user: Any, why: str | None) -> None:
    assert foreign_exec(user) == why


@pytest.mark.parametrize(
    "user",
    [
        pytest.param({"exec": {"command": "other-tool", "args": ["token", "--namespace-id", NAMESPACE_ID]}}, id="same-args"),
        pytest.param({"exec": {"command": "/opt/wrap", "args": ["token", "--namespace-id", NAMESPACE_ID], "installHint": "install other-tool"}}, id="another-hint"),
    ],
)  # fmt: skip
def test_only_entries_recognisably_rgpu_execs_are_managed(user: Any) -> None:
    entry = kubeconfig_view.Entry("user", "u", user)
    assert foreign_exec(user) is not None
    assert managed_call(entry) is None
