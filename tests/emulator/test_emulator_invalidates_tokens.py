"""The control plane rejects issued tokens on request, at the Kubernetes front, without moving the
clock: all of them, or those of one key, or of one namespace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from emulator_support import Harness


@pytest.fixture
def emulator(emulator_in_process: Harness) -> Harness:
    """The emulator's own tests run it in this process, on its threads (`emulator_in_process`)."""
    return emulator_in_process


def _issue(emulator: Harness, namespace: dict[str, Any], key: dict[str, Any]) -> str:
    answer = emulator.client.exchange(namespace["id"], key["key"])
    assert answer.status_code == 200
    return str(answer.json()["status"]["token"])


def _status(emulator: Harness, namespace: str, token: str) -> int:
    response = httpx.get(
        f"{emulator.ready.kube_server}/api/v1/namespaces/{namespace}/pods",
        headers={"authorization": f"Bearer {token}"},
        verify=emulator.ready.ssl_context(),
    )
    return response.status_code


def test_invalidating_by_namespace_key_or_all(emulator: Harness):
    team, other = emulator.namespace("team-ml"), emulator.namespace("other")
    key = emulator.namespace_key(team, other)
    second = emulator.key({"kubernetes_exec": {"namespace_ids": [team["id"]]}}, name="second")
    in_team, in_other, of_second = (
        _issue(emulator, team, key),
        _issue(emulator, other, key),
        _issue(emulator, team, second),
    )
    assert [_status(emulator, "team-ml", in_team), _status(emulator, "other", in_other)] == [
        200
    ] * 2

    assert emulator.client.invalidate_tokens(namespace_id=other["id"]) == 1
    assert _status(emulator, "other", in_other) == 401
    assert _status(emulator, "team-ml", in_team) == 200
    described = emulator.client.lookup_token(in_other) or {}
    assert described["valid"] is False
    assert described["invalidated_at"]

    assert emulator.client.invalidate_tokens(key_id=second["id"]) == 1
    assert _status(emulator, "team-ml", of_second) == 401
    assert _status(emulator, "team-ml", in_team) == 200

    assert emulator.client.invalidate_tokens() == 1, "the ones already invalidated count once"
    assert _status(emulator, "team-ml", in_team) == 401
    fresh = _issue(emulator, team, key)
    assert _status(emulator, "team-ml", fresh) == 200, "new tokens are accepted again"


def test_an_unknown_field_is_refused(emulator: Harness):
    answer = emulator.client.call("POST", "/_emulator/tokens/invalidate", {"token": "x"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_request"
