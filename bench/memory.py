"""Peak memory: max RSS of one fresh child, from the OS accounting of a fresh parent that ran
only it."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING, Any

from bench.context import BARE_PYTHON, CACHE_HIT, COLD
from bench.timing import alternate, fig, ratio

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from bench.context import Bench

PROBE = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)
SCALE = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes vs KiB


def _peak(
    bench: Bench,
    argv: Sequence[str],
    before: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
) -> Callable[[], float]:
    def run() -> float:
        if before is not None:
            before()
        done = subprocess.run(
            [sys.executable, "-c", PROBE, *argv],
            env=env or bench.token_env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return int(done.stdout.strip()) / SCALE

    return run


def memory(bench: Bench, runs: int) -> dict[str, Any]:
    bench.token()  # fill the cache
    figures = alternate(
        {
            BARE_PYTHON: _peak(bench, bench.python_pass),
            CACHE_HIT: _peak(bench, bench.token_argv),
            COLD: _peak(bench, bench.token_argv, before=bench.sb.clear_rgpu_cache),
        },
        runs,
        1,
    )
    bench.token()  # leave a filled cache behind
    return {
        "figures": {name: fig(f) | {"unit": "MiB"} for name, f in figures.items()},
        "cache_hit_ratio": ratio(figures[CACHE_HIT], figures[BARE_PYTHON]),
    }
