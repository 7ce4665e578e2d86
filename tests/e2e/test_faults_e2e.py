"""Faults from the API, injected by the emulator, through the installed `rgpu-exec token`.

For each fault: the documented exit code and message, the total deadline respected (the wall
time of the whole process is measured), nothing bad cached (the cache directory is read back
with `token_cache`), kubectl's immediate reruns damped (same answer, no new request), and the
next good answer used. Unit-level detail (backoff arithmetic, every malformed body) is in
test_exchange.py; the emulator's own view of each fault is in test_emulator_faults.py.
"""

from __future__ import annotations

import calendar
import json
import os
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

import pytest

from rgpu_emulator.testing import own_parent
from rgpu_exec.cache import files as cache_files
from rgpu_exec.errors import ExitCode
from rgpu_exec.hotpath import failures, token_cache
from rgpu_exec.usecases.token import FAILURE_DAMPING_SECONDS

from conftest import key_identity
from emulator_support import RGPU_EXEC, Harness

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.e2e

EXEC_INFO = (
    '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",'
    '"spec":{"interactive":false}}'
)
# What a plugin process may take on top of its exchange deadline: interpreter start, imports,
# the cache. Generous for a loaded CI runner, and still far below any of the hangs looked for.
STARTUP_SLACK = 4.0


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def token(self) -> str:
        return str(json.loads(self.stdout)["status"]["token"])

    @property
    def expiry(self) -> float:
        stamp = json.loads(self.stdout)["status"]["expirationTimestamp"]
        return float(calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))


@dataclass
class Plugin:
    """`rgpu-exec token` for one namespace and key, as kubectl runs it, plus the cache's view."""

    emulator: Harness
    namespace_id: str
    key: dict[str, Any]
    cache: Path
    api_url: str

    def run(self, deadline: float | None = None, key: dict[str, Any] | None = None) -> Run:
        env = dict(os.environ, REMOTEGPU_API_KEY=(key or self.key)["key"])
        env["KUBERNETES_EXEC_INFO"] = EXEC_INFO
        if deadline is not None:
            env["RGPU_EXEC_DEADLINE"] = str(deadline)
        argv = [str(RGPU_EXEC), "token", "--namespace-id", self.namespace_id,
                "--api-url", self.api_url]  # fmt: skip
        started = time.monotonic()
        result = subprocess.run(  # each run a new parent process, as each kubectl command is
            own_parent(argv), env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
            timeout=90, check=False,
        )  # fmt: skip
        return Run(result.returncode, result.stdout, result.stderr, time.monotonic() - started)

    def stem(self, key: dict[str, Any] | None = None) -> str:
        identity = key_identity((key or self.key)["key"])
        return token_cache.entry_stem(self.api_url, self.namespace_id, identity)

    def entry(self, key: dict[str, Any] | None = None) -> token_cache.Entry | None:
        identity = key_identity((key or self.key)["key"])
        return token_cache.read_entry(
            str(self.cache), token_cache.CacheKey(self.api_url, self.namespace_id, identity)
        )

    def failure(self) -> failures.Failure | None:
        return failures.read_failure(str(self.cache), self.stem(), time.time())

    def assert_nothing_bad_cached(self) -> None:
        """No entry at all (valid or not), no temp file left over: only the damping record."""
        assert cache_files.iter_entries(str(self.cache)) == []
        names = sorted(p.name for p in self.cache.iterdir()) if self.cache.exists() else []
        assert not [n for n in names if n.endswith(".tmp")], names
        assert set(names) <= {self.stem() + ".fail", self.stem() + ".lock"}, names

    def exchange_attempts(self) -> list[dict[str, Any]]:
        log = self.emulator.client.call("GET", "/_emulator/requests").json()["items"]
        return [e for e in log if e["path"].endswith("/exec-credential")]

    def fresh_key(self) -> dict[str, Any]:
        """Another key for the same namespace: another cache identity, no damping record."""
        return self.emulator.key(
            {"kubernetes_exec": {"namespace_ids": [self.namespace_id]}}, name="second"
        )

    def assert_good_token(self, run: Run, key: dict[str, Any] | None = None) -> None:
        assert run.returncode == 0, run.stderr
        assert run.stderr == ""
        owner = self.emulator.client.lookup_token(run.token)
        assert owner is not None
        assert (owner["key_id"], owner["namespace_id"], owner["valid"]) == (
            (key or self.key)["id"],
            self.namespace_id,
            True,
        )
        entry = self.entry(key)
        assert entry is not None
        assert entry.token == run.token


