"""Errors of the emulated RemoteGPU API, each with the platform's status, code and message."""

from __future__ import annotations

KEY_MESSAGE = "Missing, invalid, revoked, or expired API key"  # the docs' one message


class ApiError(Exception):
    """An answer `{"error": {"code", "message"}}` with its status (the assumed error shape of
    docs/api-contract.md)."""

    status = 400

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequestError(ApiError):
    status = 400


class UnauthorizedError(ApiError):
    status = 401


class ForbiddenError(ApiError):
    status = 403


class NotFoundError(ApiError):
    status = 404


class ConflictError(ApiError):
    status = 409


def missing_access_token() -> UnauthorizedError:
    return UnauthorizedError("missing_access_token", "Missing access token")


def key_rejected(code: str) -> UnauthorizedError:
    """401 for a key-protected API: `missing_api_key`, `invalid_api_key`, `revoked_api_key`, ..."""
    return UnauthorizedError(code, KEY_MESSAGE)
