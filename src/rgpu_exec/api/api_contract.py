"""The answers of the RemoteGPU API this plugin reads, as pydantic models (the error body's shape
is assumed, see docs/api-contract.md). Plain facts (paths, header, codes) are in `contract`.

The models of a failure are built when first used (`defer_build`): an exchange that succeeds,
the cold `token`'s usual path, builds only the ExecCredential's.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from rgpu_exec.hotpath.exec_credential import SUPPORTED_API_VERSIONS

# Built at first use, not at import (see the module's text).
_ON_A_FAILURE = ConfigDict(defer_build=True)


class ErrorDetail(BaseModel):
    model_config = _ON_A_FAILURE

    code: str
    message: str


class ErrorBody(BaseModel):
    """Assumed error shape: {"error": {"code": "<snake_case>", "message": "<human text>"}}."""

    model_config = _ON_A_FAILURE

    error: ErrorDetail


class KubernetesStatus(BaseModel):
    """What a Kubernetes API server answers an error with (`kind: Status`): never the
    RemoteGPU API's shape, so a URL that gets one is not the RemoteGPU API."""

    model_config = _ON_A_FAILURE

    kind: Literal["Status"]
    apiVersion: str  # noqa: N815 - the wire name
    reason: str = ""


class CredentialStatus(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    token: str = Field(min_length=1, max_length=16384)
    expiration_timestamp: AwareDatetime = Field(alias="expirationTimestamp")


class ExecCredentialAnswer(BaseModel):
    """The exchange's 200 body: an ExecCredential, v1 or v1beta1."""

    model_config = ConfigDict(populate_by_name=True)

    api_version: str = Field(alias="apiVersion")
    kind: Literal["ExecCredential"]
    status: CredentialStatus

    @field_validator("api_version")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value not in SUPPORTED_API_VERSIONS:
            raise ValueError(f"Input should be one of {', '.join(SUPPORTED_API_VERSIONS)}")
        return value
