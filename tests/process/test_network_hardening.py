"""Network hardening, through the installed `rgpu-exec token`: the key never goes to a proxy in
clear, a compressed answer cannot exhaust memory, and a malformed API URL is a usage error.

Every server here is written in the test, on 127.0.0.1, and stopped at the end.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from local_server import serving

from conftest import API_KEY, NAMESPACE_ID, CliRun, RunCli
from emulator_support import exchange_on
from exchange_answers import KUBECTL_EXEC_INFO

if TYPE_CHECKING:
    from emulator_support import Harness


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        return  # a client that hangs up early is what these tests expect


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 in a thread, and what it saw of each request."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.seen: list[str] = []
        self.httpd = _QuietServer(("127.0.0.1", 0), handler)
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._serving = contextlib.ExitStack()
        self._serving.enter_context(serving(self.httpd))

    def close(self) -> None:
        self._serving.close()


class _ProxyHandler(BaseHTTPRequestHandler):
    """A forward proxy that forwards nothing: it records each request and answers 502."""

    protocol_version = "HTTP/1.1"

    def _record(self) -> None:
        self.server.owner.seen.append(self.requestline)  # type: ignore[attr-defined]
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.send_response(502)
        self.send_header("content-length", "0")
        self.end_headers()

    do_GET = do_POST = do_CONNECT = _record  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@pytest.fixture
def proxy() -> Iterator[_Server]:
    server = _Server(_ProxyHandler)
    yield server
    server.close()


def token(run_cli: RunCli, api_url: str, env: dict[str, str]) -> CliRun:
    """The installed `rgpu-exec token`, as kubectl runs it, with a key and these variables."""
    return run_cli(
        ["token", "--namespace-id", NAMESPACE_ID, "--api-url", api_url],
        env={"REMOTEGPU_API_KEY": API_KEY, "KUBERNETES_EXEC_INFO": KUBECTL_EXEC_INFO, **env},
        new_parent=True,
    )  # fmt: skip


# --- 1. plain http never goes through a proxy ------------------------------------------------


def test_plain_http_to_loopback_never_goes_through_a_proxy(
    run_cli: RunCli, proxy: _Server, emulator_in_process: Harness
):
    # A real socket is the point: the emulator, on its threads in this process.
    api = exchange_on(emulator_in_process)
    every_name = ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
    result = run_cli(
        api.args(),
        env={"REMOTEGPU_API_KEY": api.key, "KUBERNETES_EXEC_INFO": KUBECTL_EXEC_INFO,
             **dict.fromkeys(every_name, proxy.url)},
        new_parent=True,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert api.issued(json.loads(result.stdout)["status"]["token"])
    assert proxy.seen == [], "the key went to the proxy in clear"
    assert api.count == 1


@pytest.mark.usefixtures("waits_on_the_clock")
def test_https_still_goes_through_https_proxy(run_cli: RunCli, proxy: _Server):
    # No TLS server is needed to see it: the proxy gets the CONNECT (and refuses it).
    result = token(run_cli, "https://api.remotegpu.test", {"HTTPS_PROXY": proxy.url})

    assert result.returncode == 5
    assert proxy.seen
    assert all(line.startswith("CONNECT api.remotegpu.test:443 ") for line in proxy.seen)
    assert len(proxy.seen) <= 3, "a proxy that refuses is no outage worth the deadline"
    assert API_KEY not in result.stderr


@pytest.mark.usefixtures("waits_on_the_clock")
def test_no_proxy_still_bypasses_the_proxy_for_https(run_cli: RunCli, proxy: _Server):
    env = {"HTTPS_PROXY": proxy.url, "NO_PROXY": "127.0.0.1"}
    result = token(run_cli, "https://127.0.0.1:9", env)  # nothing listens there: refused, directly

    assert result.returncode == 5
    assert proxy.seen == []
    assert "cannot reach the RemoteGPU API at https://127.0.0.1:9" in result.stderr


# --- 2. compressed answers cannot exhaust memory ---------------------------------------------

BOMB_SIZE = 1 << 30  # inflated: 1 GiB of zeros


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """1 GiB of zeros, gzip-compressed (about 1 MiB), compressed in chunks, once."""
    out = io.BytesIO()
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    for _ in range(BOMB_SIZE // len(zeros)):
        out.write(packer.compress(zeros))
    out.write(packer.flush())
    return out.getvalue()


class _BombHandler(BaseHTTPRequestHandler):
    """Ignores accept-encoding: every answer is the gzip bomb."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        owner = self.server.owner  # type: ignore[attr-defined]
        owner.seen.append(self.headers.get("accept-encoding", ""))
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body: bytes = owner.body
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-encoding", "gzip")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client stops reading, as it should
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


