"""The emulator's HTTP plumbing in-process: a prompt stop, and clients that go away."""

from __future__ import annotations

import socket
import struct
import threading
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from rgpu_emulator.server import Emulator

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

NAMESPACE_ID = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"


@pytest.fixture
def start() -> Iterator[Callable[..., Emulator]]:
    started: list[Emulator] = []

    def start(verbose: bool = False) -> Emulator:
        emulator = Emulator(verbose=verbose)
        emulator.start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


def _address(url: str) -> tuple[str, int]:
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    return host, int(port)


def _serving_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "process_request_thread" in t.name]


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    give_up = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < give_up, "timed out"
        time.sleep(0.01)


def _read_response(connection: socket.socket) -> bytes:
    """One whole response (its body has a Content-Length); its head."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += connection.recv(65536)
    assert len(body) == length
    return head


def _reset(connection: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer gets a TCP reset, as when a client is killed."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def test_stop_ends_idle_keep_alive_connections_at_once(start):
    emulator = start()
    api = socket.create_connection(_address(emulator.endpoints.api_url))
    kube = socket.create_connection(_address(emulator.endpoints.kube_server))  # no handshake
    try:
        api.sendall(b"GET /_emulator/stats HTTP/1.1\r\nHost: x\r\n\r\n")
        head = _read_response(api)
        assert head.startswith(b"HTTP/1.1 200 ")
        assert b"connection: close" not in head.lower()  # kept alive, and now idle
        _wait_until(lambda: emulator.open_connections() == 2)
        began = time.monotonic()
        emulator.stop()
        assert time.monotonic() - began < 1.0
        for connection in (api, kube):  # shut down by the emulator, not left to time out
            connection.settimeout(2)
            assert connection.recv(1) == b""
        _wait_until(lambda: emulator.open_connections() == 0 and not _serving_threads())
        with pytest.raises(httpx.ConnectError):  # the listening sockets are closed too
            httpx.get(f"{emulator.endpoints.api_url}/healthz")
    finally:
        api.close()
        kube.close()


@pytest.mark.parametrize("verbose", [False, True])
@pytest.mark.parametrize("when", ["reading the request", "answering"])
def test_a_client_reset_is_one_line_at_most_never_a_traceback(start, capsys, verbose, when):
    emulator = start(verbose=verbose)
    connection = socket.create_connection(_address(emulator.endpoints.api_url))
    if when == "answering":
        emulator.backend.settings.exchange_delay = 0.3
        connection.sendall(
            f"POST /v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential HTTP/1.1\r\n"
            "Host: x\r\nContent-Length: 0\r\n\r\n".encode()
        )
    else:
        connection.sendall(b"GET /_emulator/stats HTTP/1.1\r\nHost: x\r\n")  # headers unfinished
    _wait_until(lambda: emulator.open_connections() == 1)
    time.sleep(0.1)  # the server is now reading (or sleeping before the answer)
    _reset(connection)
    _wait_until(lambda: emulator.open_connections() == 0 and not _serving_threads())
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "internal error" not in err
    if verbose:  # the request lines, as ever, and one line for the reset
        lines = [line for line in err.splitlines() if line.startswith("rgpu-emulator:")]
        assert len(lines) == 1, err
        assert lines[0].startswith("rgpu-emulator: the connection from 127.0.0.1:")
        assert "ended early (ConnectionResetError: " in lines[0] or "(BrokenPipeError: " in lines[0]
        assert all(" - - [" in line for line in err.splitlines() if line not in lines)
    else:
        assert err == ""
    assert httpx.get(f"{emulator.endpoints.api_url}/healthz").status_code == 404  # still serving
