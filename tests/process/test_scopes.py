"""The scope rules, table-driven from the platform's documentation, and `rgpu-exec scope validate`."""

from __future__ import annotations

import json

import pytest

from rgpu_exec.errors import ExitCode, UsageError
from rgpu_exec.scopes import ScopeError, Scopes, parse_scopes

NS1 = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"
NS2 = "0b1c2d3e-4f50-4617-8a9b-c0d1e2f3a4b5"

VALID = [
    # The docs' three shapes.
    pytest.param({"all": True}, {"all": True}, id="all"),
    pytest.param({"inference": True}, {"inference": True}, id="inference"),
    pytest.param(
        {"kubernetes_exec": {"namespace_ids": [NS1]}},
        {"kubernetes_exec": {"namespace_ids": [NS1]}},
        id="namespace-scoped",
    ),
    pytest.param(
        {"kubernetes_exec": {"all_namespaces": True}},
        {"kubernetes_exec": {"all_namespaces": True}},
        id="all-namespaces",
    ),
    # Assumed normalisation: false counts as absent, duplicates collapse, ids lower-cased.
    pytest.param({"all": True, "inference": False}, {"all": True}, id="false-is-absent"),
    pytest.param({"all": True, "kubernetes_exec": None}, {"all": True}, id="null-is-absent"),
    pytest.param(
        {"kubernetes_exec": {"namespace_ids": [NS1, NS2, NS1.upper()], "all_namespaces": False}},
        {"kubernetes_exec": {"namespace_ids": [NS1, NS2]}},
        id="duplicates-collapsed",
    ),
    pytest.param(
        {"kubernetes_exec": {"all_namespaces": True, "namespace_ids": []}},
        {"kubernetes_exec": {"all_namespaces": True}},
        id="all-namespaces-with-empty-ids",
    ),
]

REJECTED = [
    # The four payloads the docs reject, with the docs' messages.
    pytest.param({}, "At least one explicit scope is required", id="empty"),
    pytest.param(
        {"inference": True, "kubernetes_exec": {"namespace_ids": [NS1]}},
        "Explicit mixed scopes are not supported",
        id="mixed",
    ),
    pytest.param(
        {"all": True, "inference": True},
        "all cannot be combined with other scope fields",
        id="all+",
    ),
    pytest.param(
        {"kubernetes_exec": {"namespace_ids": []}},
        "At least one namespace ID is required unless all_namespaces is true",
        id="no-namespace",
    ),
    # docs/api-contract.md's assumed rules.
    pytest.param({"all": False}, "At least one explicit scope is required", id="all-false"),
    pytest.param(
        {"all": True, "kubernetes_exec": {"all_namespaces": True}},
        "all cannot be combined with other scope fields",
        id="all+kubernetes",
    ),
    pytest.param({"admin": True}, "Unknown scope field: admin", id="unknown-field"),
    pytest.param(
        {"kubernetes_exec": {"namespaces": [NS1]}},
        "Unknown scope field: kubernetes_exec.namespaces",
        id="unknown-nested-field",
    ),
    pytest.param(
        {"kubernetes_exec": {"namespace_ids": ["team-ml"]}},
        "namespace_ids must contain UUIDs",
        id="not-a-uuid",
    ),
    pytest.param(
        {"kubernetes_exec": {"namespace_ids": [42]}}, "namespace_ids must contain UUIDs", id="int"
    ),
    pytest.param(
        {"kubernetes_exec": {"namespace_ids": [NS1], "all_namespaces": True}},
        "namespace_ids cannot be combined with all_namespaces",
        id="ids+all-namespaces",
    ),
    pytest.param(
        {"kubernetes_exec": {"all_namespaces": False}},
        "At least one namespace ID is required unless all_namespaces is true",
        id="all-namespaces-false",
    ),
    pytest.param(
        {"kubernetes_exec": {}},
        "At least one namespace ID is required unless all_namespaces is true",
        id="kubernetes-empty",
    ),
    # Types.
    pytest.param([], "Scope payload must be a JSON object", id="list"),
    pytest.param("all", "Scope payload must be a JSON object", id="string"),
    pytest.param(None, "Scope payload must be a JSON object", id="null"),
    pytest.param({"all": 1}, "all must be true or false", id="all-int"),
    pytest.param({"inference": "yes"}, "inference must be true or false", id="inference-str"),
    pytest.param({"kubernetes_exec": True}, "kubernetes_exec must be an object", id="k8s-true"),
    pytest.param(
        {"kubernetes_exec": {"namespace_ids": NS1}},
        "namespace_ids must be a list of namespace UUIDs",
        id="ids-not-list",
    ),
]


