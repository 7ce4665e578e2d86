"""`doctor`'s keyless API probe is bounded like the exchange: identity asked for, nothing
inflated, at most `MAX_BODY_BYTES` read, and a time limit on the whole probe."""

from __future__ import annotations

import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator

import httpx

from rgpu_exec.doctor import network
from rgpu_exec.token.exchange import MAX_BODY_BYTES

API = "https://api.remotegpu.test"


def test_the_probe_asks_for_identity() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404)

    api, _ = network.api_findings(API, {}, transport=httpx.MockTransport(answer))

    assert api.status == "ok"
    (request,) = seen
    assert request.headers["accept-encoding"] == "identity"


def test_the_probe_never_inflates_an_answer() -> None:
    def bomb() -> Iterator[bytes]:  # 96 MiB of zeros, gzip-compressed, as it streams
        packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        zeros = bytes(1 << 20)
        for _ in range(96):
            yield packer.compress(zeros)
        yield packer.flush()

    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bomb(), headers={"content-encoding": "gzip"})

    tracemalloc.start()
    try:
        api, _ = network.api_findings(API, {}, transport=httpx.MockTransport(answer))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert api.status == "ok"
    assert peak < 8 * MAX_BODY_BYTES, f"{peak / 2**20:.0f} MiB held"


def test_the_probe_has_a_time_limit_in_all(monkeypatch) -> None:
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

    started = time.monotonic()
    try:
        (api,) = network.api_findings(API, {}, transport=httpx.MockTransport(answer))
    finally:
        stop.set()

    assert time.monotonic() - started < 3.0
    assert api.status == "problem"
    assert "no complete answer within" in api.detail
    assert api.fix
    assert "HTTPS_PROXY" in api.fix
