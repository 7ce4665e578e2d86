"""The parts of the RemoteGPU API this plugin consumes, in one place.

Some of it is assumed rather than published (the exchange path, the error body shape); keep
every such detail here so it can change in one edit.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from rgpu_exec.hotpath.exec_credential import SUPPORTED_API_VERSIONS

API_KEY_HEADER = "x-api-key"
# The exchange's 404 code for a namespace the key's account does not have.
NAMESPACE_NOT_FOUND = "namespace_not_found"
# Assumed: the docs do not publish the exchange path.
EXCHANGE_PATH = "/v1/kubernetes/namespaces/{namespace_id}/exec-credential"
# The API's generic error messages, lower case, words only: the docs give one message for every
# rejected key, and the platform words a missing namespace this way. They add nothing to the
# plugin's own explanation of the code (`api_errors.ErrorAnswer.beside`).
GENERIC_MESSAGES = frozenset(
    {
        "missing invalid revoked or expired api key",
        "namespace not found",
        "missing access token",
    }
)
# Where users create and manage keys, named in messages.
KEYS_CONSOLE_PAGE = "Settings / API Keys"


def exchange_url(api_url: str, namespace_id: str) -> str:
    return api_url.rstrip("/") + EXCHANGE_PATH.format(namespace_id=namespace_id)


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Assumed error shape: {"error": {"code": "<snake_case>", "message": "<human text>"}}."""

    error: ErrorDetail


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
