"""The emulator's rules, in-process (no HTTP): each documented rule and status, table-driven."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from rgpu_emulator import exceptions as exc
from rgpu_emulator.models import Backend
from rgpu_emulator.records import Settings, rfc3339

if TYPE_CHECKING:
    from collections.abc import Callable

FOREIGN = "0b1c2d3e-4f50-4617-8a9b-c0d1e2f3a4b5"


@pytest.fixture
def backend():
    return Backend(accounts=2, settings=Settings(max_active_keys=5))


@pytest.fixture
def account(backend):
    return backend.accounts[0]


def error_of(call: Callable[..., object], *args: object) -> tuple[int, str, str]:
    with pytest.raises(exc.ApiError) as raised:
        call(*args)
    return raised.value.status, raised.value.code, raised.value.message


# -- session auth -----------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer nope", "Basic x"])
def test_account_apis_need_the_session_token(backend, header):
    assert error_of(backend.account_for_session, header) == (
        401, "missing_access_token", "Missing access token",
    )  # fmt: skip


def test_each_account_has_its_own_session_token(backend):
    for account in backend.accounts:
        assert backend.account_for_session(f"Bearer {account.access_token}") == account


# -- namespaces -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        pytest.param("team-ml", None, None, id="ok"),
        pytest.param("a" * 63, None, None, id="63-chars"),
        pytest.param("a" * 64, 400, "invalid_name", id="64-chars"),
        pytest.param("", 400, "invalid_name", id="empty"),
        pytest.param("Team", 400, "invalid_name", id="upper-case"),
        pytest.param("-team", 400, "invalid_name", id="leading-dash"),
        pytest.param("team-", 400, "invalid_name", id="trailing-dash"),
        pytest.param("team_ml", 400, "invalid_name", id="underscore"),
        pytest.param("all", 400, "invalid_name", id="reserved"),
        pytest.param(7, 400, "invalid_name", id="not-a-string"),
    ],
)
def test_namespace_names(backend, account, name, status, code):
    if status is None:
        assert backend.create_namespace(account, name).name == name
    else:
        assert error_of(backend.create_namespace, account, name)[:2] == (status, code)


def test_namespace_names_are_unique_per_account(backend, account):
    backend.create_namespace(account, "team-ml")
    assert error_of(backend.create_namespace, account, "team-ml")[:2] == (
        409,
        "namespace_name_taken",
    )
    backend.create_namespace(backend.accounts[1], "team-ml")  # another account: fine


def test_namespace_rename_delete_and_other_accounts(backend, account):
    ns = backend.create_namespace(account, "one")
    backend.create_namespace(account, "two")
    assert backend.rename_namespace(account, ns.id, "uno").name == "uno"
    assert backend.rename_namespace(account, ns.id, "uno").name == "uno"  # same name: fine
    assert error_of(backend.rename_namespace, account, ns.id, "two")[0] == 409
    assert error_of(backend.namespace, backend.accounts[1], ns.id)[:2] == (
        404,
        "namespace_not_found",
    )
    backend.delete_namespace(account, ns.id)
    assert error_of(backend.delete_namespace, account, ns.id)[0] == 404
    assert [n.name for n in backend.list_namespaces(account)] == ["two"]


# -- API keys ---------------------------------------------------------------------------------


def test_created_key_shape_and_raw_value_shown_once(backend, account):
    ns = backend.create_namespace(account, "team-ml")
    key, raw = backend.create_key(account, "ci", {"kubernetes_exec": {"namespace_ids": [ns.id]}})
    assert re.fullmatch(r"rgpu_[0-9a-f]{8}_[A-Za-z0-9_-]{32}", raw)
    assert key.prefix == raw[:13]
    listed = [k.to_json(backend.clock.now()) for k in backend.list_keys(account)]
    assert listed[0]["prefix"] == key.prefix
    assert raw not in repr(listed)
    assert listed[0]["status"] == "active"
    assert listed[0]["scopes"] == {"kubernetes_exec": {"namespace_ids": [ns.id]}}


@pytest.mark.parametrize(
    ("name", "scopes", "expires_at", "status", "code", "message"),
    [
        pytest.param("x" * 65, {"all": True}, None, 400, "invalid_name",
                     "Key names are limited to 64 characters", id="name-65"),
        pytest.param("", {"all": True}, None, 400, "invalid_name",
                     "Key names are limited to 64 characters", id="name-empty"),
        pytest.param("ok", {}, None, 400, "invalid_scope",
                     "At least one explicit scope is required", id="empty-scope"),
        pytest.param("ok", None, None, 400, "invalid_scope",
                     "At least one explicit scope is required", id="missing-scope"),
        pytest.param("ok", {"all": True, "inference": True}, None, 400, "invalid_scope",
                     "all cannot be combined with other scope fields", id="all+inference"),
        pytest.param("ok", {"all": True}, "2001-01-01T00:00:00Z", 400, "invalid_expiration",
                     "Expiration must be in the future", id="past-expiry"),
        pytest.param("ok", {"all": True}, "tomorrow", 400, "invalid_expiration",
                     "expires_at must be an RFC 3339 timestamp", id="bad-expiry"),
        pytest.param("ok", {"kubernetes_exec": {"namespace_ids": [FOREIGN]}}, None, 400,
                     "namespace_not_owned", None, id="namespace-not-owned"),
    ],
)  # fmt: skip
def test_key_creation_rules(backend, account, name, scopes, expires_at, status, code, message):
    got = error_of(backend.create_key, account, name, scopes, expires_at)
    assert got[:2] == (status, code)
    if message is not None:
        assert got[2] == message


def test_another_accounts_namespace_is_not_owned(backend, account):
    theirs = backend.create_namespace(backend.accounts[1], "theirs")
    scopes = {"kubernetes_exec": {"namespace_ids": [theirs.id]}}
    assert error_of(backend.create_key, account, "k", scopes)[:2] == (400, "namespace_not_owned")


def test_active_key_limit(backend, account):
    keys = [backend.create_key(account, f"k{i}", {"all": True})[0] for i in range(5)]
    assert error_of(backend.create_key, account, "k5", {"all": True})[:2] == (
        409,
        "active_key_limit",
    )
    backend.revoke_key(account, keys[0].id)  # revoked keys no longer count
    backend.create_key(account, "k5", {"all": True})


def test_update_and_lifecycle(backend, account):
    key, _ = backend.create_key(account, "k", {"all": True})
    future = rfc3339(backend.clock.now() + 3600)
    updated = backend.update_key(account, key.id, {"name": "renamed", "scopes": {"inference": True},
                                                   "expires_at": future})  # fmt: skip
    assert (updated.name, updated.scopes.payload()) == ("renamed", {"inference": True})
    assert error_of(backend.update_key, account, key.id, {})[:2] == (400, "invalid_request")
    assert error_of(backend.update_key, account, key.id, {"colour": 1})[:2] == (
        400,
        "invalid_request",
    )
    assert error_of(backend.update_key, backend.accounts[1], key.id, {"name": "x"})[:2] == (
        404, "api_key_not_found",
    )  # fmt: skip
    # Expired: cannot be modified or revoked.
    backend.clock.offset = 7200
    assert key.status(backend.clock.now()) == "expired"
    assert error_of(backend.update_key, account, key.id, {"name": "x"}) == (
        409, "key_expired", "Expired keys cannot be modified",
    )  # fmt: skip
    assert error_of(backend.revoke_key, account, key.id)[:2] == (409, "key_expired")


def test_revoked_keys_cannot_be_modified(backend, account):
    key, _ = backend.create_key(account, "k", {"all": True})
    assert backend.revoke_key(account, key.id).status(backend.clock.now()) == "revoked"
    assert error_of(backend.update_key, account, key.id, {"name": "x"}) == (
        409, "key_revoked", "Revoked keys cannot be modified",
    )  # fmt: skip
    assert error_of(backend.revoke_key, account, key.id)[:2] == (409, "key_revoked")
    assert error_of(backend.revoke_key, account, FOREIGN)[:2] == (404, "api_key_not_found")


# -- the exchange ---------------------------------------------------------------------------------


@pytest.fixture
def world(backend, account):
    ml = backend.create_namespace(account, "team-ml")
    vision = backend.create_namespace(account, "team-vision")
    theirs = backend.create_namespace(backend.accounts[1], "theirs")
    raw = {
        name: backend.create_key(account, name, scopes)[1]
        for name, scopes in {
            "ml": {"kubernetes_exec": {"namespace_ids": [ml.id]}},
            "every": {"kubernetes_exec": {"all_namespaces": True}},
            "all": {"all": True},
            "inference": {"inference": True},
        }.items()
    }
    return backend, ml, vision, theirs, raw


@pytest.mark.parametrize(
    ("key_name", "namespace", "status", "code"),
    [
        pytest.param("ml", "ml", 200, None, id="in-scope"),
        pytest.param("every", "vision", 200, None, id="all-namespaces"),
        pytest.param("all", "vision", 200, None, id="all"),
        pytest.param("ml", "vision", 403, "forbidden", id="out-of-scope"),
        pytest.param("inference", "ml", 403, "forbidden", id="inference-only"),
        pytest.param("all", "theirs", 404, "namespace_not_found", id="other-account"),
        pytest.param("all", "unknown", 404, "namespace_not_found", id="unknown"),
        pytest.param(None, "ml", 401, "missing_api_key", id="missing"),
        pytest.param("bogus", "ml", 401, "invalid_api_key", id="invalid"),
    ],
)
def test_exchange_statuses(world, key_name, namespace, status, code):
    backend, ml, vision, theirs, raw = world
    ids = {"ml": ml.id, "vision": vision.id, "theirs": theirs.id, "unknown": FOREIGN}
    key = raw.get(key_name, "rgpu_00000000_" + "x" * 32) if key_name else None
    if status == 200:
        issued = backend.exchange(key, ids[namespace])
        assert backend.token(issued.token) == issued
        assert issued.expires_at - issued.issued_at == 900
    else:
        got = error_of(backend.exchange, key, ids[namespace])
        assert got[:2] == (status, code)
        if status == 401:
            assert got[2] == "Missing, invalid, revoked, or expired API key"
        assert backend.stats.exchanges == 0


def test_revoked_and_expired_keys_get_their_own_401_codes(world):
    backend, ml, *_ = world
    account = backend.accounts[0]
    _, raw = backend.create_key(account, "short", {"all": True}, rfc3339(backend.clock.now() + 60))
    revoked = next(k for k in backend.list_keys(account) if k.name == "ml")
    backend.revoke_key(account, revoked.id)
    assert error_of(backend.exchange, world[4]["ml"], ml.id)[:2] == (401, "revoked_api_key")
    backend.clock.offset = 120
    assert error_of(backend.exchange, raw, ml.id)[:2] == (401, "expired_api_key")


def test_tokens_expire_with_the_clock_and_survive_revocation(world):
    backend, ml, *_ = world
    issued = backend.exchange(world[4]["ml"], ml.id)
    key = next(k for k in backend.list_keys(backend.accounts[0]) if k.name == "ml")
    assert key.last_used_at is not None
    backend.revoke_key(backend.accounts[0], key.id)
    assert backend.token(issued.token) is not None  # the revocation window
    backend.clock.offset = 901
    assert backend.token(issued.token) is None
    assert backend.describe_token(issued.token)["valid"] is False
    assert backend.token("rgpu-k8s-unknown") is None


def test_counters_and_reset(world):
    backend, ml, vision, _, raw = world
    backend.exchange(raw["ml"], ml.id)
    backend.exchange(raw["every"], vision.id)
    backend.exchange(raw["every"], vision.id)
    prefixes = {k.name: k.prefix for k in backend.list_keys(backend.accounts[0])}
    assert backend.stats.to_json()["exchanges"] == {
        "total": 3,
        "by_namespace": {ml.id: 1, vision.id: 2},
        "by_key": {prefixes["ml"]: 1, prefixes["every"]: 2},
    }
    accounts = list(backend.accounts)
    backend.reset()
    assert backend.stats.to_json() == {
        "exchanges": {"total": 0, "by_namespace": {}, "by_key": {}}, "kube_requests": 0,
    }  # fmt: skip
    assert backend.accounts == accounts
    assert backend.list_namespaces(accounts[0]) == []
