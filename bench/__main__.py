"""`make bench`: rgpu-exec side by side with what users would otherwise run.

    python -m bench [--runs 25] [--warmup 3] [--quick] [--out DIR] [--only startup]
                    [--installed BIN]

Runs everything in a private sandbox (temporary HOME, kubectl cache, rgpu-exec cache; the
emulator on loopback), then writes bench/results.json, the generated tables of
docs/benchmarks.md and README.md, and docs/bench-kubectl.png. `--quick` is a smoke run: few runs,
no chart, written only with `--out`. `--out DIR` writes under DIR instead of the repository (the
documents are read from the repository, filled, and written under DIR). `--only startup` runs
the start-up rows alone (bench/startup.py) and writes only their table and their part of the
results; `--installed BIN` measures them on the non-editable install whose bin directory that
is, instead of making one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import cache_hit, cold, fault_soak, healing, kubectl, memory, scale, startup
from bench.context import Bench
from bench.kubectl import KUBE_LATENCY_MS
from bench.machine import load, machine, versions
from bench.report import write_outputs, write_startup
from bench.sandbox import EXCHANGE_DELAY, Sandbox, tool
from bench.timing import compile_package

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Plan:
    """How much of each measurement a run does."""

    runs: int
    warmup: int
    herd_rounds: dict[int, int]  # concurrency -> rounds
    entry_counts: tuple[int, ...]
    merge_contexts: dict[int, int]  # contexts -> rounds
    memory_runs: int = 10
    remember_runs: int = 100
    heal_rounds: int = 5
    rejected_commands: int = 8
    client_lifetimes: float = 2.0
    offline_runs: int = 10
    # kubectl loops while the exchange suffers each kind of short fault (tokens of this life)
    soak_ttl: float = fault_soak.SOAK_TTL
    soak_loops: int = fault_soak.SOAK_LOOPS
    soak_kinds: tuple[str, ...] = fault_soak.ALL_KINDS
    # The start-up rows on a fresh non-editable install (a few minutes to make), else on this one
    clean_install: bool = True


def plan(args: argparse.Namespace) -> Plan:
    if args.quick:  # a smoke run: every step, a few runs each
        return Plan(
            runs=3, warmup=1, herd_rounds={8: 1}, entry_counts=(10, 1_000),
            merge_contexts={10: 1}, memory_runs=2, remember_runs=6, heal_rounds=1,
            rejected_commands=2, client_lifetimes=0.25, offline_runs=1, soak_ttl=12.0,
            soak_loops=2, soak_kinds=("503 burst", "garbage answers"), clean_install=False,
        )  # fmt: skip
    return Plan(
        runs=args.runs, warmup=args.warmup, herd_rounds={8: 10, 32: 4, 128: 2},
        entry_counts=(10, 1_000, 10_000), merge_contexts={10: 20, 100: 20, 1000: 20},
    )  # fmt: skip


def measure(p: Plan, only: str | None = None, installed: Path | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    compile_package()  # bytecode written once, as `pip install` does
    sandbox = Sandbox()
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(tool("kubectl")),
        "method": {
            "runs": p.runs,
            "warmup": p.warmup,
            "herd_rounds": {str(n): r for n, r in p.herd_rounds.items()},
            "exchange_delay_s": EXCHANGE_DELAY,
            "kube_latency_ms": KUBE_LATENCY_MS,
        },
    }
    try:
        sandbox.start()
        bench = Bench(sandbox, p.runs, p.warmup)
        here = None if p.clean_install else Path(sys.executable).parent
        steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("cache_hit", lambda: cache_hit.cache_hit(bench)),
            ("kubectl", lambda: kubectl.kubectl(bench)),
            ("kubectl_latency", lambda: kubectl.kubectl_at_latency(bench, KUBE_LATENCY_MS)),
            ("cold", lambda: cold.cold(bench)),
            ("startup", lambda: startup.startup(bench, installed or here)),
            ("herd", lambda: cold.herd(bench, p.herd_rounds)),
            ("scale", lambda: scale.scale(bench, p.entry_counts, p.merge_contexts)),
            ("memory", lambda: memory.memory(bench, p.memory_runs)),
            ("remember", lambda: healing.remember_cost(bench, p.remember_runs)),
            # These invalidate tokens at the Kubernetes front: after every row that uses it.
            ("self_heal", lambda: healing.self_heal(bench, p.heal_rounds)),
            ("rejecting_cluster", lambda: healing.rejecting_cluster(bench, p.rejected_commands)),
            ("python_client", lambda: healing.python_client(bench, p.client_lifetimes)),
            ("offline", lambda: healing.offline_failure(bench, p.offline_runs)),
            (
                "fault_soak",
                lambda: fault_soak.fault_soak(
                    bench, ttl=p.soak_ttl, loops=p.soak_loops, kinds=p.soak_kinds
                ),
            ),
        ]
        for name, step in steps:
            if only is not None and name != only:
                continue
            step_started = time.perf_counter()
            print(f"== {name} ...", file=sys.stderr, flush=True)
            results[name] = step()
            seconds = time.perf_counter() - step_started
            results[name]["seconds"] = round(seconds, 1)
            print(f"   done in {seconds:.0f} s", file=sys.stderr, flush=True)
    finally:
        sandbox.close()
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    results["machine"]["load_end"] = load()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25, help="timed runs per command (>= 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: few runs, no chart, no output but --out"
    )
    parser.add_argument("--out", type=Path, help="write under this directory, not the repository")
    parser.add_argument("--only", choices=["startup"], help="run this step alone")
    parser.add_argument(
        "--installed", type=Path, help="the bin directory of a non-editable install"
    )
    args = parser.parse_args()
    results = measure(plan(args), args.only, args.installed)
    if args.only:
        for path in write_startup(results, ROOT, args.out or ROOT):
            print(f"wrote {path}", file=sys.stderr)
        return 0
    if args.quick and args.out is None:
        print(json.dumps(results, indent=2))
        return 0
    for path in write_outputs(results, ROOT, args.out or ROOT, draw=not args.quick):
        print(f"wrote {path}", file=sys.stderr)
    print(f"total {results['total_seconds']:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
