"""`make bench`: rgpu-exec side by side with what users would otherwise run.

    python -m bench [--runs 25] [--warmup 3] [--quick [--out DIR]]

Runs everything in a private sandbox (temporary HOME, kubectl cache, rgpu-exec cache; the
emulator on loopback), then writes bench/results.json, bench/results.md, docs/benchmarks.md and
docs/bench-kubectl.png. `--quick` is a smoke test: few runs, written only with `--out`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import cache_hit, cold, healing, kubectl, memory, scale
from bench.context import Bench
from bench.machine import load, machine, versions
from bench.report import write_outputs
from bench.sandbox import Sandbox, tool
from bench.timing import compile_package

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25, help="timed runs per command (>= 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    parser.add_argument("--quick", action="store_true", help="smoke test; writes nothing")
    parser.add_argument(
        "--out", type=Path, help="write into this directory (bench/ and docs/) instead"
    )
    args = parser.parse_args()
    runs, warmup = (5, 1) if args.quick else (args.runs, args.warmup)
    herd_sizes = {8: 2, 32: 1, 128: 1} if args.quick else {8: 10, 32: 4, 128: 2}
    merge_contexts = {10: 3, 1000: 3} if args.quick else {10: 20, 100: 20, 1000: 20}
    entry_counts = (10, 1_000, 10_000)

    started = time.perf_counter()
    compile_package()  # bytecode written once, as `pip install` does
    sandbox = Sandbox()
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(tool("kubectl")),
        "method": {
            "runs": runs,
            "warmup": warmup,
            "herd_rounds": {str(n): r for n, r in herd_sizes.items()},
            "exchange_delay_s": 0.05,
        },
    }
    try:
        sandbox.start()
        bench = Bench(sandbox, runs, warmup)
        steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
            ("cache_hit", lambda: cache_hit.cache_hit(bench)),
            ("kubectl", lambda: kubectl.kubectl(bench)),
            ("cold", lambda: cold.cold(bench)),
            ("herd", lambda: cold.herd(bench, herd_sizes)),
            ("scale", lambda: scale.scale(bench, entry_counts, merge_contexts)),
            ("memory", lambda: memory.memory(bench, 5 if args.quick else 10)),
            ("remember", lambda: healing.remember_cost(bench, 20 if args.quick else 100)),
            # These invalidate tokens at the Kubernetes front: after every row that uses it.
            ("self_heal", lambda: healing.self_heal(bench, 2 if args.quick else 5)),
            ("rejecting_cluster", lambda: healing.rejecting_cluster(bench, 4 if args.quick else 8)),
            ("python_client", lambda: healing.python_client(bench, 0.5 if args.quick else 2.0)),
            ("offline", lambda: healing.offline_failure(bench, 3 if args.quick else 10)),
        ]
        for name, step in steps:
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
    if args.quick and args.out is None:
        print(json.dumps(results, indent=2))
        return 0
    out = args.out or ROOT
    for directory in (out / "bench", out / "docs"):
        directory.mkdir(parents=True, exist_ok=True)
    table = write_outputs(results, out)
    print(table)
    print(f"total {results['total_seconds']:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
