"""The scope validator against a plain, independent reference implementation of the documented
rules (docs/api-contract.md, and the order of checks stated in `rgpu_exec.scopes`), on generated payloads.

The reference shares no code with the product: plain dictionaries, loops and string checks, in
the order the rules are written down.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from rgpu_exec.scopes import ScopeError, parse_scopes

from conftest import examples

NS1 = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"
NS2 = "0b1c2d3e-4f50-4617-8a9b-c0d1e2f3a4b5"

HEX = set("0123456789abcdefABCDEF")


class Rejected(Exception):  # noqa: N818 - a verdict, not an error of the test
    pass


def is_uuid(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False
    groups = value.split("-")
    return [len(g) for g in groups] == [8, 4, 4, 4, 12] and all(c in HEX for c in "".join(groups))


def granted(value: object, name: str) -> bool:
    """A boolean field: absent, null and false are "not granted"; true is; anything else is not
    a boolean (JSON numbers are not booleans)."""
    if value is None or value is False:
        return False
    if value is True:
        return True
    raise Rejected(f"{name} must be true or false")


def reference(payload: object) -> dict[str, Any]:
    """The documented rules, in their documented order; the normalised payload, or Rejected."""
    # 1. The payload is an object.
    if not isinstance(payload, dict):
        raise Rejected("Scope payload must be a JSON object")
    # 2. Unknown fields, at the top level, then inside kubernetes_exec.
    for name in payload:
        if name not in ("all", "inference", "kubernetes_exec"):
            raise Rejected(f"Unknown scope field: {name}")
    kubernetes = payload.get("kubernetes_exec")
    if isinstance(kubernetes, dict):
        for name in kubernetes:
            if name not in ("namespace_ids", "all_namespaces"):
                raise Rejected(f"Unknown scope field: kubernetes_exec.{name}")
    # 3. Types, field by field.
    grant_all = granted(payload.get("all"), "all")
    inference = granted(payload.get("inference"), "inference")
    has_kubernetes = kubernetes is not None and kubernetes is not False
    ids: list[Any] = []
    all_namespaces = False
    if has_kubernetes:
        if not isinstance(kubernetes, dict):
            raise Rejected("kubernetes_exec must be an object")
        raw_ids = kubernetes.get("namespace_ids")
        if raw_ids is not None and not isinstance(raw_ids, list):
            raise Rejected("namespace_ids must be a list of namespace UUIDs")
        ids = raw_ids or []
        all_namespaces = granted(kubernetes.get("all_namespaces"), "all_namespaces")
    # 4. Something is granted.
    if not (grant_all or inference or has_kubernetes):
        raise Rejected("At least one explicit scope is required")
    # 5. all stands alone.
    if grant_all and (inference or has_kubernetes):
        raise Rejected("all cannot be combined with other scope fields")
    # 6. No mixed scopes.
    if inference and has_kubernetes:
        raise Rejected("Explicit mixed scopes are not supported")
    if grant_all:
        return {"all": True}
    if inference:
        return {"inference": True}
    # 7-9. The namespace part.
    if not all(is_uuid(i) for i in ids):
        raise Rejected("namespace_ids must contain UUIDs")
    if all_namespaces and ids:
        raise Rejected("namespace_ids cannot be combined with all_namespaces")
    if not all_namespaces and not ids:
        raise Rejected("At least one namespace ID is required unless all_namespaces is true")
    if all_namespaces:
        return {"kubernetes_exec": {"all_namespaces": True}}
    unique: list[str] = []
    for namespace_id in ids:
        if namespace_id.lower() not in unique:
            unique.append(namespace_id.lower())
    return {"kubernetes_exec": {"namespace_ids": unique}}


# Payloads near the valid ones, so that every rule is reached, plus arbitrary JSON.
_scalars: st.SearchStrategy[Any] = (
    st.sampled_from([True, False, None, 0, 1, "true", "", [], {}]) | st.integers()
)
_ids = st.sampled_from([NS1, NS2, NS1.upper(), NS2[:-1], NS1 + " ", "team-ml", "", 7, None])
_namespace_ids = st.lists(_ids, max_size=4) | _scalars
_kubernetes = (
    st.fixed_dictionaries(
        {},
        optional={
            "namespace_ids": _namespace_ids,
            "all_namespaces": _scalars,
            "namespaces": _scalars,
            "inference": _scalars,
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
        "All": _scalars,
    },
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)  # fmt: skip


def product(payload: object) -> dict[str, Any] | str:
    try:
        return parse_scopes(payload).payload()
    except ScopeError as exc:
        return f"rejected: {exc.message}" if exc.code == "invalid_scope" else f"code {exc.code}"


def expected(payload: object) -> dict[str, Any] | str:
    try:
        return reference(payload)
    except Rejected as exc:
        return f"rejected: {exc}"


@settings(max_examples=examples(1500))
@given(_payloads | _json)
@example({"all": 1, "kubernetes_exec": {"bogus": True}})  # unknown field before a wrong type
@example({"inference": "yes", "kubernetes_exec": {"namespaces": []}})
@example({"kubernetes_exec": {"namespace_ids": [NS1.upper(), NS1]}})
@example({"kubernetes_exec": {"namespace_ids": None, "all_namespaces": True}})
@example({"kubernetes_exec": {}})
@example({"kubernetes_exec": True})
@example({"all": True, "kubernetes_exec": False})
def test_the_validator_agrees_with_the_reference(payload: object) -> None:
    # Through JSON, as the platform and `rgpu-exec scope validate` receive it.
    payload = json.loads(json.dumps(payload))
    assert product(payload) == expected(payload)


@given(_payloads)
def test_normalised_payloads_are_valid_and_fixed_points(payload: object) -> None:
    result = product(payload)
    if isinstance(result, dict):
        assert product(result) == result
        assert len(result) == 1
