"""The emulated RemoteGPU API and the control plane, over HTTP (the emulator subprocess)."""

from __future__ import annotations

import base64
import time
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import pytest
from ruamel.yaml import YAML

if TYPE_CHECKING:
    from emulator_support import Harness


@pytest.fixture
def emulator(emulator_in_process: Harness) -> Harness:
    """The emulator's own tests run it in this process, on its threads (`emulator_in_process`)."""
    return emulator_in_process


def test_every_answer_has_a_date_and_errors_have_the_contract_shape(emulator: Harness):
    for response in (
        emulator.client.call("GET", "/v1/account/api-keys", session=False),
        emulator.client.call("GET", "/v1/account/api-keys"),
        emulator.client.call("GET", "/v1/nothing-here"),
        emulator.client.call("PUT", "/v1/account/api-keys"),
        emulator.client.exchange("6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f", None),
        emulator.client.call("GET", "/_emulator/stats"),
    ):
        assert parsedate_to_datetime(response.headers["date"]).tzinfo is not None
    missing = emulator.client.call("GET", "/v1/account/api-keys", session=False)
    assert missing.status_code == 401
    assert missing.json() == {
        "error": {"code": "missing_access_token", "message": "Missing access token"}
    }
    assert emulator.client.call("GET", "/v1/nothing-here").status_code == 404
    assert emulator.client.call("PUT", "/v1/account/api-keys").status_code == 405


