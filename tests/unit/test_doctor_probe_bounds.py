"""`doctor`'s keyless API probe is bounded like the exchange (the same HTTP gate): identity asked
for, nothing inflated past the cap, at most `MAX_BODY_BYTES` read, and a time limit on the whole
probe."""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator

import httpx
import pytest

# How the RemoteGPU API answers an exchange without a key.
from compressed import gzip_of_zeros
from rgpu_exec.api.exchange import MAX_BODY_BYTES
from rgpu_exec.usecases.doctor import network

from exchange_answers import API

# How the RemoteGPU API answers an exchange without a key.
MISSING_KEY = {"error": {"code": "missing_api_key", "message": "Missing API key"}}


def test_the_probe_asks_for_identity(api) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, json=MISSING_KEY)

    api.route().mock(side_effect=answer)
    finding, _ = network.api_findings(API, {})

    assert finding.status == "ok"
    (request,) = seen
    assert request.headers["accept-encoding"] == "identity"


def test_the_probe_never_inflates_an_answer(api) -> None:
    def answer(_request: httpx.Request) -> httpx.Response:
        bomb = gzip_of_zeros(96 << 20)  # 96 MiB of zeros, as it streams
        return httpx.Response(401, content=bomb, headers={"content-encoding": "gzip"})

    api.route().mock(side_effect=answer)
    tracemalloc.start()
    try:
        (finding,) = network.api_findings(API, {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert finding.status == "note", (
        "a compression bomb is never inflated past the cap, so never read as the API's"
    )
    assert peak < 8 * MAX_BODY_BYTES, f"{peak / 2**20:.0f} MiB held"


def test_the_probe_has_a_time_limit_in_all(api, monkeypatch) -> None:
    # A byte every 0.1 s: no read timeout trips, only the limit on the whole probe.
    monkeypatch.setattr(network, "PROBE_DEADLINE", 0.5)
    stop = threading.Event()

    def trickle() -> Iterator[bytes]:
        for _ in range(600):  # a minute at most, should the limit fail
            if stop.wait(0.1):
                return
            yield b"x"

    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=trickle())

    api.route().mock(side_effect=answer)
    started = time.monotonic()
    try:
        (finding,) = network.api_findings(API, {})
    finally:
        stop.set()

    assert time.monotonic() - started < 3.0
    assert finding.status == "problem"
    assert "no complete answer within" in finding.detail
    assert finding.fix
    assert "HTTPS_PROXY" in finding.fix


@pytest.mark.parametrize(
    ("status", "verdict", "words"),
    [
        pytest.param(401, "ok", "is the RemoteGPU API: it asked for a key", id="asks-for-a-key"),
        pytest.param(404, "problem", "is not the RemoteGPU API", id="wrong-path"),
        pytest.param(200, "problem", "where the RemoteGPU API asks for one", id="no-key-needed"),
        pytest.param(301, "problem", "answered HTTP 301", id="redirect"),
        pytest.param(503, "problem", "busy or has a problem", id="down"),
    ],
)
def test_only_an_answer_asking_for_a_key_passes(api, status, verdict, words) -> None:
    def answer(_request: httpx.Request) -> httpx.Response:
        body = MISSING_KEY if status == 401 else {}
        return httpx.Response(status, headers={"location": "https://elsewhere.test/"}, json=body)

    api.route().mock(side_effect=answer)
    found = network.api_findings(API, {}, source="--api-url")

    finding = found[0]
    assert finding.status == verdict
    # Only the API's own answer tells the API's clock: no "clock ok" after "not the API".
    assert [f.topic for f in found] == (["API", "clock"] if verdict == "ok" else ["API"])
    assert words in finding.detail
    if status == 404:
        assert finding.fix is not None
        assert "check --api-url" in finding.fix
        assert "no /v1" in finding.fix


def test_an_unreachable_local_api_is_told_once_with_a_fix_that_fits() -> None:
    with socket.socket() as unused:  # a loopback port nobody listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]

    (api,) = network.api_findings(f"http://127.0.0.1:{port}", {}, source="--api-url")

    assert api.status == "problem"
    assert api.detail.startswith(f"cannot reach the RemoteGPU API at http://127.0.0.1:{port}")
    assert "Check" not in api.detail, "the advice is the fix, not repeated in the detail"
    assert api.fix == "check that the local server is running, and that --api-url names its port"
