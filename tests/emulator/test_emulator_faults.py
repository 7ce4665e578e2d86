"""Fault injection (for the reliability suite): each fault observed on the wire."""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import httpx
import pytest

from rgpu_emulator.faults import OVERSIZED_BYTES

if TYPE_CHECKING:
    from emulator_support import Harness


@pytest.fixture
def emulator(emulator_in_process: Harness) -> Harness:
    """The emulator's own tests run it in this process, on its threads (`emulator_in_process`)."""
    return emulator_in_process


@pytest.fixture
def exchange(emulator: Harness):
    ns = emulator.namespace("team-ml")
    key = emulator.namespace_key(ns)

    def call() -> httpx.Response:
        return emulator.client.exchange(ns["id"], key["key"])

    call.namespace_id = ns["id"]  # type: ignore[attr-defined]
    call.key = key["key"]  # type: ignore[attr-defined]
    return call


def test_status_burst_with_retry_after_then_clean(emulator: Harness, exchange):
    emulator.client.add_fault(status=503, count=2, retry_after="7")
    for _ in range(2):
        answer = exchange()
        assert (answer.status_code, answer.headers["retry-after"]) == (503, "7")
        assert answer.json()["error"]["code"] == "injected_fault"
        assert "date" in answer.headers
    assert exchange().status_code == 200
    assert emulator.exchanges() == 1
    log = emulator.client.call("GET", "/_emulator/requests").json()["items"]
    assert [(e["status"], e["fault"]) for e in log][-3:] == [(503, True), (503, True), (200, False)]


@pytest.mark.parametrize("drop", ["before_response", "mid_body"])
def test_dropped_connections(emulator: Harness, exchange, drop):
    emulator.client.add_fault(drop=drop)
    with pytest.raises(httpx.TransportError):
        exchange()
    assert exchange().status_code == 200


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ("garbage", lambda b: b.startswith(b"\x00")),
        ("truncated", lambda b: b.startswith(b'{"apiVersion"') and not b.endswith(b"}")),
        ("oversized", lambda b: len(b) > OVERSIZED_BYTES),
        ("empty", lambda b: b == b""),
        ("wrong_shape", lambda b: json.loads(b) == {"hello": "world"}),
    ],
)
def test_replaced_bodies(emulator: Harness, exchange, body, check):
    emulator.client.add_fault(body=body)
    answer = exchange()
    assert answer.status_code == 200
    assert check(answer.content)
    assert int(answer.headers["content-length"]) == len(answer.content)


@pytest.mark.parametrize("status", [None, 502])
def test_an_html_page_stands_for_a_proxys_or_a_portals_answer(emulator: Harness, exchange, status):
    emulator.client.add_fault(body="html", status=status)
    answer = exchange()
    assert answer.status_code == (status or 200)
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.content.startswith(b"<!DOCTYPE html>")
    assert exchange().status_code == 200


def test_content_type_expiry_and_date(emulator: Harness, exchange):
    emulator.client.add_fault(content_type="text/html", expires_in=-60, date_offset=86400)
    answer = exchange()
    assert answer.headers["content-type"] == "text/html"
    date = parsedate_to_datetime(answer.headers["date"]).timestamp()
    assert date - time.time() == pytest.approx(86400, abs=5)
    expiry = answer.json()["status"]["expirationTimestamp"]
    assert parsedate_to_datetime(answer.headers["date"]).timestamp() - 86400 - 60 == pytest.approx(
        _epoch(expiry), abs=5
    )


def _epoch(rfc3339: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def test_delay_and_exchange_delay(emulator: Harness, exchange):
    emulator.client.add_fault(delay=0.3)
    started = time.monotonic()
    assert exchange().status_code == 200
    assert time.monotonic() - started >= 0.3
    emulator.client.configure(exchange_delay=0.2)
    started = time.monotonic()
    assert exchange().status_code == 200
    assert time.monotonic() - started >= 0.2


def test_targets_counts_and_clearing(emulator: Harness, exchange):
    emulator.client.add_fault(target="api", status=500, count=None)
    assert emulator.client.call("GET", "/v1/kubernetes/namespaces").status_code == 500
    assert exchange().status_code == 500
    assert exchange().status_code == 500
    assert emulator.client.call("GET", "/_emulator/faults").json()["items"][0]["count"] is None
    emulator.client.clear_faults()
    assert exchange().status_code == 200
    emulator.client.add_fault(target="kube", status=502)
    with httpx.Client(verify=emulator.ready.ssl_context()) as client:
        assert client.get(f"{emulator.ready.kube_server}/version").status_code == 502
        assert client.get(f"{emulator.ready.kube_server}/version").status_code == 401
    bad = emulator.client.call("POST", "/_emulator/faults", {"status": 99})
    assert bad.status_code == 400
    unknown = emulator.client.call("POST", "/_emulator/faults", {"explode": True})
    assert unknown.status_code == 400


def test_the_plugin_rides_out_a_short_5xx_burst(
    emulator: Harness, exchange, run_cli, waits_on_the_clock
):
    emulator.client.add_fault(status=503, count=2, retry_after="0")
    argv = ["token", "--namespace-id", exchange.namespace_id, "--api-url", emulator.ready.api_url]
    result = run_cli(argv, env={"REMOTEGPU_API_KEY": exchange.key})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert emulator.exchanges() == 1
