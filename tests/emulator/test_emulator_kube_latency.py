"""`--kube-latency-ms` (and the `kube_latency` setting): every request of the Kubernetes front
waits at least that long before it is answered, as a cluster across a network would."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from rgpu_emulator.testing import EmulatorClient, EmulatorProcess

if TYPE_CHECKING:
    from pathlib import Path

    from emulator_support import Harness


@pytest.fixture
def emulator(emulator_in_process: Harness) -> Harness:
    """The emulator's own tests run it in this process, on its threads (`emulator_in_process`)."""
    return emulator_in_process


LATENCY_MS = 150.0


def _timed_get(kube: httpx.Client, url: str) -> tuple[int, float]:
    started = time.monotonic()
    status = kube.get(url).status_code
    return status, time.monotonic() - started


@pytest.mark.slow  # starts the emulator itself
def test_the_flag_delays_every_request_of_the_kubernetes_front(tmp_path: Path):
    with EmulatorProcess(tmp_path / "emulator", kube_latency_ms=LATENCY_MS) as emulator:
        assert emulator.argv[-2:] == ["--kube-latency-ms", str(LATENCY_MS)]
        client = EmulatorClient(emulator.ready)
        try:
            assert client.configure()["kube_latency"] == LATENCY_MS / 1000
            with httpx.Client(verify=emulator.ready.ssl_context()) as kube:
                # a health check, and a request refused for want of a token: both wait
                for path, expected in (("/healthz", 200), ("/api/v1/namespaces/a/pods", 401)):
                    status, seconds = _timed_get(kube, emulator.ready.kube_server + path)
                    assert status == expected
                    assert seconds >= LATENCY_MS / 1000
            client.reset()  # the flag is where a reset returns to
            assert client.configure()["kube_latency"] == LATENCY_MS / 1000
        finally:
            client.close()


def test_the_setting_delays_requests_from_now_on(emulator: Harness):
    assert emulator.client.configure()["kube_latency"] == 0
    emulator.client.configure(kube_latency=0.2)
    with httpx.Client(verify=emulator.ready.ssl_context()) as kube:
        status, seconds = _timed_get(kube, f"{emulator.ready.kube_server}/version")
    assert status == 401
    assert seconds >= 0.2
    refused = emulator.client.call("POST", "/_emulator/settings", {"kube_latency": -1})
    assert refused.status_code == 400


@pytest.mark.slow  # runs the emulator's command
def test_a_negative_latency_is_refused():
    done = subprocess.run(
        [sys.executable, "-m", "rgpu_emulator", "--kube-latency-ms", "-5"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--kube-latency-ms must be between 0 and" in done.stderr
