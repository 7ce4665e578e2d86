"""KUBERNETES_EXEC_INFO parsed in full (the cache-hit path only knows kubectl's usual forms)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import settings
from rgpu_exec.hotpath.exec_credential import SUPPORTED_API_VERSIONS, V1, recognise_exec_info


@dataclass(frozen=True)
class ExecInfo:
    api_version: str
    interactive: bool


def parse_exec_info(raw: str | None) -> ExecInfo:
    """The apiVersion to answer in, and whether we may prompt. Exit 2 on anything malformed."""
    known = recognise_exec_info(raw)
    if known is not None:
        return ExecInfo(*known)
    from pydantic import ValidationError  # noqa: PLC0415 - only for an unusual exec info

    try:
        info = exec_info_model().model_validate_json(raw or "")
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "the value"
        raise UsageError(
            f"{settings.ENV_EXEC_INFO} is not a valid ExecCredential ({where}: {first['msg']}). "
            "kubectl sets it; when running rgpu-exec by hand, unset it."
        ) from None
    if info.apiVersion not in SUPPORTED_API_VERSIONS:
        raise UsageError(
            f"{settings.ENV_EXEC_INFO} asks for apiVersion {info.apiVersion!r}, which rgpu-exec "
            f"does not speak. Set the kubeconfig exec apiVersion to {V1} (or "
            f"{SUPPORTED_API_VERSIONS[1]})."
        )
    return ExecInfo(info.apiVersion, info.spec.interactive)


@cache
def exec_info_model() -> Any:
    """The pydantic model of a whole exec info, built when first needed: `cluster_of`, on a
    token miss, does not pay for building it."""
    from pydantic import BaseModel, ConfigDict  # noqa: PLC0415

    class _Spec(BaseModel):
        model_config = ConfigDict(extra="allow")

        interactive: bool = False
        cluster: dict[str, Any] | None = None

    class _ExecInfo(BaseModel):
        model_config = ConfigDict(extra="allow")

        apiVersion: str  # noqa: N815 - the wire name
        kind: Literal["ExecCredential"] = "ExecCredential"
        spec: _Spec = _Spec()

    return _ExecInfo


@dataclass(frozen=True)
class Cluster:
    """The cluster kubectl will send the token to, as `provideClusterInfo: true` hands it over
    (`spec.cluster`): client-go gives the CA as data, the official Python client may give the
    kubeconfig's `certificate-authority` path instead."""

    server: str
    ca_data: str | None = None  # PEM text
    ca_file: str | None = None
    insecure: bool = False  # insecure-skip-tls-verify, as the kubeconfig says
    server_name: str | None = None  # tls-server-name
    proxy_url: str | None = None


def cluster_of(raw: str | None) -> Cluster | None:
    """The cluster in the exec info (`spec.cluster`), or None when there is none or it cannot be
    read: the caller then decides without asking the cluster."""
    import base64  # noqa: PLC0415
    import binascii  # noqa: PLC0415
    import json  # noqa: PLC0415

    try:
        cluster = json.loads(raw or "").get("spec", {}).get("cluster")
    except (ValueError, AttributeError):
        return None
    server = cluster.get("server") if isinstance(cluster, dict) else None
    if not isinstance(cluster, dict) or not isinstance(server, str) or not server:
        return None
    ca_data = cluster.get("certificate-authority-data")
    try:
        pem = base64.b64decode(ca_data, validate=True).decode() if ca_data else None
    except (binascii.Error, ValueError, TypeError):
        return None
    ca_file = cluster.get("certificate-authority")
    name = cluster.get("tls-server-name")
    proxy = cluster.get("proxy-url")
    return Cluster(
        server=server,
        ca_data=pem,
        ca_file=ca_file if isinstance(ca_file, str) and ca_file else None,
        insecure=cluster.get("insecure-skip-tls-verify") is True,
        server_name=name if isinstance(name, str) and name else None,
        proxy_url=proxy if isinstance(proxy, str) and proxy else None,
    )
