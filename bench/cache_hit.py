"""1. The cache hit: the generated kubeconfig's exec command against `python -c pass` (with each
exec info kubectl sends, with none, and through the entry-point wrapper), and what it imports
beyond `python -c pass`."""

from __future__ import annotations

import statistics
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from bench.context import (
    BARE_PYTHON,
    CACHE_HIT,
    CACHE_HIT_CLUSTER,
    CACHE_HIT_UNJUDGED,
    CACHE_HIT_WRAPPER,
)
from bench.timing import fig, interleaved, ratio
from rgpu_emulator.testing import own_parent

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bench.context import Bench

GOAL = 1.2  # cache hit / `python -c pass`
CLUSTER_GOAL = 1.15  # exec info with spec.cluster / kubectl's usual exec info
IMPORT_RUNS = 5


def cache_hit(bench: Bench) -> dict[str, Any]:
    bench.token()  # the one exchange that fills the cache
    before = bench.sb.exchanges()
    figures = interleaved(
        {
            BARE_PYTHON: (bench.python_pass, bench.token_env),
            CACHE_HIT: (bench.token_argv, bench.token_env),
            CACHE_HIT_CLUSTER: (bench.token_argv, bench.cluster_env),
            CACHE_HIT_UNJUDGED: (bench.token_argv, bench.unjudged_env),
            CACHE_HIT_WRAPPER: (bench.wrapper_argv, bench.token_env),
        },
        bench.runs,
        bench.warmup,
    )
    hit, base = figures[CACHE_HIT], figures[BARE_PYTHON]
    cluster, unjudged = figures[CACHE_HIT_CLUSTER], figures[CACHE_HIT_UNJUDGED]
    return {
        "exec_info_from_kubectl": bench.kubectl_exec_info,
        "cluster_exec_info_bytes": len(bench.cluster_exec_info),
        "figures": {name: fig(f) for name, f in figures.items()},
        "ratio": ratio(hit, base),
        # What the launcher (scripts/rgpu-exec) saves over a generated entry-point wrapper.
        "wrapper_ratio": ratio(figures[CACHE_HIT_WRAPPER], hit),
        "cluster_ratio": ratio(cluster, hit),
        "cluster_goal": f"cluster / usual <= {CLUSTER_GOAL}",
        "cluster_met": ratio(cluster, hit) <= CLUSTER_GOAL,
        # Remembering the client (one small read and one small write) against no client.
        "remember_ratio": ratio(hit, unjudged),
        "remember_ms": round(hit.median_ms - unjudged.median_ms, 2),
        "overhead_ms": round(hit.median_ms - base.median_ms, 2),
        "goal": f"ratio <= {GOAL}",
        "met": ratio(hit, base) <= GOAL,
        "exchanges_during": bench.sb.exchanges() - before,
        "imports": import_profile(bench),
    }


def _modules(argv: Sequence[str], env: dict[str, str]) -> dict[str, list[float]]:
    """Each module's own import time (ms) in IMPORT_RUNS runs of `python -X importtime argv`."""
    found: dict[str, list[float]] = {}
    for _ in range(IMPORT_RUNS):
        done = subprocess.run(  # a parent of its own, as each kubectl command is
            own_parent([sys.executable, "-X", "importtime", *argv]),
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            own, _, name = line.removeprefix("import time:").split("|")
            found.setdefault(name.strip(), []).append(int(own) / 1000)
    return found


def import_profile(bench: Bench) -> dict[str, Any]:
    """`python -X importtime` of the cache hit: the modules it loads beyond `python -c pass`
    (the median of IMPORT_RUNS runs of each module's own time, in ms), for each exec info."""
    baseline = set(_modules(["-c", "pass"], bench.token_env))
    profile: dict[str, Any] = {}
    for label, env in (
        ("kubectl's exec info", bench.token_env),
        ("exec info with spec.cluster", bench.cluster_env),
    ):
        own = {
            name: statistics.median(times)
            for name, times in _modules(bench.token_argv, env).items()
            if name not in baseline
        }
        top = sorted(own.items(), key=lambda item: -item[1])[:8]
        profile[label] = {
            "modules": len(own),
            "self_ms_total": round(sum(own.values()), 2),
            "top_self_ms": {name: round(ms, 2) for name, ms in top},
        }
    return profile
