"""The in-process fake of the API (`exchange_answers.FakeApi`, the `fake_api` fixture) answers as
its docstring says: the tests that count on it could not fail otherwise."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import httpx
import pytest

from exchange_answers import FakeApi, Reply, error_body

if TYPE_CHECKING:
    from collections.abc import Iterator

PATH = "/v1/kubernetes/namespaces/ns/exec-credential"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as http:
        yield http


def test_keyed_posts_get_the_script_in_order_then_fresh_tokens(
    fake_api: FakeApi, client: httpx.Client
) -> None:
    fake_api.script = [Reply(403, error_body("forbidden", "no"), headers={"x-seen": "1"})]

    refused = client.post(fake_api.url + PATH, headers={"x-api-key": "rgpu_one"})
    first = client.post(fake_api.url + PATH, headers={"x-api-key": "rgpu_two"})
    second = client.post(fake_api.url + PATH, headers={"x-api-key": "rgpu_two"})

    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    assert refused.headers["x-seen"] == "1"
    assert refused.headers["content-type"] == "application/json"
    assert "date" in refused.headers
    assert first.status_code == second.status_code == 200
    assert first.json()["status"]["token"] == "fake-token-2"
    assert second.json()["status"]["token"] == "fake-token-3"
    assert first.json()["kind"] == "ExecCredential"
    assert fake_api.count == 3
    assert [r["headers"]["x-api-key"] for r in fake_api.requests] == ["rgpu_one", *["rgpu_two"] * 2]
    assert {r["path"] for r in fake_api.requests} == {PATH}


def test_a_keyless_post_gets_the_apis_401_and_is_counted_apart(
    fake_api: FakeApi, client: httpx.Client
) -> None:
    answer = client.post(fake_api.url + PATH)

    assert answer.status_code == 401
    assert json.loads(answer.content)["error"]["code"] == "missing_api_key"
    assert (fake_api.keyless, fake_api.count) == (1, 0)


def test_a_reply_sets_the_tokens_lifetime_from_the_date_it_sends(
    fake_api: FakeApi, client: httpx.Client
) -> None:
    fake_api.default = Reply(lifetime=60)
    answer = client.post(fake_api.url + PATH, headers={"x-api-key": "k"})

    stamp = answer.json()["status"]["expirationTimestamp"]
    expiry = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    lived = expiry - parsedate_to_datetime(answer.headers["date"])
    assert 58 <= lived.total_seconds() <= 61


def test_another_port_of_the_same_host_is_not_the_fakes(
    fake_api: FakeApi, client: httpx.Client
) -> None:
    # The fake is port 8 of loopback; port 9 (nothing listens) is refused, as without it.
    with pytest.raises(httpx.ConnectError):
        client.post("http://127.0.0.1:9" + PATH, headers={"x-api-key": "k"})
    assert fake_api.count == 0