@pytest.fixture
def plugin(emulator: Harness, sandbox: Path) -> Plugin:
    namespace = emulator.namespace("team-ml")
    key = emulator.namespace_key(namespace)
    return Plugin(emulator, namespace["id"], key, sandbox / "cache", emulator.ready.api_url)


@dataclass(frozen=True)
class Failing:
    faults: list[dict[str, Any]]
    deadline: float
    words: list[str]
    attempts: tuple[int, int]  # (at least, at most) exchange requests reaching the emulator
    transient: bool
    min_seconds: float = 0.0  # e.g. the Retry-After waits that must have happened


FAILING = [
    pytest.param(
        Failing(
            # A proxy's error page: 502, HTML, bytes that are not text. Retried with backoff.
            [{"status": 502, "body": "garbage", "content_type": "text/html", "count": None}],
            deadline=2.0,
            words=[
                "has a problem: HTTP 502",
                "Try again in a few minutes",
                "gave up after",
                "within 2 s",
            ],
            attempts=(2, 6),
            transient=True,
        ),
        id="5xx-burst",
    ),
    pytest.param(
        Failing(
            [{"status": 429, "retry_after": "1", "count": None}],
            deadline=2.9,
            words=["is rate limiting: HTTP 429", "gave up after 3 attempt(s)"],
            attempts=(3, 3),  # at 0 s, 1 s and 2 s: Retry-After honoured, no more
            transient=True,
            min_seconds=2.0,
        ),
        id="429-storm-retry-after",
    ),
    pytest.param(
        Failing(
            [{"status": 429, "retry_after": "120", "count": None}],
            deadline=5.0,
            words=["is rate limiting: HTTP 429", "gave up after 1 attempt(s)"],
            attempts=(1, 1),  # a Retry-After beyond the deadline: give up now, never sleep
            transient=True,
        ),
        id="429-retry-after-beyond-deadline",
    ),
    pytest.param(
        Failing(
            [{"status": 503, "delay": 2.5, "count": None}],
            deadline=1.5,
            words=["the connection timed out", "ReadTimeout", "gave up after 1 attempt(s)"],
            attempts=(1, 1),
            transient=True,
        ),
        id="slow-answer-past-the-read-timeout",
    ),
    pytest.param(
        Failing(
            [{"drop": "mid_body", "count": None}],
            deadline=2.0,
            words=["the connection failed", "RemoteProtocolError", "gave up after"],
            attempts=(2, 6),
            transient=True,
        ),
        id="dropped-mid-body",
    ),
    pytest.param(
        Failing(
            [{"drop": "before_response", "count": None}],
            deadline=2.0,
            words=["the connection failed", "gave up after"],
            attempts=(2, 6),
            transient=True,
        ),
        id="dropped-before-response",
    ),
    pytest.param(
        Failing(
            [{"body": "garbage", "content_type": "text/html"}],
            deadline=5.0,
            words=["not a valid ExecCredential", "Nothing was cached"],
            attempts=(1, 1),
            transient=False,
        ),
        id="garbage-body-wrong-content-type",
    ),
    pytest.param(
        Failing(
            [{"body": "truncated"}],
            deadline=5.0,
            words=["not a valid ExecCredential", "Nothing was cached"],
            attempts=(1, 1),
            transient=False,
        ),
        id="truncated-body",
    ),
    pytest.param(
        Failing(
            [{"body": "wrong_shape"}],
            deadline=5.0,
            words=["not a valid ExecCredential", "apiVersion: Field required"],
            attempts=(1, 1),
            transient=False,
        ),
        id="wrong-shape",
    ),
    pytest.param(
        Failing(
            [{"body": "empty"}],
            deadline=5.0,
            words=["not a valid ExecCredential"],
            attempts=(1, 1),
            transient=False,
        ),
        id="empty-body",
    ),
    pytest.param(
        Failing(
            [{"body": "oversized"}],
            deadline=5.0,
            words=["a body over 1024 KiB", "refusing to read it"],
            attempts=(1, 1),
            transient=False,
        ),
        id="oversized-body",
    ),
    pytest.param(
        Failing(
            [{"expires_in": -60}],
            deadline=5.0,
            words=["a credential that had already expired", "Nothing was cached"],
            attempts=(1, 1),
            transient=False,
        ),
        id="expiry-in-the-past",
    ),
    pytest.param(
        Failing(
            # The Date a day ahead of the expiry it came with: by the server's own clock the
            # token is dead on arrival.
            [{"date_offset": 86400}],
            deadline=5.0,
            words=["a credential that had already expired", "Nothing was cached"],
            attempts=(1, 1),
            transient=False,
        ),
        id="date-far-ahead-of-the-expiry",
    ),
]


