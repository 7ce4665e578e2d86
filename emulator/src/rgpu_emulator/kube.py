"""The Kubernetes API front: authenticate the issued tokens, authorize their namespace only.

Parse → check → call the store → render, answering JSON bodies as the apiserver does: discovery,
version, pods and configmaps in the token's namespace, the self-subject reviews behind
`kubectl auth whoami | can-i`, and `Status` objects (403 worded like the apiserver's RBAC, 401
for unknown or expired tokens) for everything else.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from rgpu_emulator import discovery
from rgpu_emulator.kube_store import RESOURCES, KubeError, table

if TYPE_CHECKING:
    from rgpu_emulator.models import Backend
    from rgpu_emulator.records import IssuedToken

_NAMESPACED = re.compile(r"/api/v1/namespaces/([^/]+)/([^/]+)(?:/([^/]+))?")
_CLUSTER = re.compile(r"/api/v1/([^/]+)(?:/([^/]+))?")
_REVIEW = re.compile(r"/apis/(authentication|authorization)\.k8s\.io/(v1|v1beta1|v1alpha1)/(\w+)")
_SELF_REVIEWS = {"selfsubjectreviews", "selfsubjectaccessreviews", "selfsubjectrulesreviews"}
_VERBS = {"GET": "get", "POST": "create", "DELETE": "delete", "PUT": "update", "PATCH": "patch"}
_ALL_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]


class Identity:
    """Who a token authenticates as, and the one namespace it may touch."""

    def __init__(self, issued: IssuedToken, namespace: str) -> None:
        self.issued = issued
        self.namespace = namespace
        self.username = f"remotegpu:apikey:{issued.key_prefix}"
        self.groups = [f"remotegpu:account:{issued.account_id}", "system:authenticated"]

    def allows(self, verb: str, resource: str, namespace: str) -> bool:
        """RBAC of a RemoteGPU token: anything namespaced in its namespace, plus self reviews."""
        if resource in _SELF_REVIEWS:
            return verb == "create"
        return bool(namespace) and namespace == self.namespace

    def forbidden(self, verb: str, resource: str, namespace: str, name: str = "") -> KubeError:
        subject = f'{resource} "{name}"' if name else resource
        where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        details = {"name": name, "kind": resource} if name else {"kind": resource}
        return KubeError(
            403, "Forbidden", f'{subject} is forbidden: User "{self.username}" cannot {verb} '
            f'resource "{resource}" in API group "" {where}', details,
        )  # fmt: skip


def unauthorized() -> KubeError:
    return KubeError(401, "Unauthorized", "Unauthorized", {})


def _not_found() -> KubeError:
    return KubeError(404, "NotFound", "the server could not find the requested resource", {})


class KubeFront:
    def __init__(self, backend: Backend, server_address: str) -> None:
        self.backend = backend
        self.server_address = server_address

    def authenticate(self, authorization: str | None) -> Identity:
        scheme, _, bearer = (authorization or "").partition(" ")
        issued = self.backend.token(bearer.strip()) if scheme.lower() == "bearer" else None
        name = self.backend.namespace_name(issued.namespace_id) if issued else None
        if issued is None or name is None:
            raise unauthorized()
        return Identity(issued, name)

    def handle(
        self, method: str, path: str, *, query: dict[str, str], accept: str, who: Identity,
        body: Any,
    ) -> tuple[int, dict[str, Any]]:  # fmt: skip
        """(status, JSON body); raises KubeError for failures."""
        path = path.rstrip("/") or "/"
        if method == "GET":
            static = discovery.document(path, self.server_address)
            if static is not None:
                return 200, static
        review = _REVIEW.fullmatch(path)
        if review and review.group(3) in _SELF_REVIEWS:
            if method != "POST":
                raise KubeError(405, "MethodNotAllowed", "the server does not allow this method "
                                "on the requested resource", {})  # fmt: skip
            return 201, self._review(review.group(2), review.group(3), who, body)
        match = _NAMESPACED.fullmatch(path)
        if match:
            namespace, resource, name = match.group(1), match.group(2), match.group(3) or ""
            return self._namespaced(
                method, (namespace, resource, name), query=query, accept=accept, who=who, body=body
            )
        match = _CLUSTER.fullmatch(path)
        if match and match.group(1) in {*RESOURCES, "namespaces"}:
            resource, name = match.group(1), match.group(2) or ""
            verb = _VERBS.get(method, "get") if name or method != "GET" else "list"
            # `namespaces/<name>` is checked in that namespace, like the apiserver does.
            namespace = name if resource == "namespaces" else ""
            raise who.forbidden(verb, resource, namespace, name)
        raise _not_found()

    def _namespaced(
        self, method: str, target: tuple[str, str, str], *, query: dict[str, str], accept: str,
        who: Identity, body: Any,
    ) -> tuple[int, dict[str, Any]]:  # fmt: skip
        namespace, resource, name = target
        verb = _VERBS.get(method, method.lower())
        if method == "GET" and not name:
            verb = "watch" if query.get("watch") in ("true", "1") else "list"
        if not who.allows(verb, resource, namespace):
            raise who.forbidden(verb, resource, namespace, name)
        if resource not in RESOURCES:
            raise _not_found()
        store, ns_id = self.backend.kube, who.issued.namespace_id
        if verb == "list":
            items, version = store.list(ns_id, resource)
            if "as=Table" in accept:
                return 200, table(resource, items, version)
            kind = RESOURCES[resource] + "List"
            return 200, {"kind": kind, "apiVersion": "v1",
                         "metadata": {"resourceVersion": version}, "items": items}  # fmt: skip
        if verb == "get":
            return 200, store.get(ns_id, resource, name)
        if verb == "create" and not name:
            if not isinstance(body, dict):
                raise KubeError(400, "BadRequest", "the request body must be a JSON object", {})
            return 201, store.create(ns_id, namespace, resource, body)
        if verb == "delete" and name:
            return 200, store.delete(ns_id, resource, name)
        raise KubeError(405, "MethodNotAllowed", "the server does not allow this method on the "
                        "requested resource", {"kind": resource})  # fmt: skip

    def _review(self, version: str, kind: str, who: Identity, body: Any) -> dict[str, Any]:
        spec = body.get("spec", {}) if isinstance(body, dict) else {}
        group = "authentication.k8s.io" if kind == "selfsubjectreviews" else "authorization.k8s.io"
        answer: dict[str, Any] = {
            "kind": {"selfsubjectreviews": "SelfSubjectReview",
                     "selfsubjectaccessreviews": "SelfSubjectAccessReview",
                     "selfsubjectrulesreviews": "SelfSubjectRulesReview"}[kind],
            "apiVersion": f"{group}/{version}",
            "metadata": {"creationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        }  # fmt: skip
        if kind == "selfsubjectreviews":
            extra = {"remotegpu.ai/namespace-id": [who.issued.namespace_id]}
            user = {"username": who.username, "groups": who.groups, "extra": extra}
            answer["status"] = {"userInfo": user}
        elif kind == "selfsubjectaccessreviews":
            answer["spec"] = spec
            answer["status"] = {"allowed": _access_allowed(who, spec)}
        else:
            answer["spec"] = spec
            answer["status"] = _rules(who, str(spec.get("namespace", "")))
        return answer


def _access_allowed(who: Identity, spec: dict[str, Any]) -> bool:
    attributes = spec.get("resourceAttributes")
    if isinstance(attributes, dict):
        verb = str(attributes.get("verb", ""))
        resource = str(attributes.get("resource", ""))
        if resource == "*" and verb != "*":
            resource = ""
        return who.allows(verb, resource, str(attributes.get("namespace") or ""))
    path_attributes = spec.get("nonResourceAttributes")
    if isinstance(path_attributes, dict):
        path = str(path_attributes.get("path", ""))
        return path_attributes.get("verb") == "get" and discovery.is_discovery_path(path)
    return False


def _rules(who: Identity, namespace: str) -> dict[str, Any]:
    rules: list[dict[str, Any]] = [
        {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"],
         "resources": ["selfsubjectreviews"]},
        {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
         "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
    ]  # fmt: skip
    if namespace and namespace == who.namespace:
        rules.insert(0, {"verbs": _ALL_VERBS, "apiGroups": ["*"], "resources": ["*"]})
    non_resource = [{"verbs": ["get"], "nonResourceURLs": discovery.DISCOVERY_PATHS}]
    return {"resourceRules": rules, "nonResourceRules": non_resource, "incomplete": False}