# Runs the plugin as its only child, so that RUSAGE_CHILDREN is the plugin's peak alone.
_MEASURE = """
import resource, subprocess, sys
result = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
peak_bytes = peak if sys.platform == "darwin" else peak * 1024
sys.stdout.write(f"{result.returncode}\\n{peak_bytes}\\n{result.stderr}")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="resource: POSIX only")
def test_a_compressed_answer_cannot_exhaust_memory(rgpu_exec_bin: str, gzip_bomb: bytes):
    assert len(gzip_bomb) < 2 << 20
    server = _Server(_BombHandler)
    server.httpd.owner.body = gzip_bomb  # type: ignore[attr-defined]
    try:
        argv = [rgpu_exec_bin, "token", "--namespace-id", NAMESPACE_ID, "--api-url", server.url]
        measured = subprocess.run(
            [sys.executable, "-c", _MEASURE, *argv],
            env={
                **os.environ,
                "REMOTEGPU_API_KEY": API_KEY,
                "KUBERNETES_EXEC_INFO": KUBECTL_EXEC_INFO,
            },
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    finally:
        server.close()
    assert measured.returncode == 0, measured.stderr
    code, peak, stderr = measured.stdout.split("\n", 2)

    assert int(code) == 5, stderr
    assert stderr.startswith(f"rgpu-exec: the RemoteGPU API at {server.url} answered with a body ")
    assert "over 1024 KiB" in stderr
    assert int(peak) < 100 << 20, f"peak RSS {int(peak) / 2**20:.0f} MiB"
    assert server.seen == ["identity"], "identity is asked for, once (no retry of nonsense)"


# --- 3. a malformed API URL is a usage error, never a crash -----------------------------------

MALFORMED = [
    "http://localhost:abc",
    "http://[::1]evil.com",
    "http://localhost:99999",
    "http://127.0.0.1:0",
    "http://localhost:",
    "http://:80",
    "https://",
    "http://[::1",
    "https://[zz]",
    "https://[fe80::1%25eth0]",
    "https://a..b",
    "https://api\\.example",
    "http://127.\u0966.\u0966.\u0967",  # Devanagari digits: isdigit() is true for them
    "https://b\u00fccher.example",
    "https://user:secret@api.example",
    "https://api.example/?x=1",
    "http://[::ffff:127.0.0.1]",
    "http://127.1",
]


@pytest.mark.parametrize("url", MALFORMED)
def test_a_malformed_api_url_is_a_usage_error_before_any_network(
    run_cli: RunCli, url: str, proxy: _Server
):
    # A proxy catches anything that would try the network anyway.
    every_name = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
    result = token(run_cli, url, dict.fromkeys(every_name, proxy.url))

    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("rgpu-exec: the API URL "), result.stderr
    assert result.stderr.count("\n") == 1
    assert "unexpected error" not in result.stderr
    assert result.stdout == ""
    assert proxy.seen == []


def test_a_malformed_api_url_from_the_environment_is_a_usage_error_too(run_cli: RunCli):
    env = {"REMOTEGPU_API_KEY": API_KEY, "REMOTEGPU_API_URL": "http://localhost:abc"}
    result = run_cli(["token", "--namespace-id", NAMESPACE_ID], env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("rgpu-exec: the API URL 'http://localhost:abc' has the port")
    assert "REMOTEGPU_API_URL" in result.stderr
