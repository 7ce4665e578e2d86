"""Bounded waits, through `rgpu-exec token` (in process) with the default deadline (20 s): no
connection fails within 3 s, a silent API within 10 s, a still-valid cached token is served
meanwhile, and an interactive run says once what it waits for while it rides out an outage.

Every server here is written in the test, on 127.0.0.1, and stopped at the end. Timings are
asserted loosely (start-up on a loaded machine included), far below the old ~20 s.

Waiting costs the quick loop nothing: the retries of an outage wait on the test's clock
(`waits_on_the_clock`), the cached token is made older instead of waited for, and a silent API
is given up on after a shortened read timeout. The one proof in real seconds, that a silent API
with the real read timeout fails within 10 s, is in the slow suite.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from local_server import serving
from rgpu_exec.api import exchange
from rgpu_exec.hotpath import token_cache

from conftest import API_KEY, NAMESPACE_ID, CliRun, Clock, RunCli
from exchange_answers import FakeApi, Reply

# Wall-clock bounds of a few seconds: never beside the timed herds (see the Makefile).
pytestmark = pytest.mark.xdist_group("timed")

INFO = '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":%s}}\n'


def token(run_cli: RunCli, api_url: str, *, interactive: bool = False) -> tuple[CliRun, float]:
    """`rgpu-exec token` as kubectl runs it (in process, a parent of its own); and its wall time."""
    env = {
        "REMOTEGPU_API_KEY": API_KEY,
        "KUBERNETES_EXEC_INFO": INFO % ("true" if interactive else "false"),
    }
    started = time.monotonic()
    result = run_cli(
        ["token", "--namespace-id", NAMESPACE_ID, "--api-url", api_url], env=env, new_parent=True
    )
    return result, time.monotonic() - started


def assert_api_error(result: CliRun, api_url: str) -> None:
    assert result.returncode == 5, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith(f"rgpu-exec: cannot reach the RemoteGPU API at {api_url}: ")
    assert result.stderr.count("\n") == 1
    assert API_KEY not in result.stderr


# --- 5. no connection at all: a quick retry or two, then exit 5 --------------------------------


def test_connection_refused_fails_within_3_seconds(run_cli: RunCli) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    api_url = f"http://127.0.0.1:{port}"  # closed: nothing listens there any more

    result, seconds = token(run_cli, api_url)

    assert_api_error(result, api_url)
    assert "the connection failed (ConnectError" in result.stderr
    assert "gave up after " in result.stderr
    assert seconds < 3.0


def test_an_unresolvable_host_fails_within_3_seconds(run_cli: RunCli) -> None:
    api_url = "https://does-not-exist.invalid"  # .invalid never resolves (RFC 2606)

    result, seconds = token(run_cli, api_url)

    assert_api_error(result, api_url)
    assert "the connection failed (ConnectError" in result.stderr
    assert seconds < 3.0


# --- 6. an API that accepts the connection but never answers -----------------------------------


class _SilentServer:
    """Accepts connections and never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self.stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(connection)

    def close(self) -> None:
        self.stopped.set()
        self._thread.join(10)
        self.listener.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent() -> Iterator[_SilentServer]:
    server = _SilentServer()
    yield server
    server.close()


def assert_given_up_on_at_once(result: CliRun, silent: _SilentServer) -> None:
    assert_api_error(result, silent.url)
    assert "the connection timed out (ReadTimeout" in result.stderr
    assert "gave up after 1 attempt(s)" in result.stderr
    assert len(silent.accepted) == 1, "a silent API is not asked again"


@pytest.mark.slow  # waits the real read timeout (7 s): the bound's one proof in real seconds
def test_a_silent_api_fails_within_10_seconds(run_cli: RunCli, silent: _SilentServer) -> None:
    result, seconds = token(run_cli, silent.url)

    assert_given_up_on_at_once(result, silent)
    assert seconds < 10.5


def test_a_silent_api_is_given_up_on_after_the_read_timeout(
    run_cli: RunCli, silent: _SilentServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exchange, "READ_TIMEOUT", 0.3)

    result, seconds = token(run_cli, silent.url)

    assert_given_up_on_at_once(result, silent)
    assert 0.3 <= seconds < 0.3 + 3.5, "the read timeout, and no retry after it"


