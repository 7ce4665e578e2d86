"""The records the emulated platform keeps: accounts, namespaces, API keys, tokens, counters.

Plain dataclasses with their JSON forms; the rules that change them live in `models`.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rgpu_emulator import exceptions as exc
from rgpu_emulator.scope_rules import KeyScope  # noqa: TC001 - a dataclass field type, needed at run time

DEFAULT_TOKEN_TTL = 900.0
DEFAULT_MAX_ACTIVE_KEYS = 10


def rfc3339(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def parse_time(value: object, field_name: str) -> float:
    """An RFC 3339 timestamp with a zone, as epoch seconds; else 400."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed.timestamp()
    raise exc.BadRequestError("invalid_expiration", f"{field_name} must be an RFC 3339 timestamp")


@dataclass
class Clock:
    """The emulator's clock: the real one plus an offset that tests move to expire things."""

    offset: float = 0.0

    def now(self) -> float:
        return time.time() + self.offset


@dataclass(frozen=True)
class Account:
    id: str
    access_token: str


@dataclass
class Namespace:
    id: str
    account_id: str
    name: str
    created_at: float

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "created_at": rfc3339(self.created_at)}


@dataclass
class ApiKey:
    id: str
    account_id: str
    name: str
    prefix: str
    digest: str
    scopes: KeyScope
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None
    last_used_at: float | None = None

    def status(self, now: float) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def to_json(self, now: float) -> dict[str, Any]:
        def when(epoch: float | None) -> str | None:
            return None if epoch is None else rfc3339(epoch)

        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "scopes": self.scopes.payload(),
            "status": self.status(now),
            "created_at": rfc3339(self.created_at),
            "expires_at": when(self.expires_at),
            "revoked_at": when(self.revoked_at),
            "last_used_at": when(self.last_used_at),
        }


@dataclass(frozen=True)
class IssuedToken:
    token: str
    key_id: str
    key_prefix: str
    account_id: str
    namespace_id: str
    issued_at: float
    expires_at: float
    # Set by the control plane (`/_emulator/tokens/invalidate`): the Kubernetes front rejects
    # the token from then on, as a cluster that stopped accepting it would.
    invalidated_at: float | None = None

    def valid(self, now: float) -> bool:
        return now < self.expires_at and self.invalidated_at is None

    def describe(self, now: float) -> dict[str, Any]:
        """What the control plane tells a test about a token (never the token itself)."""
        return {
            "key_id": self.key_id,
            "key_prefix": self.key_prefix,
            "account_id": self.account_id,
            "namespace_id": self.namespace_id,
            "issued_at": rfc3339(self.issued_at),
            "expires_at": rfc3339(self.expires_at),
            "invalidated_at": None if self.invalidated_at is None else rfc3339(self.invalidated_at),
            "valid": self.valid(now),
        }


@dataclass
class Stats:
    exchanges: int = 0
    by_namespace: Counter[str] = field(default_factory=Counter)
    by_key: Counter[str] = field(default_factory=Counter)
    kube_requests: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "exchanges": {
                "total": self.exchanges,
                "by_namespace": dict(self.by_namespace),
                "by_key": dict(self.by_key),
            },
            "kube_requests": self.kube_requests,
        }


@dataclass
class Settings:
    token_ttl: float = DEFAULT_TOKEN_TTL
    max_active_keys: int = DEFAULT_MAX_ACTIVE_KEYS
    exchange_delay: float = 0.0  # seconds added to every exchange (benchmarks)
    kube_latency: float = 0.0  # seconds added to every request of the Kubernetes front