@pytest.mark.parametrize("case", FAILING)
def test_fault_gives_the_documented_error_within_the_deadline(plugin: Plugin, case: Failing):
    client = plugin.emulator.client
    client.call("POST", "/_emulator/faults", {"faults": case.faults})

    failed = plugin.run(deadline=case.deadline)

    # The documented exit code and message, on stderr only.
    assert failed.returncode == ExitCode.API, failed.stderr
    assert failed.stdout == ""
    assert failed.stderr.startswith(f"rgpu-exec: the RemoteGPU API at {plugin.api_url}") or (
        failed.stderr.startswith(f"rgpu-exec: cannot reach the RemoteGPU API at {plugin.api_url}")
    ), failed.stderr
    for words in case.words:
        assert words in failed.stderr
    assert failed.stderr.count("\n") == 1, "one line"
    assert all(c.isprintable() for c in failed.stderr.rstrip("\n")), "hostile bytes sanitised"
    assert plugin.key["key"] not in failed.stderr
    # The total deadline: retries included, never a hang; and the Retry-After waits were real.
    assert case.min_seconds <= failed.seconds < case.deadline + STARTUP_SLACK
    attempts = _settled_attempts(plugin, at_least=case.attempts[0])
    assert case.attempts[0] <= attempts <= case.attempts[1], attempts
    # Nothing bad cached: only the record that damps kubectl's reruns, with the same verdict.
    plugin.assert_nothing_bad_cached()
    failure = plugin.failure()
    assert failure is not None
    assert (failure.exit_code, failure.transient) == (ExitCode.API, case.transient)

    # kubectl reruns a failing plugin 5-6 times: the reruns repeat the answer, fast, offline.
    client.clear_faults()
    rerun = plugin.run(deadline=case.deadline)
    assert_replayed(rerun, failed)
    assert rerun.seconds < STARTUP_SLACK
    assert len(plugin.exchange_attempts()) == attempts, "the damped rerun reached the API"

    # The next good answer is used: another identity (no damping record) gets a valid token
    # through the same cache directory, and it is cached.
    other = plugin.fresh_key()
    recovered = plugin.run(key=other)
    plugin.assert_good_token(recovered, key=other)
    assert len(plugin.exchange_attempts()) == attempts + 1


def assert_replayed(rerun: Run, failed: Run) -> None:
    """The same failure again, on stderr only: one line naming it by its first sentence."""
    assert (rerun.returncode, rerun.stdout) == (failed.returncode, "")
    assert rerun.stderr.startswith(failures.summary(failed.stderr)[:-1]), rerun.stderr
    assert "same failure as " in rerun.stderr
    assert rerun.stderr.count("\n") == 1


def _settled_attempts(plugin: Plugin, at_least: int) -> int:
    """The exchange requests the emulator logged. A delayed answer is logged only once it is
    sent, after the plugin gave up on it: wait for it (so that later counts are this test's)."""
    give_up = time.monotonic() + 10
    while len(plugin.exchange_attempts()) < at_least and time.monotonic() < give_up:
        time.sleep(0.1)
    return len(plugin.exchange_attempts())


