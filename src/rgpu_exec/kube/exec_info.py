"""KUBERNETES_EXEC_INFO parsed in full (the cache-hit path only knows kubectl's usual forms)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import settings
from rgpu_exec.hotpath.exec_credential import SUPPORTED_API_VERSIONS, V1, recognise_exec_info


class _Spec(BaseModel):
    model_config = ConfigDict(extra="allow")

    interactive: bool = False
    cluster: dict[str, Any] | None = None


class _ExecInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    apiVersion: str  # noqa: N815 - the wire name
    kind: Literal["ExecCredential"] = "ExecCredential"
    spec: _Spec = _Spec()


@dataclass(frozen=True)
class ExecInfo:
    api_version: str
    interactive: bool


def parse_exec_info(raw: str | None) -> ExecInfo:
    """The apiVersion to answer in, and whether we may prompt. Exit 2 on anything malformed."""
    known = recognise_exec_info(raw)
    if known is not None:
        return ExecInfo(*known)
    try:
        info = _ExecInfo.model_validate_json(raw or "")
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
