"""Version and (legacy, unaggregated) discovery documents of the emulated Kubernetes API.

kubectl asks for aggregated discovery first and falls back to these when the answer is plain
`application/json`.
"""

from __future__ import annotations

from typing import Any

KUBERNETES_VERSION = ("1", "33", "v1.33.0")
DISCOVERY_PATHS = ["/api", "/api/*", "/apis", "/apis/*", "/version", "/healthz", "/livez",
                   "/readyz", "/openapi", "/openapi/*"]  # fmt: skip
_ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def _resource(
    name: str, kind: str, namespaced: bool, verbs: list[str], short: str = ""
) -> dict[str, Any]:
    singular = kind.lower()
    entry = {"name": name, "singularName": singular, "namespaced": namespaced, "kind": kind,
             "verbs": verbs}  # fmt: skip
    if short:
        entry["shortNames"] = [short]
    return entry


_SELF = ["create"]
_CORE = [
    _resource("pods", "Pod", namespaced=True, verbs=_ALL, short="po"),
    _resource("configmaps", "ConfigMap", namespaced=True, verbs=_ALL, short="cm"),
    _resource("namespaces", "Namespace", namespaced=False, verbs=_ALL[1:], short="ns"),
]
_SELF_REVIEW = _resource("selfsubjectreviews", "SelfSubjectReview", namespaced=False, verbs=_SELF)
_GROUPS = {
    "authentication.k8s.io": {"v1": [_SELF_REVIEW], "v1beta1": [_SELF_REVIEW]},
    "authorization.k8s.io": {
        "v1": [
            _resource(
                "selfsubjectaccessreviews", "SelfSubjectAccessReview", namespaced=False, verbs=_SELF
            ),
            _resource(
                "selfsubjectrulesreviews", "SelfSubjectRulesReview", namespaced=False, verbs=_SELF
            ),
        ],
    },
}


def _group(name: str) -> dict[str, Any]:
    versions = [{"groupVersion": f"{name}/{v}", "version": v} for v in _GROUPS[name]]
    return {"name": name, "versions": versions, "preferredVersion": versions[0]}


def document(path: str, server_address: str) -> dict[str, Any] | None:
    """The discovery or version document at this path, or None."""
    if path == "/version":
        major, minor, git = KUBERNETES_VERSION
        return {"major": major, "minor": minor, "gitVersion": git + "+remotegpu-emulator",
                "gitCommit": "0" * 40, "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z",
                "goVersion": "go1.24", "compiler": "gc", "platform": "linux/amd64"}  # fmt: skip
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}  # fmt: skip
    if path == "/api/v1":
        return {"kind": "APIResourceList", "groupVersion": "v1", "resources": _CORE}
    if path == "/apis":
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [_group(name) for name in _GROUPS]}  # fmt: skip
    parts = path.split("/")
    if len(parts) == 3 and parts[1] == "apis" and parts[2] in _GROUPS:  # noqa: PLR2004
        return {"kind": "APIGroup", "apiVersion": "v1", **_group(parts[2])}
    if len(parts) == 4 and parts[1] == "apis" and parts[3] in _GROUPS.get(parts[2], {}):  # noqa: PLR2004
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{parts[2]}/{parts[3]}",
                "resources": _GROUPS[parts[2]][parts[3]]}  # fmt: skip
    return None


def is_discovery_path(path: str) -> bool:
    for allowed in DISCOVERY_PATHS:
        if path == allowed or (allowed.endswith("/*") and path.startswith(allowed[:-1])):
            return True
    return False