# --- 7. a still-valid cached token is served while the API cannot be reached -------------------


def older(cache: Path, seconds: float) -> None:
    """The one cached token, as it is `seconds` later: issued and expiring that much earlier."""
    (path,) = cache.glob(f"*{token_cache.ENTRY_SUFFIX}")
    entry = token_cache.parse_entry(path.read_text())
    assert entry is not None
    aged = token_cache.Entry(
        entry.key, entry.issued_at - seconds, entry.expires_at - seconds, entry.token
    )
    token_cache.write_entry(str(cache), aged)


def test_a_valid_cached_token_is_served_at_once_while_the_api_is_down(
    run_cli: RunCli, sandbox: Path
) -> None:
    with FakeApi("http://127.0.0.1:9").serving() as stub:  # refused once it stops
        # Fresh for half its life (about 4 s, the server's Date being whole seconds), valid 8 s.
        stub.default = Reply(lifetime=8)
        first, _ = token(run_cli, stub.url)
        assert first.returncode == 0, first.stderr
        api_url = stub.url
    older(sandbox / "cache", 4.7)  # into the refresh margin; and the API is gone (refused)

    stale, seconds = token(run_cli, api_url)

    assert stale.returncode == 0, stale.stderr
    assert (
        json.loads(stale.stdout)["status"]["token"] == json.loads(first.stdout)["status"]["token"]
    )
    (warning,) = stale.stderr.splitlines()
    assert warning.startswith("rgpu-exec: warning: could not refresh the token (cannot reach")
    assert "using the cached one, valid until" in warning
    assert seconds < 3.0
    again, _ = token(run_cli, api_url)  # while the failure is remembered: silently, from the cache
    assert (again.returncode, again.stderr, again.stdout) == (0, "", stale.stdout)


# --- 8. an interactive run says once what it is waiting for -----------------------------------

OUTAGE_SECONDS = 3.0


class _OutageHandler(BaseHTTPRequestHandler):
    """503 for the first OUTAGE_SECONDS after the first request (on the test's clock, on which
    the client waits too), then a valid credential."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        server: _OutageServer = self.server  # type: ignore[assignment]
        with server.lock:
            now = server.clock.monotonic()
            server.started = now if server.started is None else server.started
            server.requests += 1
            down = now - server.started < OUTAGE_SECONDS
        if down:
            body, status = b'{"error": {"code": "unavailable", "message": "maintenance"}}', 503
        else:
            expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 900))
            body, status = json.dumps({
                "apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                "status": {"token": "after-the-outage", "expirationTimestamp": expiry},
            }).encode(), 200  # fmt: skip
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("date", formatdate(usegmt=True))
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


class _OutageServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, clock: Clock) -> None:
        super().__init__(("127.0.0.1", 0), _OutageHandler)
        self.lock = threading.Lock()
        self.clock = clock
        self.started: float | None = None
        self.requests = 0
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def outage(waits_on_the_clock: Clock) -> Iterator[_OutageServer]:
    with serving(_OutageServer(waits_on_the_clock)) as server:
        yield server


def test_an_interactive_run_says_once_what_it_waits_for(
    run_cli: RunCli, outage: _OutageServer
) -> None:
    result, _ = token(run_cli, outage.url, interactive=True)
    seconds = outage.clock.monotonic()  # as the run counted them

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"]["token"] == "after-the-outage"
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        f"rgpu-exec: the RemoteGPU API at {outage.url} answered HTTP 503; retrying for up to "
    ), line
    left = float(line.split("retrying for up to ")[1].split(" s more")[0])
    assert 14 <= left <= 19, "the time the 20 s deadline leaves, after about 2 s"
    assert outage.requests > 2
    assert OUTAGE_SECONDS <= seconds < 20


def test_a_non_interactive_run_rides_out_the_outage_silently(
    run_cli: RunCli, outage: _OutageServer
) -> None:
    result, _ = token(run_cli, outage.url, interactive=False)
    seconds = outage.clock.monotonic()  # as the run counted them

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"]["token"] == "after-the-outage"
    assert result.stderr == "", "kubectl shows stderr on every command"
    assert outage.requests > 2
    assert OUTAGE_SECONDS <= seconds < 20