@pytest.mark.parametrize(("payload", "expected"), VALID)
def test_valid_payloads_normalise(payload, expected):
    assert parse_scopes(payload).payload() == expected
    # Normalising is idempotent, and the model agrees with itself.
    assert parse_scopes(expected).payload() == expected
    assert Scopes.model_validate(payload).payload() == expected


@pytest.mark.parametrize(("payload", "message"), REJECTED)
def test_rejected_payloads_carry_the_documented_message(payload, message):
    with pytest.raises(ScopeError) as raised:
        parse_scopes(payload)
    assert raised.value.message == message
    assert raised.value.code == "invalid_scope"
    assert str(raised.value) == f"rgpu-exec: {message}"
    assert isinstance(raised.value, UsageError)
    assert raised.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("payload", "namespace_id", "allowed"),
    [
        pytest.param({"all": True}, NS1, True, id="all"),
        pytest.param({"inference": True}, NS1, False, id="inference-only"),
        pytest.param({"kubernetes_exec": {"all_namespaces": True}}, NS2, True, id="all-ns"),
        pytest.param({"kubernetes_exec": {"namespace_ids": [NS1]}}, NS1, True, id="listed"),
        pytest.param({"kubernetes_exec": {"namespace_ids": [NS1]}}, NS2, False, id="not-listed"),
    ],
)
def test_which_namespaces_a_scope_allows(payload, namespace_id, allowed):
    assert parse_scopes(payload).allows_kubernetes(namespace_id) is allowed


def test_model_is_frozen():
    scopes = parse_scopes({"all": True})
    with pytest.raises(ValueError, match="frozen"):
        scopes.all = False


def test_cli_valid_prints_the_normalised_payload(run_cli):
    result = run_cli(
        ["scope", "validate", json.dumps({"kubernetes_exec": {"namespace_ids": [NS1, NS1]}})]
    )
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"kubernetes_exec": {"namespace_ids": [NS1]}}
    assert (
        result.stderr
        == "rgpu-exec: valid: grants Kubernetes credentials for 1 namespace (no inference).\n"
    )


def test_cli_invalid_exits_2_with_the_documented_message(run_cli):
    result = run_cli(
        ["scope", "validate", '{"inference": true, "kubernetes_exec": {"namespace_ids": []}}']
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "rgpu-exec: Explicit mixed scopes are not supported\n"


def test_cli_reads_stdin_and_answers_json(run_cli):
    ok = run_cli(["scope", "validate", "-", "--output", "json"], stdin='{"all": true}')
    assert ok.returncode == 0
    assert json.loads(ok.stdout) == {
        "valid": True,
        "scopes": {"all": True},
        "summary": "inference and Kubernetes credentials for every namespace of the account",
    }
    bad = run_cli(["scope", "validate", "--output", "json"], stdin="{}")
    assert bad.returncode == 2
    assert json.loads(bad.stdout) == {
        "valid": False,
        "error": {"code": "invalid_scope", "message": "At least one explicit scope is required"},
    }


def test_cli_not_json(run_cli):
    result = run_cli(["scope", "validate", "{all: true}"])
    assert result.returncode == 2
    assert result.stderr.startswith("rgpu-exec: the scope payload is not valid JSON (")
    as_json = run_cli(["scope", "validate", "{all: true}", "--output", "json"])
    assert json.loads(as_json.stdout)["error"]["code"] == "invalid_json"


def test_cli_help_has_an_example(run_cli):
    result = run_cli(["scope", "validate", "--help"])
    assert result.returncode == 0
    assert "rgpu-exec scope validate '{" in result.stdout
