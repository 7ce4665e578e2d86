"""What a rejected token and a long-running client cost (rgpu_exec.hotpath.second_ask), and how
long `rgpu-exec token` takes to fail with the API unreachable. Each returns a JSON-ready dict.

These rows invalidate tokens at the emulator's Kubernetes front: run them after every row that
uses it with a cached token.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.context import CACHE_HIT, CACHE_HIT_UNJUDGED
from bench.timing import fig, figure, interleaved, time_once
from rgpu_exec.hotpath import second_ask

if TYPE_CHECKING:
    from bench.context import Bench

# The token lifetime for the long-running client: its 5-minute rule fires 70 s after each
# exchange, while rgpu-exec's entry is fresh (the case: 400 s, 2 requests a second).
CLIENT_TTL = 400.0
CLIENT_RATE = 2.0


def _fig(samples: list[float]) -> dict[str, Any]:
    f = figure("", samples)
    return {
        "median": round(f.median_ms, 1),
        "min": round(f.min_ms, 1),
        "max": round(f.max_ms, 1),
        "runs": f.runs,
        "unit": "ms",
    }


def remember_cost(bench: Bench, runs: int) -> dict[str, Any]:
    """What remembering the client costs a cache hit: kubectl's exec info (the parent is read
    and appended to `<stem>.served`) against no exec info (no client to remember), alternated
    over more runs than row 1, since the difference is a fraction of the noise."""
    bench.token()
    figures = interleaved(
        {
            CACHE_HIT: (bench.token_argv, bench.token_env),
            CACHE_HIT_UNJUDGED: (bench.token_argv, bench.unjudged_env),
        },
        runs,
        bench.warmup,
    )
    hit, unjudged = figures[CACHE_HIT], figures[CACHE_HIT_UNJUDGED]
    return {
        "figures": {name: fig(f) for name, f in figures.items()},
        "ratio": round(hit.median_ms / unjudged.median_ms, 3),
        "extra_ms": round(hit.median_ms - unjudged.median_ms, 2),
        "extra_min_ms": round(hit.min_ms - unjudged.min_ms, 2),
    }


def self_heal(bench: Bench, rounds: int) -> dict[str, Any]:
    """kubectl after the cluster rejects its cached token. Each round, with a cache of its own:
    one command fills it; the emulator invalidates the token; three commands follow."""
    sb = bench.sb
    argv = [bench.kubectl_path, "get", "pods"]
    steps: dict[str, list[float]] = {"rejected": [], "next": [], "after": []}
    outcomes: list[list[int]] = []
    extra: list[int] = []
    for n in range(rounds):
        env = sb.env(
            KUBECONFIG=str(bench.kubeconfig), RGPU_EXEC_CACHE_DIR=str(sb.root / f"heal-{n}")
        )
        subprocess.run(argv, env=env, capture_output=True, check=True)  # fills the cache
        sb.api.invalidate_tokens(namespace_id=sb.namespace_id)
        before = sb.exchanges()
        codes = []
        for step in steps.values():
            started = time.perf_counter()
            done = subprocess.run(argv, env=env, capture_output=True, check=False)
            step.append((time.perf_counter() - started) * 1000)
            codes.append(done.returncode)
        outcomes.append(codes)
        extra.append(sb.exchanges() - before)
    return {
        "command": "kubectl get pods",
        "exit_codes_per_round": outcomes,
        "extra_exchanges_per_round": extra,
        "figures": {
            "the command that meets the rejection (fails; one exchange inside)": _fig(
                steps["rejected"]
            ),
            "the next command (succeeds from the cache)": _fig(steps["next"]),
            "the one after (a cache hit)": _fig(steps["after"]),
        },
        "goal": "exactly one extra exchange; the next command succeeds",
        "met": all(e == 1 for e in extra) and all(c[1:] == [0, 0] for c in outcomes),
    }


def rejecting_cluster(bench: Bench, commands: int) -> dict[str, Any]:
    """A cluster that rejects every token: `commands` kubectl commands in a row, each after the
    emulator invalidated every token, well within second_ask.FORCE_WINDOW."""
    sb = bench.sb
    argv = [bench.kubectl_path, "get", "pods"]
    env = sb.env(KUBECONFIG=str(bench.kubeconfig), RGPU_EXEC_CACHE_DIR=str(sb.root / "reject"))
    subprocess.run(argv, env=env, capture_output=True, check=True)
    before = sb.exchanges()
    started = time.perf_counter()
    failed = 0
    for _ in range(commands):
        sb.api.invalidate_tokens()
        failed += subprocess.run(argv, env=env, capture_output=True, check=False).returncode != 0
    seconds = time.perf_counter() - started
    exchanges = sb.exchanges() - before
    return {
        "commands": commands,
        "failed": failed,
        "seconds": round(seconds, 1),
        "exchanges": exchanges,
        "force_window_s": second_ask.FORCE_WINDOW,
        "goal": "at most one forced exchange per entry per window",
        "met": exchanges <= 1 + int(seconds // second_ask.FORCE_WINDOW),
    }


def python_client(bench: Bench, lifetimes: float) -> dict[str, Any]:
    """The official Python client running for `lifetimes` token lifetimes at CLIENT_RATE
    requests a second (virtual time: see rgpu_emulator.long_client)."""
    sb = bench.sb
    previous = sb.api.configure()["token_ttl"]
    sb.api.configure(token_ttl=CLIENT_TTL)
    workdir = sb.root / "client"
    argv = [
        sys.executable, "-m", "rgpu_emulator.long_client",
        "--ready-file", str(sb.emulator.ready_file), "--namespace", "bench",
        "--namespace-id", sb.namespace_id, "--workdir", str(workdir),
        "--lifetimes", str(lifetimes), "--rate", str(CLIENT_RATE),
    ]  # fmt: skip
    try:
        env = sb.env(RGPU_EXEC_CACHE_DIR=str(workdir / "cache"))
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    finally:
        sb.api.configure(token_ttl=previous)
        sb.api.set_clock(offset=0)
    run = json.loads(done.stdout)
    return {
        "token_ttl_s": CLIENT_TTL,
        "rate_per_s": CLIENT_RATE,
        "lifetimes": lifetimes,
        "run": run,
        "goal": "no run storm: plugin runs <= exchanges + 1; no failed request",
        "met": run["plugin_runs"] <= run["exchanges"] + 1 and run["failed_requests"] == 0,
    }


def offline_failure(bench: Bench, runs: int) -> dict[str, Any]:
    """`rgpu-exec token` on a cold cache against a closed loopback port: how long until it says
    the API cannot be reached (exit 5). Each run with an empty cache, so no failure is replayed."""
    with socket.socket() as probe:  # a port nobody listens on: bound, then closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = list(bench.token_argv)
    argv[argv.index("--api-url") + 1] = f"http://127.0.0.1:{port}"
    samples = []
    for n in range(runs):
        cache = Path(bench.sb.root / f"offline-{n}")
        env = bench.token_env | {"RGPU_EXEC_CACHE_DIR": str(cache)}
        samples.append(time_once(argv, env, expect=5))
    return {
        "figures": {"rgpu-exec token, API port closed (exit 5)": _fig(samples)},
        "median_s": round(statistics.median(samples) / 1000, 2),
    }
