"""The use case of `rgpu-exec scope validate`: check a key's scope payload offline, by the
platform's rules (see `scopes`). A payload that passes here is one the API accepts, apart from
namespace ownership, which only the API can know.

It never prints: the command reads the payload, and renders the result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rgpu_exec.errors import RgpuExecError, UsageError


@dataclass(frozen=True)
class ScopeRequest:
    """The payload's text, as given on the command line or read from stdin."""

    payload: str


@dataclass(frozen=True)
class ScopeResult:
    """The normalised payload and what it grants, or why it is refused (`error`, with the
    platform's `code`, or `invalid_json`)."""

    scopes: dict[str, Any] | None = None
    summary: str | None = None
    error: RgpuExecError | None = None
    code: str | None = None

    @property
    def valid(self) -> bool:
        return self.error is None

    def document(self) -> dict[str, Any]:
        """The `-o json` document (docs/json-output.md)."""
        if self.error is None:
            return {"valid": True, "scopes": self.scopes, "summary": self.summary}
        return {"valid": False, "error": {"code": self.code, "message": self.error.message}}


def run(request: ScopeRequest) -> ScopeResult:
    from rgpu_exec.scopes import ScopeError, parse_scopes  # noqa: PLC0415

    try:
        payload = json.loads(request.payload)
    except ValueError as exc:
        error = UsageError(
            f"the scope payload is not valid JSON ({exc}). Quote it for your shell, e.g. "
            '\'{"kubernetes_exec": {"namespace_ids": ["<namespace UUID>"]}}\'.'
        )
        return ScopeResult(error=error, code="invalid_json")
    try:
        scopes = parse_scopes(payload)
    except ScopeError as exc:
        return ScopeResult(error=exc, code=exc.code)
    return ScopeResult(scopes=scopes.payload(), summary=scopes.summary())