def test_after_the_damping_window_the_same_entry_uses_the_next_good_answer(plugin: Plugin):
    plugin.emulator.client.add_fault(status=503, count=None)
    failed = plugin.run(deadline=1.0)
    assert failed.returncode == ExitCode.API
    assert "HTTP 503" in failed.stderr
    plugin.emulator.client.clear_faults()
    attempts = len(plugin.exchange_attempts())

    within = plugin.run(deadline=1.0)  # kubectl's rerun: the same settings
    assert_replayed(within, failed)
    assert len(plugin.exchange_attempts()) == attempts

    failure = plugin.failure()
    assert failure is not None
    time.sleep(max(0.0, failure.until - time.time()) + 0.1)
    assert failure.until - FAILURE_DAMPING_SECONDS < time.time()

    recovered = plugin.run()
    plugin.assert_good_token(recovered)
    assert len(plugin.exchange_attempts()) == attempts + 1
    assert plugin.failure() is None
    assert not (plugin.cache / (plugin.stem() + ".fail")).exists(), "the record is gone"
    hit = plugin.run()
    assert (hit.returncode, hit.token) == (0, recovered.token)
    assert len(plugin.exchange_attempts()) == attempts + 1


@pytest.mark.parametrize(
    ("fault", "attempts", "min_seconds"),
    [
        pytest.param({"count": 1, "drop": "mid_body"}, 2, 0.0, id="one-dropped-connection"),
        pytest.param({"count": 2, "status": 500}, 3, 0.0, id="two-5xx"),
        pytest.param({"count": 1, "status": 429, "retry_after": "1"}, 2, 1.0, id="one-429"),
        pytest.param({"delay": 1.0}, 1, 1.0, id="slow-but-within-the-deadline"),
        # The body is validated for what it is; a wrong label on a valid one is no reason to
        # fail kubectl.
        pytest.param({"content_type": "text/plain"}, 1, 0.0, id="mislabelled-but-valid-body"),
    ],
)
def test_faults_that_pass_are_ridden_out_silently(
    plugin: Plugin, fault: dict[str, Any], attempts: int, min_seconds: float
):
    plugin.emulator.client.add_fault(**fault)
    result = plugin.run(deadline=5.0)
    plugin.assert_good_token(result)
    assert min_seconds <= result.seconds < 5.0 + STARTUP_SLACK
    assert len(plugin.exchange_attempts()) == attempts


@pytest.mark.parametrize("offset", [-86400.0, 86400.0 * 3])
def test_a_server_clock_far_off_ours_still_gives_the_stated_lifetime(plugin: Plugin, offset):
    """The whole server a day behind, or three ahead (Date and expiry agree): the token lives
    the 15 minutes the server states, on our clock."""
    plugin.emulator.client.set_clock(offset=offset)
    before = time.time()
    result = plugin.run()
    after = time.time()
    plugin.assert_good_token(result)
    entry = plugin.entry()
    assert entry is not None
    assert before - 1 <= entry.issued_at <= after
    assert entry.expires_at - entry.issued_at == pytest.approx(900, abs=1.5)
    # kubectl is told the local time, 30 s early: not a day off.
    assert before + 870 - 2 <= result.expiry <= after + 870 + 1
    assert plugin.run().token == result.token, "a hit, not discarded as expired"


def _ttl_and_wait_into_the_refresh_margin(plugin: Plugin) -> Run:
    """A token that is fresh for 8 s only (lifetime 16 s, refresh margin half of it), then stale
    for 8 s: longer than a refresh with a token in hand may take (5 s)."""
    plugin.emulator.client.configure(token_ttl=16)
    first = plugin.run()
    plugin.assert_good_token(first)
    entry = plugin.entry()
    assert entry is not None
    time.sleep(max(0.0, entry.refresh_at - time.time()) + 0.1)
    return first


@pytest.mark.parametrize(
    ("fault", "deadline", "gives_up_after"),
    [
        # A refresh with a token in hand gives up sooner than a cold exchange: 5 s, not 10.
        pytest.param({"status": 503, "count": None}, 10.0, 5.0, id="5xx"),
        pytest.param({"drop": "before_response", "count": None}, 1.0, 1.0, id="dropped"),
    ],
)
def test_a_transient_fault_during_a_refresh_serves_the_still_valid_token(
    plugin: Plugin, fault: dict[str, Any], deadline: float, gives_up_after: float
):
    first = _ttl_and_wait_into_the_refresh_margin(plugin)
    cached = (plugin.cache / (plugin.stem() + ".token")).read_bytes()
    plugin.emulator.client.add_fault(**fault)

    stale = plugin.run(deadline=deadline)

    assert stale.returncode == 0, stale.stderr
    assert stale.token == first.token
    lines = stale.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("rgpu-exec: warning: could not refresh the token")
    assert "using the cached one, valid until" in lines[0]
    assert stale.seconds < gives_up_after + STARTUP_SLACK
    assert (plugin.cache / (plugin.stem() + ".token")).read_bytes() == cached
    # The reruns get it silently from the cache while the failure is damped.
    # (With the same settings: a changed deadline or proxy would try the API again at once.)
    again = plugin.run(deadline=deadline)
    assert (again.returncode, again.stderr, again.token) == (0, "", first.token)


