"""What a scope grants, in words, and a parsed scope passed through as it is: what mutation
testing (`make mutation`) found no quick test running."""

from __future__ import annotations

import pytest

from rgpu_exec.scopes import ScopeError, parse_scopes

NS_1 = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"
NS_2 = "0a1b2c3d-4e5f-4a6b-8c7d-9e8f0a1b2c3d"


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        pytest.param(
            {"all": True},
            "inference and Kubernetes credentials for every namespace of the account",
            id="all",
        ),
        pytest.param({"inference": True}, "inference only (no Kubernetes credentials)", id="inf"),
        pytest.param(
            {"kubernetes_exec": {"all_namespaces": True}},
            "Kubernetes credentials for every namespace of the account (no inference)",
            id="every-namespace",
        ),
        pytest.param(
            {"kubernetes_exec": {"namespace_ids": [NS_1]}},
            "Kubernetes credentials for 1 namespace (no inference)",
            id="one-namespace",
        ),
        pytest.param(
            {"kubernetes_exec": {"namespace_ids": [NS_1, NS_2]}},
            "Kubernetes credentials for 2 namespaces (no inference)",
            id="two-namespaces",
        ),
    ],
)
def test_a_scope_says_what_it_grants(payload, words: str) -> None:
    assert parse_scopes(payload).summary() == words


def test_a_parsed_scope_is_taken_as_it_is() -> None:
    scope = parse_scopes({"inference": True})

    assert parse_scopes(scope) is scope


@pytest.mark.parametrize(
    ("payload", "name"),
    [
        pytest.param({"kubernetes_exec": {"all_namespaces": "yes"}}, "all_namespaces", id="ns"),
        pytest.param({"all": 1}, "all", id="all"),
        pytest.param({"inference": "true"}, "inference", id="inference"),
    ],
)
def test_a_flag_of_the_wrong_type_is_named_in_the_message(payload, name: str) -> None:
    with pytest.raises(ScopeError) as raised:
        parse_scopes(payload)

    assert str(raised.value).endswith(f"{name} must be true or false")
