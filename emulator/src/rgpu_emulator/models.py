"""State and rules of the emulated RemoteGPU platform: accounts, namespaces, API keys, tokens.

No HTTP here (see `responses` and `kube`): every method takes plain values, applies the rules
of docs/api-contract.md and returns plain values or raises an `exceptions.ApiError`. One lock
guards it all.
The records themselves (and their JSON forms) are in `records`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
import threading
import uuid
from typing import Any

from rgpu_emulator import exceptions as exc
from rgpu_emulator.kube_store import KubeStore
from rgpu_emulator.records import (
    Account,
    ApiKey,
    Clock,
    IssuedToken,
    Namespace,
    Settings,
    Stats,
    parse_time,
)
from rgpu_emulator.scope_rules import KeyScope, ScopeRejectedError, key_scope

KEY_NAME_MAX = 64
_NAMESPACE_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_KEY_SECRET_BYTES = 24  # 32 url-safe characters


def _digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


class Backend:
    """The whole platform. Thread-safe: every public method takes the lock."""

    def __init__(self, accounts: int = 2, settings: Settings | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.initial = settings or Settings()
        self.settings = Settings(**vars(self.initial))
        self.accounts = [
            Account(str(uuid.uuid4()), "rgpu_session_" + secrets.token_urlsafe(24))
            for _ in range(accounts)
        ]
        self.kube = KubeStore()
        self.reset()

    def reset(self) -> None:
        """Forget every namespace, key, token, object, counter and the clock offset."""
        with self.lock:
            self.clock.offset = 0.0
            self.settings = Settings(**vars(self.initial))
            self.namespaces: dict[str, Namespace] = {}
            self.keys: dict[str, ApiKey] = {}
            self.tokens: dict[str, IssuedToken] = {}
            self.stats = Stats()
            self.kube.reset()

    # -- session auth ---------------------------------------------------------------------------

    def account_for_session(self, authorization: str | None) -> Account:
        scheme, _, token = (authorization or "").partition(" ")
        for account in self.accounts:
            if scheme.lower() == "bearer" and secrets.compare_digest(token, account.access_token):
                return account
        raise exc.missing_access_token()

    # -- namespaces -----------------------------------------------------------------------------

    def _check_namespace_name(self, account: Account, name: object, renaming: str = "") -> str:
        if not isinstance(name, str) or not _NAMESPACE_NAME.fullmatch(name):
            raise exc.BadRequestError(
                "invalid_name",
                "Namespace names must be lowercase DNS labels: 1-63 characters from a-z, 0-9 and "
                "'-', starting and ending with a letter or digit",
            )
        if name == "all":
            raise exc.BadRequestError("invalid_name", "The namespace name 'all' is reserved")
        for ns in self.namespaces.values():
            if ns.account_id == account.id and ns.name == name and ns.id != renaming:
                raise exc.ConflictError(
                    "namespace_name_taken", f"A namespace named {name} already exists"
                )
        return name

    def list_namespaces(self, account: Account) -> list[Namespace]:
        with self.lock:
            return [ns for ns in self.namespaces.values() if ns.account_id == account.id]

    def create_namespace(self, account: Account, name: object) -> Namespace:
        with self.lock:
            ns = Namespace(
                str(uuid.uuid4()),
                account.id,
                self._check_namespace_name(account, name),
                self.clock.now(),
            )
            self.namespaces[ns.id] = ns
            return ns

    def namespace(self, account: Account, namespace_id: str) -> Namespace:
        with self.lock:
            ns = self.namespaces.get(namespace_id.lower())
            if ns is None or ns.account_id != account.id:
                raise exc.NotFoundError("namespace_not_found", "Namespace not found")
            return ns

    def rename_namespace(self, account: Account, namespace_id: str, name: object) -> Namespace:
        with self.lock:
            ns = self.namespace(account, namespace_id)
            ns.name = self._check_namespace_name(account, name, renaming=ns.id)
            return ns

    def delete_namespace(self, account: Account, namespace_id: str) -> None:
        with self.lock:
            ns = self.namespace(account, namespace_id)
            del self.namespaces[ns.id]
            self.kube.drop(ns.id)

    # -- API keys -------------------------------------------------------------------------------

    def _key(self, account: Account, key_id: str) -> ApiKey:
        key = self.keys.get(key_id.lower())
        if key is None or key.account_id != account.id:
            raise exc.NotFoundError("api_key_not_found", "API key not found")
        return key

    def _check_scopes(self, account: Account, payload: object) -> KeyScope:
        try:
            scopes = key_scope({} if payload is None else payload)
        except ScopeRejectedError as error:
            raise exc.BadRequestError(error.code, error.message) from None
        for namespace_id in scopes.namespace_ids:
            ns = self.namespaces.get(namespace_id)
            if ns is None or ns.account_id != account.id:
                raise exc.BadRequestError(
                    "namespace_not_owned",
                    "kubernetes_exec.namespace_ids must reference namespaces owned by the "
                    f"current account ({namespace_id} is not one of them)",
                )
        return scopes

    def _check_expiry(self, value: object) -> float | None:
        if value is None:
            return None
        expires_at = parse_time(value, "expires_at")
        if expires_at <= self.clock.now():
            raise exc.BadRequestError("invalid_expiration", "Expiration must be in the future")
        return expires_at

    @staticmethod
    def _check_key_name(name: object) -> str:
        if not isinstance(name, str) or not 0 < len(name) <= KEY_NAME_MAX:
            raise exc.BadRequestError("invalid_name", "Key names are limited to 64 characters")
        return name

    def list_keys(self, account: Account) -> list[ApiKey]:
        with self.lock:
            return [k for k in self.keys.values() if k.account_id == account.id]

    def create_key(
        self, account: Account, name: object, scopes: object, expires_at: object = None
    ) -> tuple[ApiKey, str]:
        """The new key and its raw value (shown only this once)."""
        with self.lock:
            checked_name = self._check_key_name(name)
            checked_scopes = self._check_scopes(account, scopes)
            checked_expiry = self._check_expiry(expires_at)
            now = self.clock.now()
            active = [k for k in self.list_keys(account) if k.status(now) == "active"]
            if len(active) >= self.settings.max_active_keys:
                raise exc.ConflictError(
                    "active_key_limit",
                    f"The account has reached its limit of {self.settings.max_active_keys} "
                    "active keys; revoke one first",
                )
            prefixes = {k.prefix for k in self.keys.values()}
            prefix = "rgpu_" + secrets.token_hex(4)
            while prefix in prefixes:  # pragma: no cover - 1 in 4 billion
                prefix = "rgpu_" + secrets.token_hex(4)
            raw = f"{prefix}_{secrets.token_urlsafe(_KEY_SECRET_BYTES)}"
            key = ApiKey(
                str(uuid.uuid4()), account.id, checked_name, prefix, _digest(raw), checked_scopes,
                now, expires_at=checked_expiry,
            )  # fmt: skip
            self.keys[key.id] = key
            return key, raw

    def _modifiable(self, account: Account, key_id: str) -> ApiKey:
        key = self._key(account, key_id)
        status = key.status(self.clock.now())
        if status == "revoked":
            raise exc.ConflictError("key_revoked", "Revoked keys cannot be modified")
        if status == "expired":
            raise exc.ConflictError("key_expired", "Expired keys cannot be modified")
        return key

    def update_key(self, account: Account, key_id: str, changes: dict[str, Any]) -> ApiKey:
        with self.lock:
            key = self._modifiable(account, key_id)
            unknown = sorted(set(changes) - {"name", "scopes", "expires_at"})
            if unknown:
                raise exc.BadRequestError("invalid_request", f"Unknown field: {unknown[0]}")
            if not changes:
                raise exc.BadRequestError(
                    "invalid_request", "Nothing to update: send name, scopes or expires_at"
                )
            name = self._check_key_name(changes["name"]) if "name" in changes else key.name
            scopes = self._check_scopes(account, changes["scopes"]) if "scopes" in changes else None
            expiry = key.expires_at
            if "expires_at" in changes:
                expiry = self._check_expiry(changes["expires_at"])
            key.name, key.scopes, key.expires_at = name, scopes or key.scopes, expiry
            return key

    def revoke_key(self, account: Account, key_id: str) -> ApiKey:
        with self.lock:
            key = self._modifiable(account, key_id)
            key.revoked_at = self.clock.now()
            return key

    # -- the credential exchange ----------------------------------------------------------------

    def exchange(
        self, raw_key: str | None, namespace_id: str, expires_in: float | None = None
    ) -> IssuedToken:
        """A namespace token for the key, or 401 / 404 / 403 as docs/api-contract.md says.

        `expires_in` overrides the token lifetime (fault injection: an expiry in the past).
        """
        with self.lock:
            now = self.clock.now()
            if not raw_key:
                raise exc.key_rejected("missing_api_key")
            digest = _digest(raw_key)
            key = next((k for k in self.keys.values() if k.digest == digest), None)
            if key is None:
                raise exc.key_rejected("invalid_api_key")
            status = key.status(now)
            if status != "active":
                raise exc.key_rejected(f"{status}_api_key")
            ns = self.namespaces.get(namespace_id.lower())
            if ns is None or ns.account_id != key.account_id:
                raise exc.NotFoundError("namespace_not_found", "Namespace not found")
            if not key.scopes.allows_kubernetes(ns.id):
                why = "is inference-only" if key.scopes.inference else "does not cover it"
                raise exc.ForbiddenError(
                    "forbidden", f"The API key may not access namespace {ns.id}: its scope {why}"
                )
            key.last_used_at = now
            issued = IssuedToken(
                "rgpu-k8s-" + secrets.token_urlsafe(32), key.id, key.prefix, key.account_id,
                ns.id, now, now + (self.settings.token_ttl if expires_in is None else expires_in),
            )  # fmt: skip
            self.tokens[issued.token] = issued
            self.stats.exchanges += 1
            self.stats.by_namespace[ns.id] += 1
            self.stats.by_key[key.prefix] += 1
            return issued

    def token(self, bearer: str) -> IssuedToken | None:
        """The issued token, if it is known and not expired (the kube front's authentication)."""
        with self.lock:
            issued = self.tokens.get(bearer)
            if issued is None or not issued.valid(self.clock.now()):
                return None
            if issued.namespace_id not in self.namespaces:
                return None
            return issued

    def invalidate_tokens(self, key_id: str | None = None, namespace_id: str | None = None) -> int:
        """Make the Kubernetes front reject issued tokens that are still valid: all of them, or
        those of one key and/or one namespace. How many were invalidated."""
        with self.lock:
            now = self.clock.now()
            chosen = [
                issued
                for issued in self.tokens.values()
                if issued.valid(now)
                and (key_id is None or issued.key_id == key_id.lower())
                and (namespace_id is None or issued.namespace_id == namespace_id.lower())
            ]
            for issued in chosen:
                self.tokens[issued.token] = dataclasses.replace(issued, invalidated_at=now)
            return len(chosen)

    def describe_token(self, bearer: str) -> dict[str, Any] | None:
        """Which key and namespace an issued token belongs to (control plane; soak tests)."""
        with self.lock:
            issued = self.tokens.get(bearer)
            return None if issued is None else issued.describe(self.clock.now())

    def namespace_name(self, namespace_id: str) -> str | None:
        with self.lock:
            ns = self.namespaces.get(namespace_id)
            return None if ns is None else ns.name