def test_nonsense_during_a_refresh_serves_the_still_valid_token_and_leaves_the_entry_intact(
    plugin: Plugin,
):
    # Nonsense (a proxy's or a portal's page, a garbled answer) is not the API's verdict on the
    # key: the still-valid token is served, with one warning that says what came.
    first = _ttl_and_wait_into_the_refresh_margin(plugin)
    cached = (plugin.cache / (plugin.stem() + ".token")).read_bytes()
    plugin.emulator.client.add_fault(body="garbage")

    stale = plugin.run()

    assert (stale.returncode, stale.token) == (0, first.token)
    assert stale.stderr.startswith("rgpu-exec: warning: could not refresh the token")
    assert "not a valid ExecCredential" in stale.stderr
    assert first.token not in stale.stderr
    assert (plugin.cache / (plugin.stem() + ".token")).read_bytes() == cached
    entry = plugin.entry()
    assert entry is not None
    assert entry.token == first.token


class _TricklingServer:
    """A loopback HTTP server that answers one byte at a time, each well within any read
    timeout: only a deadline on the whole exchange stops a client from waiting for ever."""

    def __init__(self, where: str, interval: float = 0.25) -> None:
        self.where = where  # "headers" or "body"
        self.interval = interval
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 900))
        body = json.dumps({
            "apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
            "status": {"token": "trickled-token", "expirationTimestamp": expiry},
        }).encode()  # fmt: skip
        head = (
            f"HTTP/1.1 200 OK\r\nDate: {formatdate(usegmt=True)}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        with connection:
            try:
                connection.recv(65536)
                if self.where == "body":
                    connection.sendall(head)
                for byte in (head if self.where == "headers" else b"") + body:
                    if self.stopped.wait(self.interval):
                        return
                    connection.sendall(bytes([byte]))
            except OSError:
                return

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()


@pytest.fixture(params=["headers", "body"])
def trickling(request: pytest.FixtureRequest) -> Iterator[_TricklingServer]:
    server = _TricklingServer(request.param)
    yield server
    server.close()


def test_an_answer_trickling_in_cannot_hold_kubectl_past_the_deadline(
    plugin: Plugin, trickling: _TricklingServer
):
    plugin.api_url = trickling.url
    result = plugin.run(deadline=2.0)
    assert result.returncode == ExitCode.API, result.stderr
    assert "no complete answer within 2 s" in result.stderr
    assert result.seconds < 2.0 + STARTUP_SLACK
    plugin.assert_nothing_bad_cached()


def test_the_revocation_window_ends_at_the_next_refresh(plugin: Plugin):
    """A revoked key's cached token is served until its refresh point (it stays valid at the
    issuer until it expires); the refresh then fails with exit 3 and the token is not served."""
    plugin.emulator.client.configure(token_ttl=6)  # fresh for 3 s (half its lifetime)
    first = plugin.run()
    plugin.assert_good_token(first)
    plugin.emulator.client.revoke_key(plugin.key["id"])

    within = plugin.run()
    assert (within.returncode, within.token) == (0, first.token)
    described = plugin.emulator.client.lookup_token(first.token)
    assert described is not None
    assert described["valid"] is True

    entry = plugin.entry()
    assert entry is not None
    time.sleep(max(0.0, entry.refresh_at - time.time()) + 0.1)
    after = plugin.run()
    assert after.returncode == ExitCode.API_KEY
    assert after.stdout == ""
    assert "rejected the API key" in after.stderr
    assert "revoked_api_key" in after.stderr
    assert first.token not in after.stderr
