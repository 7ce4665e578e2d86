"""Side-by-side timing of commands: alternate them (A B A B ...), then medians and ratios.

On a noisy, shared machine only a comparison made in one interleaved run is fair.
"""

from __future__ import annotations

import compileall
import importlib.util
import os
import statistics
import subprocess
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence


@dataclass(frozen=True)
class Figure:
    name: str
    median_ms: float
    min_ms: float
    max_ms: float
    runs: int

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "name": self.name,
            "median_ms": round(self.median_ms, 2),
            "min_ms": round(self.min_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "runs": self.runs,
        }


def time_once(argv: Sequence[str], env: Mapping[str, str], expect: int = 0) -> float:
    """Milliseconds for one run of `argv`, which must exit with `expect`.

    The command is started by a fresh process of its own (a fork of this one), so that each run
    has a new parent, as each kubectl command is a new parent of the plugin: rgpu-exec takes the
    same parent asking twice for a fresh token as the cluster rejecting it (see
    rgpu_exec.hotpath.second_ask), which no row here means to measure. The fork happens before
    the clock starts.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the fresh parent: time the command, report, leave without any clean-up
        os.close(read)
        report = b"1 0.0\n"
        try:
            started = time.perf_counter()
            result = subprocess.run(
                argv, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                check=False,
            )  # fmt: skip
            elapsed = (time.perf_counter() - started) * 1000
            report = f"{result.returncode} {elapsed!r}\n".encode() + result.stderr[:300]
        finally:
            os.write(write, report)
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        report = pipe.read()
    os.waitpid(pid, 0)
    header, _, stderr = report.partition(b"\n")
    code, measured = header.split()
    if int(code) != expect:
        raise RuntimeError(f"{argv[0]} failed ({int(code)}): {stderr.decode(errors='replace')}")
    return float(measured)


def figure(name: str, samples: Sequence[float]) -> Figure:
    return Figure(name, statistics.median(samples), min(samples), max(samples), len(samples))


def fig(f: Figure) -> dict[str, Any]:
    """A figure as the results JSON keeps it."""
    return {
        "median": round(f.median_ms, 2),
        "min": round(f.min_ms, 2),
        "max": round(f.max_ms, 2),
        "runs": f.runs,
        "unit": "ms",
    }


def ratio(a: Figure, b: Figure) -> float:
    """The ratio of two medians."""
    return round(a.median_ms / b.median_ms, 3)


def alternate(
    cases: Mapping[str, Callable[[], float]], runs: int = 30, warmup: int = 3
) -> dict[str, Figure]:
    """Call each case `runs` times, alternating (A B A B ...), after `warmup` rounds.

    A case does its own untimed set-up and returns the milliseconds it measured.
    """
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for round_ in range(warmup + runs):
        for name, case in cases.items():
            elapsed = case()
            if round_ >= warmup:
                samples[name].append(elapsed)
    return {name: figure(name, s) for name, s in samples.items()}


def interleaved(
    commands: Mapping[str, tuple[Sequence[str], Mapping[str, str]]],
    runs: int = 30,
    warmup: int = 3,
) -> dict[str, Figure]:
    """Time each command `runs` times, alternating between them, after `warmup` rounds."""
    cases = {name: _timer(argv, env) for name, (argv, env) in commands.items()}
    return alternate(cases, runs, warmup)


def _timer(argv: Sequence[str], env: Mapping[str, str]) -> Callable[[], float]:
    return lambda: time_once(argv, env)


def compile_package() -> None:
    """Write the package's bytecode once, as `pip install` does for a regular install."""
    spec = importlib.util.find_spec("rgpu_exec")
    if spec is None or spec.submodule_search_locations is None:
        raise RuntimeError("rgpu_exec is not installed: run `make install` first")
    for location in spec.submodule_search_locations:
        compileall.compile_dir(location, quiet=1)
