"""A soak of kubectl through rgpu-exec while the credential exchange suffers short faults.

`loops` threads each run `kubectl get pods` again and again (each a process of its own, as a
user's shell loops or CI jobs do) through a kubeconfig whose exec stanza runs rgpu-exec, with
tokens of `ttl` seconds of real time. Meanwhile the driver injects one fault kind at a time
(`FAULT_KINDS`) into the exchange, a few answers long, and waits until they are all used up and
the API has issued a token again (it recovers at once), then goes on to the next kind. Faults are
met by the refreshes, which come once a token is inside its refresh margin: each kind costs
about half a token lifetime.

Every kubectl command is counted under the last fault kind it overlapped (the one in force when
it ended): how many ran, how many failed, and how long the slowest took. Tokens invalidated at
the cluster fail the commands that hold one at that moment, whatever the plugin does: client-go
returns the 401 it met (it runs the plugin again, and the next command gets the new token).
`drive` returns it all as a JSON-ready dict; the e2e suite runs a short version
(tests/e2e/test_soak.py), `python -m bench` the full one.
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from rgpu_emulator.testing import EmulatorClient

INVALIDATED = "tokens invalidated at the cluster"
# Each kind, as faults posted to the emulator (see `faults.Fault`), a few answers long.
FAULT_KINDS: dict[str, list[dict[str, Any]]] = {
    "503 burst": [{"status": 503, "count": 3}],
    "4 s stalls": [{"delay": 4.0, "count": 2}],
    INVALIDATED: [],
    "answers dropped mid-body": [{"drop": "mid_body", "count": 3}],
    "garbage answers": [{"body": "garbage", "count": 3}],
    "an HTML page (a captive portal, 200)": [{"body": "html", "count": 3}],
    "an HTML page (a proxy's error, 502)": [{"body": "html", "status": 502, "count": 3}],
    "truncated answers": [{"body": "truncated", "count": 3}],
    "empty answers": [{"body": "empty", "count": 3}],
    "wrong-shape answers": [{"body": "wrong_shape", "count": 3}],
}
SLOW = 10.0  # seconds: a command that takes longer counts as slow
_POLL = 0.2
_COMMAND_TIMEOUT = 60.0


@dataclass
class _Kind:
    commands: int = 0
    failed: int = 0
    slow: int = 0
    slowest: float = 0.0
    faults_used_up: bool = True
    first_failure: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "commands": self.commands,
            "failed": self.failed,
            f"over_{SLOW:.0f}_s": self.slow,
            "slowest_s": round(self.slowest, 2),
            "faults_used_up": self.faults_used_up,
            "first_failure": self.first_failure,
        }


@dataclass
class _Tally:
    phase: str = "warm-up"
    kinds: dict[str, _Kind] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, phase: str, seconds: float, code: int, stderr: str) -> None:
        with self.lock:
            kind = self.kinds.setdefault(phase, _Kind())
            kind.commands += 1
            kind.slowest = max(kind.slowest, seconds)
            kind.slow += seconds > SLOW
            if code != 0:
                kind.failed += 1
                if not kind.first_failure:
                    kind.first_failure = " ".join(stderr.split())[-300:]


def drive(
    client: EmulatorClient, argv: Sequence[str], env: Mapping[str, str], *, ttl: float,
    kinds: Sequence[str] = tuple(FAULT_KINDS), loops: int = 4, rounds: int = 1,
    workdir: Path | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Run `argv` (a kubectl command) in `loops` loops with tokens of `ttl` seconds while each
    fault kind of `kinds` is injected in turn, `rounds` times over; then the counts."""
    previous_ttl = client.configure()["token_ttl"]
    client.configure(token_ttl=ttl)
    tally = _Tally()
    stop = threading.Event()
    cwd = str(workdir) if workdir is not None else None

    def loop() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                done = subprocess.run(
                    list(argv), env=dict(env), cwd=cwd, capture_output=True, text=True,
                    stdin=subprocess.DEVNULL, timeout=_COMMAND_TIMEOUT, check=False,
                )  # fmt: skip
                code, stderr = done.returncode, done.stderr
            except subprocess.TimeoutExpired:
                code, stderr = -1, f"no answer within {_COMMAND_TIMEOUT:.0f} s"
            tally.add(tally.phase, time.monotonic() - started, code, stderr)

    started = time.monotonic()
    exchanges_before = client.exchanges()
    threads = [threading.Thread(target=loop, daemon=True) for _ in range(loops)]
    try:
        for thread in threads:
            thread.start()
        _wait(lambda: client.exchanges() > exchanges_before, ttl)  # the first token
        time.sleep(min(ttl / 4, 5.0))
        for _ in range(rounds):
            for kind in kinds:
                tally.phase = kind
                tally.kinds.setdefault(kind, _Kind())
                if kind == INVALIDATED:
                    client.invalidate_tokens()
                else:
                    client.add_fault(faults=FAULT_KINDS[kind])
                # Over once every faulty answer was given and the API has issued a token since.
                if not _wait(lambda: not _pending(client), 3 * ttl + 10):
                    client.clear_faults()
                    tally.kinds[kind].faults_used_up = False
                after = client.exchanges()
                _wait(lambda: client.exchanges() > after, ttl)  # noqa: B023
                time.sleep(min(ttl / 8, 2.0))  # a few commands after it, still counted under it
        tally.phase = "after"
        time.sleep(min(ttl / 4, 5.0))
    finally:
        stop.set()
        for thread in threads:
            thread.join(_COMMAND_TIMEOUT + 5)
        client.clear_faults()
        client.configure(token_ttl=previous_ttl)
    kinds_json = {name: kind.to_json() for name, kind in tally.kinds.items()}
    invalidated = tally.kinds.get(INVALIDATED, _Kind())
    return {
        "token_ttl_s": ttl,
        "loops": loops,
        "rounds": rounds,
        "seconds": round(time.monotonic() - started, 1),
        "commands": sum(k.commands for k in tally.kinds.values()),
        "failed": sum(k.failed for k in tally.kinds.values()),
        # of which at the invalidation: the commands holding a token then (client-go's 401)
        "failed_at_invalidation": invalidated.failed,
        f"over_{SLOW:.0f}_s": sum(k.slow for k in tally.kinds.values()),
        "slowest_s": round(max((k.slowest for k in tally.kinds.values()), default=0.0), 2),
        "exchanges": client.exchanges() - exchanges_before,
        "by_fault": kinds_json,
    }


def _pending(client: EmulatorClient) -> bool:
    return bool(client.call("GET", "/_emulator/faults").json()["items"])


def _wait(done: Callable[[], bool], seconds: float) -> bool:
    give_up_at = time.monotonic() + seconds
    while time.monotonic() < give_up_at:
        if done():
            return True
        time.sleep(_POLL)
    return False