def test_key_lifecycle_over_http(emulator: Harness):
    ns = emulator.namespace("team-ml")
    created = emulator.key({"kubernetes_exec": {"namespace_ids": [ns["id"]]}}, name="ci")
    assert created["key"].startswith(created["prefix"] + "_")
    listed = emulator.client.call("GET", "/v1/account/api-keys").json()["items"]
    assert [k["prefix"] for k in listed] == [created["prefix"]]
    assert "key" not in listed[0]
    patched = emulator.client.call("PATCH", f"/v1/account/api-keys/{created['id']}", {"name": "cd"})
    assert (patched.status_code, patched.json()["name"]) == (200, "cd")
    bad = emulator.client.call("PATCH", f"/v1/account/api-keys/{created['id']}", {"scopes": {}})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_scope")
    assert emulator.client.revoke_key(created["id"])["status"] == "revoked"
    again = emulator.client.call("POST", f"/v1/account/api-keys/{created['id']}/revoke")
    assert again.status_code == 409
    refused = emulator.client.exchange(ns["id"], created["key"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "revoked_api_key")
    not_json = emulator.client.http.post(
        "/v1/account/api-keys", content=b"nope",
        headers={"authorization": f"Bearer {emulator.client.access_token}"},
    )  # fmt: skip
    assert (not_json.status_code, not_json.json()["error"]["code"]) == (400, "invalid_request")


def test_exchange_answers_an_exec_credential(emulator: Harness):
    ns = emulator.namespace("team-ml")
    key = emulator.namespace_key(ns)
    answer = emulator.client.exchange(ns["id"], key["key"])
    assert answer.status_code == 200
    body = answer.json()
    assert (body["apiVersion"], body["kind"]) == (
        "client.authentication.k8s.io/v1",
        "ExecCredential",
    )
    server_now = parsedate_to_datetime(answer.headers["date"])
    expiry = body["status"]["expirationTimestamp"]
    assert expiry.endswith("Z")
    lifetime = datetime.fromisoformat(expiry.replace("Z", "+00:00")) - server_now
    assert lifetime.total_seconds() == pytest.approx(900, abs=1)
    info = emulator.client.lookup_token(body["status"]["token"])
    assert info is not None
    assert (info["key_prefix"], info["namespace_id"], info["valid"]) == (
        key["prefix"],
        ns["id"],
        True,
    )
    assert info["account_id"] == emulator.client.account_id
    assert emulator.client.lookup_token("not-a-token") is None


def test_namespaces_and_console_kubeconfig(emulator: Harness):
    ns = emulator.namespace("team-ml")
    assert (
        emulator.client.call("POST", "/v1/kubernetes/namespaces", {"name": "team-ml"}).status_code
        == 409
    )
    assert (
        emulator.client.call("POST", "/v1/kubernetes/namespaces", {"name": "all"}).status_code
        == 400
    )
    renamed = emulator.client.call("PATCH", f"/v1/kubernetes/namespaces/{ns['id']}", {"name": "ml"})
    assert renamed.json()["name"] == "ml"
    download = emulator.client.call(
        "GET", f"/v1/kubernetes/namespaces/{ns['id']}/kubeconfig"
    ).json()
    assert (download["namespace"], download["filename"]) == ("ml", "remotegpu-ml-kubeconfig.yaml")
    config = YAML(typ="safe", pure=True).load(download["kubeconfig"])
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"] == emulator.ready.kube_server
    assert base64.b64decode(cluster["certificate-authority-data"]).startswith(
        b"-----BEGIN CERTIFICATE"
    )
    assert config["contexts"][0]["context"]["namespace"] == "ml"
    stanza = config["users"][0]["user"]["exec"]
    assert (stanza["apiVersion"], stanza["interactiveMode"], stanza["command"]) == (
        "client.authentication.k8s.io/v1", "Never", "sh",
    )  # fmt: skip
    assert stanza["args"][1] == (
        'curl -fsS -X POST -H "x-api-key: $REMOTEGPU_API_KEY" '
        f"{emulator.ready.api_url}/v1/kubernetes/namespaces/{ns['id']}/exec-credential"
    )
    deleted = emulator.client.call("DELETE", f"/v1/kubernetes/namespaces/{ns['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert emulator.client.call("GET", "/v1/kubernetes/namespaces").json() == {"items": []}


def test_accounts_are_isolated(emulator: Harness):
    from rgpu_emulator.testing import EmulatorClient

    other = EmulatorClient(emulator.ready, account=1)
    try:
        theirs = other.create_namespace("theirs")
        assert emulator.client.call("GET", "/v1/kubernetes/namespaces").json() == {"items": []}
        key = emulator.key({"all": True})
        refused = emulator.client.exchange(theirs["id"], key["key"])
        assert (refused.status_code, refused.json()["error"]["code"]) == (
            404,
            "namespace_not_found",
        )
        patch = other.call("PATCH", f"/v1/account/api-keys/{key['id']}", {"name": "x"})
        assert patch.status_code == 404
    finally:
        other.close()


def test_control_plane_stats_clock_settings_reset(emulator: Harness):
    ns = emulator.namespace("team-ml")
    key = emulator.namespace_key(ns)
    emulator.client.exchange(ns["id"], key["key"])
    assert emulator.client.stats() == {
        "exchanges": {"total": 1, "by_namespace": {ns["id"]: 1}, "by_key": {key["prefix"]: 1}},
        "kube_requests": 0,
    }
    emulator.client.set_clock(offset=3600)
    clock = emulator.client.call("GET", "/_emulator/clock").json()
    assert clock["offset"] == 3600
    emulator.client.set_clock(advance=60)
    assert emulator.client.call("GET", "/_emulator/clock").json()["offset"] == 3660
    answer = emulator.client.exchange(ns["id"], key["key"])
    server_now = parsedate_to_datetime(answer.headers["date"]).timestamp()
    assert server_now - time.time() == pytest.approx(3660, abs=5)
    assert emulator.client.configure(token_ttl=30, exchange_delay=0.05)["token_ttl"] == 30
    bad = emulator.client.call("POST", "/_emulator/settings", {"token_ttl": -1})
    assert bad.status_code == 400
    requests = emulator.client.call("GET", "/_emulator/requests").json()["items"]
    assert requests[-1]["path"].endswith("/exec-credential")
    emulator.client.reset()
    assert emulator.client.stats()["exchanges"]["total"] == 0
    assert emulator.client.call("GET", "/_emulator/clock").json()["offset"] == 0
    assert emulator.client.call("GET", "/_emulator/settings").json()["token_ttl"] == 900
    accounts = emulator.client.call("GET", "/_emulator/accounts").json()["items"]
    assert accounts == emulator.ready.accounts
