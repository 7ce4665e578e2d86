"""The Kubernetes objects of the emulated namespaces (pods and configmaps), in memory.

No HTTP here: `kube` routes requests to these methods. Objects are stored per namespace ID, so a
rename keeps them and a delete drops them.
"""

from __future__ import annotations

import calendar
import copy
import itertools
import threading
import time
import uuid
from typing import Any

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
RESOURCES = {"pods": "Pod", "configmaps": "ConfigMap"}


class KubeError(Exception):
    """A Kubernetes `Status` failure: reason, code and message as the apiserver words them."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def _now() -> str:
    return time.strftime(_TIME_FORMAT, time.gmtime())


class KubeStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions = itertools.count(1)
        self._objects: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}

    def reset(self) -> None:
        with self._lock:
            self._objects.clear()

    def drop(self, namespace_id: str) -> None:
        with self._lock:
            for key in [k for k in self._objects if k[0] == namespace_id]:
                del self._objects[key]

    def list(self, namespace_id: str, resource: str) -> tuple[list[dict[str, Any]], str]:
        with self._lock:
            items = self._objects.get((namespace_id, resource), {})
            objects = [copy.deepcopy(items[name]) for name in sorted(items)]
            return objects, str(next(self._versions))

    def get(self, namespace_id: str, resource: str, name: str) -> dict[str, Any]:
        with self._lock:
            found = self._objects.get((namespace_id, resource), {}).get(name)
            if found is None:
                raise _not_found(resource, name)
            return copy.deepcopy(found)

    def create(
        self, namespace_id: str, namespace: str, resource: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        metadata = body.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not isinstance(name, str) or not name:
            raise KubeError(
                422, "Invalid", f'{RESOURCES[resource]} "" is invalid: metadata.name: Required '
                "value: name or generateName is required", {"kind": resource},
            )  # fmt: skip
        body_namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        if body_namespace not in (None, "", namespace):
            raise KubeError(
                400, "BadRequest", "the namespace of the provided object does not match the "
                "namespace sent on the request", {},
            )  # fmt: skip
        obj = copy.deepcopy(body)
        obj["apiVersion"], obj["kind"] = "v1", RESOURCES[resource]
        with self._lock:
            items = self._objects.setdefault((namespace_id, resource), {})
            if name in items:
                raise KubeError(
                    409, "AlreadyExists", f'{resource} "{name}" already exists',
                    {"name": name, "kind": resource},
                )  # fmt: skip
            obj["metadata"] = {
                **metadata,  # type: ignore[dict-item]
                "namespace": namespace,
                "uid": str(uuid.uuid4()),
                "resourceVersion": str(next(self._versions)),
                "creationTimestamp": _now(),
            }
            if resource == "pods":
                obj.setdefault("status", {"phase": "Pending"})
            items[name] = obj
            return copy.deepcopy(obj)

    def delete(self, namespace_id: str, resource: str, name: str) -> dict[str, Any]:
        with self._lock:
            items = self._objects.get((namespace_id, resource), {})
            if name not in items:
                raise _not_found(resource, name)
            return items.pop(name)


def _not_found(resource: str, name: str) -> KubeError:
    return KubeError(
        404, "NotFound", f'{resource} "{name}" not found', {"name": name, "kind": resource}
    )


def _age(created: str) -> str:
    try:
        seconds = max(0, int(time.time()) - calendar.timegm(time.strptime(created, _TIME_FORMAT)))
    except (TypeError, ValueError):
        return "<unknown>"
    if seconds < 120:  # noqa: PLR2004
        return f"{seconds}s"
    if seconds < 7200:  # noqa: PLR2004
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def table(resource: str, objects: list[dict[str, Any]], version: str) -> dict[str, Any]:
    """A `meta.k8s.io/v1` Table, what `kubectl get` asks for and prints as is."""

    def column(name: str, kind: str = "string", fmt: str = "") -> dict[str, Any]:
        return {"name": name, "type": kind, "format": fmt, "description": name, "priority": 0}

    rows = []
    for obj in objects:
        meta = obj.get("metadata", {})
        age = _age(meta.get("creationTimestamp", ""))
        if resource == "pods":
            containers = obj.get("spec", {}).get("containers", [])
            phase = obj.get("status", {}).get("phase", "Pending")
            cells: list[Any] = [meta.get("name"), f"0/{len(containers)}", phase, 0, age]
        else:
            cells = [meta.get("name"), len(obj.get("data", {}) or {}), age]
        partial = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
        }
        rows.append({"cells": cells, "object": partial})
    if resource == "pods":
        columns = [
            column("Name", fmt="name"), column("Ready"), column("Status"),
            column("Restarts", "integer"), column("Age"),
        ]  # fmt: skip
    else:
        columns = [column("Name", fmt="name"), column("Data", "integer"), column("Age")]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": version},
        "columnDefinitions": columns,
        "rows": rows,
    }
