"""The API-key scope rules of the RemoteGPU documentation, in one place.

`rgpu-exec scope validate` uses this module. The emulator reads the contract by itself
(`rgpu_emulator.scope_rules`); a differential test holds the two to the same verdicts.

A payload is exactly one of three shapes (the docs' words):
    {"all": true}
    {"inference": true}
    {"kubernetes_exec": {"namespace_ids": [uuid, ...]}}
    {"kubernetes_exec": {"all_namespaces": true}}

Checks run in this order; the first that fails gives the message (documented messages verbatim,
the rest marked assumed in docs/api-contract.md or chosen here):
    1. not a JSON object                      "Scope payload must be a JSON object"
    2. an unknown field                       "Unknown scope field: <name>"
       (inside kubernetes_exec: <name> is `kubernetes_exec.<field>`)
    3. a value of the wrong type              "<field> must be true or false", ...
    4. nothing granted (false counts as absent) "At least one explicit scope is required"
    5. all with anything else                 "all cannot be combined with other scope fields"
    6. inference with kubernetes_exec         "Explicit mixed scopes are not supported"
    7. a namespace id that is not a UUID      "namespace_ids must contain UUIDs"
    8. all_namespaces with namespace_ids      "namespace_ids cannot be combined with all_namespaces"
    9. no namespace and no all_namespaces     "At least one namespace ID is required unless
                                               all_namespaces is true"
Normalisation: false fields are dropped, namespace ids are lower-cased and duplicates collapsed
(first occurrence kept).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath.settings import looks_like_uuid

INVALID_SCOPE = "invalid_scope"

MSG_NOT_OBJECT = "Scope payload must be a JSON object"
MSG_UNKNOWN_FIELD = "Unknown scope field: {name}"
MSG_NOT_BOOLEAN = "{name} must be true or false"
MSG_KUBERNETES_NOT_OBJECT = "kubernetes_exec must be an object"
MSG_IDS_NOT_LIST = "namespace_ids must be a list of namespace UUIDs"
MSG_EMPTY = "At least one explicit scope is required"
MSG_ALL_COMBINED = "all cannot be combined with other scope fields"
MSG_MIXED = "Explicit mixed scopes are not supported"
MSG_NOT_UUID = "namespace_ids must contain UUIDs"
MSG_IDS_WITH_ALL_NAMESPACES = "namespace_ids cannot be combined with all_namespaces"
MSG_NO_NAMESPACE = "At least one namespace ID is required unless all_namespaces is true"

_TOP_FIELDS = ("all", "inference", "kubernetes_exec")
_KUBERNETES_FIELDS = ("namespace_ids", "all_namespaces")


class ScopeError(UsageError):
    """A scope payload the platform would reject with 400 `invalid_scope`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = INVALID_SCOPE


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError(INVALID_SCOPE, message)


def _flag(value: object, name: str) -> bool:
    """A boolean field: absent, null and false all mean "not granted"."""
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _fail(MSG_NOT_BOOLEAN.format(name=name))
    return value


def _unknown(data: dict[Any, Any], known: tuple[str, ...], parent: str = "") -> None:
    for name in data:
        if name not in known:
            raise _fail(MSG_UNKNOWN_FIELD.format(name=f"{parent}{name}"))


def _kubernetes_exec(value: object) -> dict[str, Any] | None:
    """The kubernetes_exec part, type-checked, or None when absent (null or false)."""
    if value is None or value is False:
        return None
    if not isinstance(value, dict):
        raise _fail(MSG_KUBERNETES_NOT_OBJECT)
    ids = value.get("namespace_ids")
    if ids is None:
        ids = []
    if not isinstance(ids, list):
        raise _fail(MSG_IDS_NOT_LIST)
    return {
        "namespace_ids": ids,
        "all_namespaces": _flag(value.get("all_namespaces"), "all_namespaces"),
    }


def _documented_rules(data: object) -> dict[str, Any]:
    """The payload checked against the rules above, in the model's own field layout."""
    if not isinstance(data, dict):
        raise _fail(MSG_NOT_OBJECT)
    _unknown(data, _TOP_FIELDS)
    if isinstance(data.get("kubernetes_exec"), dict):  # every unknown field before any type
        _unknown(data["kubernetes_exec"], _KUBERNETES_FIELDS, "kubernetes_exec.")
    grant_all = _flag(data.get("all"), "all")
    inference = _flag(data.get("inference"), "inference")
    kubernetes = _kubernetes_exec(data.get("kubernetes_exec"))
    if not (grant_all or inference or kubernetes is not None):
        raise _fail(MSG_EMPTY)
    if grant_all and (inference or kubernetes is not None):
        raise _fail(MSG_ALL_COMBINED)
    if inference and kubernetes is not None:
        raise _fail(MSG_MIXED)
    if kubernetes is not None:
        ids = kubernetes["namespace_ids"]
        if not all(isinstance(i, str) and looks_like_uuid(i.lower()) for i in ids):
            raise _fail(MSG_NOT_UUID)
        if kubernetes["all_namespaces"] and ids:
            raise _fail(MSG_IDS_WITH_ALL_NAMESPACES)
        if not kubernetes["all_namespaces"] and not ids:
            raise _fail(MSG_NO_NAMESPACE)
        kubernetes["namespace_ids"] = tuple(dict.fromkeys(i.lower() for i in ids))
    return {"all": grant_all, "inference": inference, "kubernetes_exec": kubernetes}


class KubernetesExecScope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace_ids: tuple[str, ...] = ()
    all_namespaces: bool = False


class Scopes(BaseModel):
    """A valid, normalised scope. Build it with `parse_scopes` (or `Scopes.model_validate`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    all: bool = False
    inference: bool = False
    kubernetes_exec: KubernetesExecScope | None = None

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: object) -> dict[str, Any]:
        return _documented_rules(data)

    def payload(self) -> dict[str, Any]:
        """The normalised payload, in the documented shape."""
        if self.all:
            return {"all": True}
        if self.inference:
            return {"inference": True}
        assert self.kubernetes_exec is not None  # noqa: S101 - guaranteed by the rules
        if self.kubernetes_exec.all_namespaces:
            return {"kubernetes_exec": {"all_namespaces": True}}
        return {"kubernetes_exec": {"namespace_ids": list(self.kubernetes_exec.namespace_ids)}}

    def allows_kubernetes(self, namespace_id: str) -> bool:
        """Whether this scope may get Kubernetes credentials for one of the account's namespaces."""
        if self.all:
            return True
        kubernetes = self.kubernetes_exec
        if kubernetes is None:
            return False
        return kubernetes.all_namespaces or namespace_id.lower() in kubernetes.namespace_ids

    def summary(self) -> str:
        """What the scope grants, in words."""
        if self.all:
            return "inference and Kubernetes credentials for every namespace of the account"
        if self.inference:
            return "inference only (no Kubernetes credentials)"
        assert self.kubernetes_exec is not None  # noqa: S101
        if self.kubernetes_exec.all_namespaces:
            return "Kubernetes credentials for every namespace of the account (no inference)"
        count = len(self.kubernetes_exec.namespace_ids)
        plural = "" if count == 1 else "s"
        return f"Kubernetes credentials for {count} namespace{plural} (no inference)"


def parse_scopes(payload: object) -> Scopes:
    """The payload as a valid `Scopes`, or a `ScopeError` carrying the documented message."""
    if isinstance(payload, Scopes):
        return payload
    try:
        return Scopes.model_validate(payload)
    except ValidationError as exc:
        raise ScopeError(str(exc.errors(include_url=False)[0]["msg"])) from None
