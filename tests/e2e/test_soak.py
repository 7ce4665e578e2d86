"""Soak: 510 plugin processes over 20 namespaces and 3 keys, while every token expires twice.

The model. The plugin refreshes a token once less than min(max(60 s, 10 % of its lifetime), half
its lifetime) remains,
on its own clock, from the lifetime the server states (expiry minus the answer's Date). Moving
the emulator's clock moves its Date and its expiries together, so it cannot age a cached token;
only real time can. So:

- the emulator issues tokens for TTL = 70 s: a token is fresh for FRESH = 70 - 35 = 35 s of real
  time after it is issued, then inside its refresh margin;
- the run is three waves of 170 processes, each wave every (namespace, key) pair at least twice,
  ordered so that a pair's processes stay within a few seconds of each other (some of them
  concurrent: the single flight is exercised), however long the whole wave takes;
- between waves the test waits until every cached token is past its refresh point (read from
  the cache), and moves the emulator's clock on by TTL, so that every token of the last wave has
  expired for the issuer too (the Kubernetes front would refuse it). Every token thus expires
  twice during the run, and every pair goes through three refresh windows.

Expected exchanges: namespaces x keys x refresh windows = 20 x 3 x 3 = 180, with a tolerance of
zero: one exchange per pair per window (single flight) and none wasted. Each token handed out is
looked up in the emulator: it belongs to the (key, namespace) the process asked for, it was
valid when its wave ended, and it had expired (issuer's view) once the next wave began.

That is the full soak, about two minutes of real time: `make long` runs it (RGPU_TEST_SOAK=full;
these tests are `long`, left out of `make test`). Run alone without that variable, the same run
is smaller: 8 namespaces, the same 3 keys, waves of 60 processes and tokens of TTL = 40 s
(fresh for 20 s): the same waves, expiries and exact counts, in about a minute.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from rgpu_emulator import fault_soak
from rgpu_emulator.testing import own_parent
from rgpu_exec.cache import files as cache_files
from rgpu_exec.hotpath import token_cache

from emulator_support import KUBECTLS, RGPU_EXEC, Harness

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.e2e, pytest.mark.long]

FULL = os.environ.get("RGPU_TEST_SOAK") == "full"  # `make long`
NAMESPACES = 20 if FULL else 8
KEYS = 3
WAVES = 3
PROCESSES_PER_WAVE = 170 if FULL else 60  # 3 x 170 = 510 processes (3 x 60 = 180)
CONCURRENCY = 6
SPREAD = 10.0  # ranks of the shuffled pair order, see wave_plan
TTL = 70.0 if FULL else 40.0  # longer than a wave takes: no token the issuer expired is handed out
FRESH = TTL - token_cache.refresh_margin(TTL)
EXEC_INFO = (
    '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",'
    '"spec":{"interactive":false}}'
)


@dataclass(frozen=True)
class Call:
    wave: int
    namespace: int
    key: int


@dataclass(frozen=True)
class Outcome:
    call: Call
    returncode: int
    stderr: str
    token: str | None


def wave_plan(rng: random.Random, wave: int) -> list[Call]:
    """Every pair at least twice, in an order where a pair's calls stay close together.

    A pair's first call sits at the pair's rank in a shuffled order of pairs; its other calls
    up to SPREAD ranks later, so some run at the same time as the first (and queue on its
    single flight) and most come just after it (cache hits). Pairs interleave throughout.
    """
    pairs = [(n, k) for n in range(NAMESPACES) for k in range(KEYS)]
    calls = [Call(wave, n, k) for n, k in pairs * 2]
    calls += [Call(wave, *rng.choice(pairs)) for _ in range(PROCESSES_PER_WAVE - len(calls))]
    rank = {pair: float(index) for index, pair in enumerate(rng.sample(pairs, len(pairs)))}
    placed: list[tuple[float, Call]] = []
    seen: set[tuple[int, int]] = set()
    for call in calls:
        pair = (call.namespace, call.key)
        placed.append((rank[pair] + (rng.uniform(0, SPREAD) if pair in seen else 0.0), call))
        seen.add(pair)
    return [call for _, call in sorted(placed, key=lambda p: p[0])]


# 510 processes, timed by real time: never beside another timed test
@pytest.mark.xdist_group("timed")
def test_soak_many_processes_namespaces_and_keys_through_expiries(emulator: Harness, sandbox: Path):
    started = time.monotonic()
    client = emulator.client
    client.configure(token_ttl=TTL)
    namespaces = [emulator.namespace(f"soak-{i:02d}") for i in range(NAMESPACES)]
    ids = [ns["id"] for ns in namespaces]
    keys = [
        emulator.key({"kubernetes_exec": {"namespace_ids": ids}}, name="soak-listed"),
        emulator.key({"kubernetes_exec": {"all_namespaces": True}}, name="soak-all-namespaces"),
        emulator.key({"all": True}, name="soak-all"),
    ]
    cache = str(sandbox / "cache")
    api_url = emulator.ready.api_url

    def run(call: Call) -> Outcome:
        env = dict(os.environ, REMOTEGPU_API_KEY=keys[call.key]["key"])
        env["KUBERNETES_EXEC_INFO"] = EXEC_INFO
        argv = [str(RGPU_EXEC), "token", "--namespace-id", ids[call.namespace],
                "--api-url", api_url]  # fmt: skip
        result = subprocess.run(  # each run a new parent process, as each kubectl command is
            own_parent(argv), env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
            timeout=120, check=False,
        )  # fmt: skip
        token = json.loads(result.stdout)["status"]["token"] if result.returncode == 0 else None
        return Outcome(call, result.returncode, result.stderr, token)

    def cached_entries() -> list[token_cache.Entry]:
        entries = [entry for _, entry in cache_files.iter_entries(cache)]
        assert all(entry is not None for entry in entries), "an invalid entry in the cache"
        return [entry for entry in entries if entry is not None]

    rng = random.Random(20240607)
    outcomes: list[Outcome] = []
    wave_seconds: list[float] = []
    wave_tokens: list[set[str]] = []
    for wave in range(WAVES):
        if wave:
            # Wait out every token's fresh window (on our clock, as the plugin sees it)...
            refresh_points = [entry.refresh_at for entry in cached_entries()]
            assert len(refresh_points) == NAMESPACES * KEYS
            time.sleep(max(0.0, max(refresh_points) - time.time()) + 0.2)
            # ...and let them expire for the issuer as well.
            client.set_clock(advance=TTL)
            for token in wave_tokens[-1]:
                described = client.lookup_token(token)
                assert described is not None
                assert described["valid"] is False, "last wave's tokens have expired"
        wave_started = time.monotonic()
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            done = list(pool.map(run, wave_plan(rng, wave)))
        wave_seconds.append(time.monotonic() - wave_started)
        outcomes += done
        wave_tokens.append({o.token for o in done if o.token is not None})
        # Every token of this wave is still valid for the issuer as the wave ends.
        for token in wave_tokens[-1]:
            described = client.lookup_token(token)
            assert described is not None
            assert described["valid"] is True, "a token the issuer had already expired was used"

    # Zero failures, and silence on stderr.
    assert len(outcomes) == WAVES * PROCESSES_PER_WAVE >= (500 if FULL else 180)
    failures = [o for o in outcomes if o.returncode != 0 or o.stderr]
    assert failures == [], failures[:3]

    # Nothing cross-wired: each token belongs to the (key, namespace) that every process
    # handed it asked for, and only ever in one wave.
    askers: dict[str, set[tuple[int, int, int]]] = defaultdict(set)
    for o in outcomes:
        assert o.token is not None
        askers[o.token].add((o.call.wave, o.call.namespace, o.call.key))
    for token, asked in askers.items():
        assert len(asked) == 1, f"one token handed to {sorted(asked)}"
        ((_, namespace, key),) = asked
        described = client.lookup_token(token)
        assert described is not None
        assert (described["namespace_id"], described["key_id"]) == (
            ids[namespace],
            keys[key]["id"],
        )

    # Exchanges: one per pair per refresh window, none wasted (tolerance: zero).
    stats = client.stats()["exchanges"]
    timing = f"waves took {[round(s, 1) for s in wave_seconds]} s; fresh window {FRESH:.0f} s"
    assert stats["total"] == NAMESPACES * KEYS * WAVES == len(askers), timing
    assert stats["by_namespace"] == dict.fromkeys(ids, KEYS * WAVES), timing
    assert stats["by_key"] == {k["prefix"]: NAMESPACES * WAVES for k in keys}, timing
    per_pair_and_wave = Counter(next(iter(asked)) for asked in askers.values())
    assert set(per_pair_and_wave.values()) == {1}
    assert len(per_pair_and_wave) == NAMESPACES * KEYS * WAVES

    # The cache ends with one valid entry per pair, each holding that pair's last token.
    final = {(e.key.namespace_id, e.key.identity): e.token for e in cached_entries()}
    assert len(final) == NAMESPACES * KEYS
    assert set(final.values()) == wave_tokens[-1]
    print(f"soak: {len(outcomes)} processes in {time.monotonic() - started:.0f} s; {timing}")


# -- kubectl while the exchange suffers short faults -------------------------------------------

# Tokens of 40 s, as in the soak that found the holes: each fault kind is met by the next
# refresh, 20 s after the last, and ridden out while the cached token lasts a command (from 20 s
# before its expiry to 10 s). Three loops of `kubectl get pods`, about 100 s in all.
FAULT_TTL = 40.0
FAULT_LOOPS = 3
# The kinds that failed commands in that soak (`python -m bench` runs every kind).
SHORT_FAULTS = (
    "answers dropped mid-body",
    "garbage answers",
    "an HTML page (a captive portal, 200)",
    "truncated answers",
)


@pytest.mark.xdist_group("timed")
def test_no_kubectl_command_fails_or_takes_over_10_s_while_the_exchange_suffers_short_faults(
    emulator: Harness, sandbox: Path
):
    if not KUBECTLS:
        pytest.skip("no kubectl found")
    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)
    kubeconfig = emulator.kubeconfig(team)
    env = emulator.plugin_env(key["key"], KUBECONFIG=str(kubeconfig))
    argv = [KUBECTLS[0].path, "get", "pods"]
    soak = fault_soak.drive(
        emulator.client, argv, env, ttl=FAULT_TTL, kinds=SHORT_FAULTS, loops=FAULT_LOOPS,
        workdir=sandbox,
    )  # fmt: skip
    print(f"fault soak: {json.dumps(soak)}")
    by_fault = soak["by_fault"]
    for kind in SHORT_FAULTS:
        assert by_fault[kind]["faults_used_up"], (kind, soak)
        assert by_fault[kind]["commands"] > 0, (kind, soak)
    assert soak["failed"] == 0, soak
    assert soak["over_10_s"] == 0, soak
    assert soak["commands"] >= 50, soak
