"""Corporate networks: an HTTPS proxy (HTTPS_PROXY, NO_PROXY) and CA trust from SSL_CERT_FILE.

The emulator serves its API over TLS (`--api-tls`) with its own CA; a loopback CONNECT proxy
stands in for the corporate one and records what went through it.
"""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

RGPU_EXEC = Path(sys.executable).parent / "rgpu-exec"


class ConnectProxy:
    """A minimal HTTP CONNECT proxy on loopback, tunnelling bytes both ways."""

    def __init__(self) -> None:
        self.tunnels: list[str] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        with client:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = client.recv(4096)
                if not chunk:
                    return
                request += chunk
            method, target = request.split(b" ", 2)[:2]
            if method != b"CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
                return
            self.tunnels.append(target.decode())
            host, port = target.decode().rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=10) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                sockets = [client, upstream]
                while True:
                    readable, _, _ = select.select(sockets, [], [], 10)
                    if not readable:
                        return
                    for source in readable:
                        data = source.recv(65536)
                        if not data:
                            return
                        (upstream if source is client else client).sendall(data)

    def close(self) -> None:
        self._server.close()


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    p = ConnectProxy()
    yield p
    p.close()


@pytest.fixture
def tls_emulator(start_emulator):
    emulator = start_emulator("--api-tls")
    namespace = emulator.namespace("team-ml")
    key = emulator.namespace_key(namespace)
    argv = [str(RGPU_EXEC), "token", "--namespace-id", namespace["id"], "--api-url", emulator.ready.api_url]  # fmt: skip
    return emulator, key["key"], argv


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_the_exchange_goes_through_https_proxy(tls_emulator, proxy: ConnectProxy) -> None:
    emulator, key, argv = tls_emulator
    env = emulator.plugin_env(key, HTTPS_PROXY=proxy.url, SSL_CERT_FILE=emulator.ready.ca_file)
    result = run(argv, env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["kind"] == "ExecCredential"
    port = emulator.ready.api_url.rsplit(":", 1)[1]
    assert proxy.tunnels == [f"127.0.0.1:{port}"]


def test_no_proxy_bypasses_the_proxy(tls_emulator, proxy: ConnectProxy) -> None:
    emulator, key, argv = tls_emulator
    env = emulator.plugin_env(
        key, HTTPS_PROXY=proxy.url, NO_PROXY="127.0.0.1", SSL_CERT_FILE=emulator.ready.ca_file
    )
    result = run(argv, env)
    assert result.returncode == 0, result.stderr
    assert proxy.tunnels == []


def test_ssl_cert_file_replaces_the_bundled_trust(tls_emulator, sandbox: Path) -> None:
    emulator, key, argv = tls_emulator
    trusted = run(argv, emulator.plugin_env(key, SSL_CERT_FILE=emulator.ready.ca_file))
    assert trusted.returncode == 0, trusted.stderr
    # Without it (and with a cache of its own, so nothing is served from the first run's):
    untrusted = run(
        argv, emulator.plugin_env(key, RGPU_EXEC_CACHE_DIR=str(sandbox / "other-cache"))
    )
    assert untrusted.returncode == 5
    assert "is not trusted" in untrusted.stderr
    assert "SSL_CERT_FILE" in untrusted.stderr
