"""The product's scope rules (`rgpu_exec.scopes`, behind `rgpu-exec scope validate`) and the
emulator's own reading of them (`rgpu_emulator.scope_rules`) give the same verdicts: over the
table docs/api-contract.md documents, and over generated payloads.

The two share no code (the `emulator-own-scope-rules` contract of `lint-imports` holds that), so
a misreading of the contract in one shows here as a disagreement.
A verdict is the normalised scope of a valid payload, or a rejection. Where a payload breaks
several rules, the contract does not say which message wins: the product's message must then
name one of the rules the emulator finds broken.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rgpu_emulator import scope_rules
from rgpu_exec.scopes import ScopeError, parse_scopes

from conftest import examples

# The messages the contract words (documented, or assumed and written there).
CONTRACT_WORDS = (
    scope_rules.EMPTY,
    scope_rules.MIXED,
    scope_rules.ALL_WITH_OTHERS,
    scope_rules.NO_NAMESPACE,
    scope_rules.NOT_UUIDS,
    scope_rules.IDS_WITH_ALL_NAMESPACES,
)
REPO = Path(__file__).resolve().parents[2]
CONTRACT = " ".join((REPO / "docs" / "api-contract.md").read_text(encoding="utf-8").split())
NS1 = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"
NS2 = "0b1c2d3e-4f50-4617-8a9b-c0d1e2f3a4b5"

# docs/api-contract.md, "API keys", the rules: the three shapes, and each rejected payload with
# its message (documented, or assumed there).
DOCUMENTED_VALID = [
    {"all": True},
    {"inference": True},
    {"kubernetes_exec": {"namespace_ids": [NS1]}},
    {"kubernetes_exec": {"all_namespaces": True}},
    {"all": True, "inference": False},  # false counts as absent
    {"kubernetes_exec": {"namespace_ids": [NS1, NS2, NS1]}},  # duplicates collapse
]
DOCUMENTED_REJECTED = [
    ({}, "At least one explicit scope is required"),
    ({"all": False}, "At least one explicit scope is required"),
    (
        {"inference": True, "kubernetes_exec": {"namespace_ids": [NS1]}},
        "Explicit mixed scopes are not supported",
    ),
    ({"all": True, "inference": True}, "all cannot be combined with other scope fields"),
    (
        {"all": True, "kubernetes_exec": {"all_namespaces": True}},
        "all cannot be combined with other scope fields",
    ),
    (
        {"kubernetes_exec": {"namespace_ids": []}},
        "At least one namespace ID is required unless all_namespaces is true",
    ),
    ({"admin": True}, "Unknown scope field: admin"),
    ({"kubernetes_exec": {"namespace_ids": ["team-ml"]}}, "namespace_ids must contain UUIDs"),
    (
        {"kubernetes_exec": {"namespace_ids": [NS1], "all_namespaces": True}},
        "namespace_ids cannot be combined with all_namespaces",
    ),
]


def product(payload: object) -> dict[str, Any] | str:
    try:
        return parse_scopes(payload).payload()
    except ScopeError as exc:
        return f"rejected: {exc.message}"


def emulator(payload: object) -> dict[str, Any] | str:
    try:
        return scope_rules.key_scope(payload).payload()
    except scope_rules.ScopeRejectedError as exc:
        return f"rejected: {exc.message}"


@pytest.mark.parametrize("payload", DOCUMENTED_VALID)
def test_both_accept_every_documented_shape_alike(payload):
    assert emulator(payload) == product(payload)
    assert isinstance(emulator(payload), dict)


@pytest.mark.parametrize(("payload", "message"), DOCUMENTED_REJECTED)
def test_both_reject_each_documented_payload_with_the_contracts_words(payload, message):
    assert message.split(":")[0] in CONTRACT, "the table follows docs/api-contract.md"
    assert emulator(payload) == product(payload) == f"rejected: {message}"


def test_a_kubernetes_scope_covers_the_namespaces_it_names_and_inference_none():
    named = scope_rules.key_scope({"kubernetes_exec": {"namespace_ids": [NS1.upper()]}})
    assert named.allows_kubernetes(NS1)
    assert not named.allows_kubernetes(NS2)
    assert scope_rules.key_scope({"kubernetes_exec": {"all_namespaces": True}}).allows_kubernetes(
        NS2
    )
    assert scope_rules.key_scope({"all": True}).allows_kubernetes(NS2)
    assert not scope_rules.key_scope({"inference": True}).allows_kubernetes(NS1)


# Payloads near the valid ones, so that every rule is reached, and arbitrary JSON.
_scalars: st.SearchStrategy[Any] = (
    st.sampled_from([True, False, None, 0, 1, "true", "", [], {}]) | st.integers()
)
_ids = st.sampled_from([NS1, NS2, NS1.upper(), NS2[:-1], NS1 + " ", "{" + NS1 + "}", "", 7, None])
_kubernetes = (
    st.fixed_dictionaries(
        {},
        optional={
            "namespace_ids": st.lists(_ids, max_size=4) | _scalars,
            "all_namespaces": _scalars,
            "namespaces": _scalars,
        },
    )
    | _scalars
)
_payloads = st.fixed_dictionaries(
    {},
    optional={
        "all": _scalars,
        "inference": _scalars,
        "kubernetes_exec": _kubernetes,
        "admin": _scalars,
    },
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=examples(1500))
@given(_payloads | _json)
@example({"all": None, "inference": True})
@example({"kubernetes_exec": {"namespace_ids": None, "all_namespaces": True}})
@example({"kubernetes_exec": {"namespace_ids": [NS1.upper(), NS1]}})
@example({"kubernetes_exec": {"all_namespaces": False}})
@example({"kubernetes_exec": False, "inference": True})
@example({"all": 1, "kubernetes_exec": {"bogus": True}})
def test_the_emulator_and_the_product_give_the_same_verdicts(payload):
    payload = json.loads(json.dumps(payload))  # as the API and `scope validate` receive it
    ours, theirs = product(payload), emulator(payload)
    if isinstance(ours, dict) or isinstance(theirs, dict):
        assert ours == theirs
        return
    message = ours.removeprefix("rejected: ")
    broken = scope_rules.faults(payload)
    assert broken, "the emulator rejects it, so it names a broken rule"
    if message in CONTRACT_WORDS or message.startswith(scope_rules.UNKNOWN_FIELD):
        assert message in broken, (payload, message, broken)
