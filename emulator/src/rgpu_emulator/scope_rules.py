"""The platform's API-key scope rules, as the emulator applies them: its own reading of
docs/api-contract.md ("API keys", the rules), not the product's.

The emulator is the fake the product is tested against, so it must not share the product's
reading of the rules: a misreading in both would be invisible. It never imports
`rgpu_exec.scopes`; `tests/emulator/test_scope_rules_differential.py` holds the two to the same
verdicts over the documented table and generated payloads.

What the contract says, and how it is read here:
- A payload is exactly one of `{"all": true}`, `{"inference": true}`,
  `{"kubernetes_exec": {"namespace_ids": [uuid, …]}}` or
  `{"kubernetes_exec": {"all_namespaces": true}}`.
- `false` counts as absent (assumed in the contract); so does `null` (read here: JSON's "no
  value"). A missing `scopes` field is the empty payload.
- Namespace IDs are UUIDs, lowercase and hyphenated; one written in capitals is the same UUID,
  and is stored lowercase. Duplicates are collapsed, the first kept.
- Every rule a payload breaks is found (`faults`); the answer names the first, in this order:
  the shape (an object), unknown fields, the types, then the documented rules in the order
  nothing granted, `all` with anything, mixed scopes, then the namespace part. The contract does
  not say which message wins when several rules are broken; this order is the emulator's choice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

INVALID_SCOPE = "invalid_scope"

# The contract's words (documented, or assumed and written there).
EMPTY = "At least one explicit scope is required"
MIXED = "Explicit mixed scopes are not supported"
ALL_WITH_OTHERS = "all cannot be combined with other scope fields"
NO_NAMESPACE = "At least one namespace ID is required unless all_namespaces is true"
UNKNOWN_FIELD = "Unknown scope field: "
NOT_UUIDS = "namespace_ids must contain UUIDs"
IDS_WITH_ALL_NAMESPACES = "namespace_ids cannot be combined with all_namespaces"
# Where the contract is silent (a payload of the wrong JSON types): the emulator's words.
NOT_AN_OBJECT = "Scope payload must be a JSON object"
NOT_A_BOOLEAN = " must be true or false"
KUBERNETES_NOT_AN_OBJECT = "kubernetes_exec must be an object"
IDS_NOT_A_LIST = "namespace_ids must be a list of namespace UUIDs"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TOP = ("all", "inference", "kubernetes_exec")
_KUBERNETES = ("namespace_ids", "all_namespaces")


class ScopeRejectedError(Exception):
    """A payload the platform answers with 400 `invalid_scope`: `message` is the first fault."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = INVALID_SCOPE


@dataclass(frozen=True)
class KeyScope:
    """A valid scope, normalised: what an API key may do."""

    all: bool = False
    inference: bool = False
    namespace_ids: tuple[str, ...] = ()
    all_namespaces: bool = False

    def payload(self) -> dict[str, Any]:
        """The scope in its documented shape, as the API returns it in a key object."""
        if self.all:
            return {"all": True}
        if self.inference:
            return {"inference": True}
        if self.all_namespaces:
            return {"kubernetes_exec": {"all_namespaces": True}}
        return {"kubernetes_exec": {"namespace_ids": list(self.namespace_ids)}}

    def allows_kubernetes(self, namespace_id: str) -> bool:
        """Whether a key with this scope gets Kubernetes credentials for the account's namespace
        `namespace_id`: `all`, or a `kubernetes_exec` scope that covers it. Never inference."""
        return self.all or self.all_namespaces or namespace_id.lower() in self.namespace_ids


def key_scope(payload: object) -> KeyScope:
    """The payload as a valid scope, or `ScopeRejectedError` naming its first fault."""
    found = faults(payload)
    if found:
        raise ScopeRejectedError(found[0])
    data: dict[str, Any] = payload if isinstance(payload, dict) else {}
    if _given(data.get("all")):
        return KeyScope(all=True)
    if _given(data.get("inference")):
        return KeyScope(inference=True)
    kubernetes: dict[str, Any] = data["kubernetes_exec"]
    if _given(kubernetes.get("all_namespaces")):
        return KeyScope(all_namespaces=True)
    ids: list[str] = kubernetes.get("namespace_ids") or []
    return KeyScope(namespace_ids=tuple(dict.fromkeys(i.lower() for i in ids)))


def faults(payload: object) -> list[str]:
    """Every rule `payload` breaks, in the order above (empty: a valid scope)."""
    if not isinstance(payload, dict):
        return [NOT_AN_OBJECT]
    found = [UNKNOWN_FIELD + str(name) for name in payload if name not in _TOP]
    kubernetes = payload.get("kubernetes_exec")
    if isinstance(kubernetes, dict):
        inner = [name for name in kubernetes if name not in _KUBERNETES]
        found += [f"{UNKNOWN_FIELD}kubernetes_exec.{name}" for name in inner]
    found += [name + NOT_A_BOOLEAN for name in ("all", "inference") if _not_boolean(payload, name)]
    ids: object = None
    all_namespaces = False
    if isinstance(kubernetes, dict):
        ids = kubernetes.get("namespace_ids")
        if ids is not None and not isinstance(ids, list):
            found.append(IDS_NOT_A_LIST)
        if _not_boolean(kubernetes, "all_namespaces"):
            found.append("all_namespaces" + NOT_A_BOOLEAN)
        all_namespaces = _given(kubernetes.get("all_namespaces"))
    elif _given(kubernetes):
        found.append(KUBERNETES_NOT_AN_OBJECT)
    grants_all, inference = _given(payload.get("all")), _given(payload.get("inference"))
    exec_scope = _given(kubernetes)
    if not (grants_all or inference or exec_scope):
        found.append(EMPTY)
    if grants_all and (inference or exec_scope):
        found.append(ALL_WITH_OTHERS)
    if inference and exec_scope:
        found.append(MIXED)
    if isinstance(kubernetes, dict):
        listed = ids if isinstance(ids, list) else []
        if not all(isinstance(i, str) and _UUID.fullmatch(i.lower()) for i in listed):
            found.append(NOT_UUIDS)
        if all_namespaces and listed:
            found.append(IDS_WITH_ALL_NAMESPACES)
        if not all_namespaces and not listed:
            found.append(NO_NAMESPACE)
    return found


def _given(value: object) -> bool:
    """Whether a field grants something: absent, `null` and `false` do not."""
    return value is not None and value is not False


def _not_boolean(data: dict[str, Any], name: str) -> bool:
    return not isinstance(data.get(name), (bool, type(None)))
