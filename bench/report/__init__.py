"""Write a run's results: bench/results.json (every figure), the generated tables inside
docs/benchmarks.md and README.md (between their `<!-- generated: … -->` markers; the text around
them is written by hand and never touched), and the chart docs/bench-kubectl.png."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bench.report.blocks import replace_block
from bench.report.chart import CHART, chart
from bench.report.figures import tables
from bench.report.summary import run_table, summary_table
from bench.startup import table as startup_table

if TYPE_CHECKING:
    from pathlib import Path

BENCHMARKS = "docs/benchmarks.md"
README = "README.md"
RESULTS = "bench/results.json"


def blocks(r: dict[str, Any]) -> dict[str, str]:
    """The generated blocks by name: `run`, `summary`, `figures` and `startup`."""
    return {
        "run": "\n".join(run_table(r)),
        "summary": "\n".join(summary_table(r)),
        "figures": tables(r),
        "startup": startup_table(r),
    }


def write_startup(r: dict[str, Any], root: Path, out: Path) -> list[Path]:
    """After `python -m bench --only startup`: its part of the results, and its table."""
    results = out / RESULTS
    previous = json.loads((root / RESULTS).read_text(encoding="utf-8"))
    results.parent.mkdir(parents=True, exist_ok=True)
    previous["startup"] = r["startup"]
    results.write_text(json.dumps(previous, indent=2, ensure_ascii=False) + "\n", "utf-8")
    text = (root / BENCHMARKS).read_text(encoding="utf-8")
    target = out / BENCHMARKS
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(fill(text, {"startup": startup_table(r)}, ("startup",), BENCHMARKS), "utf-8")
    return [results, target]


def fill(text: str, generated: dict[str, str], names: tuple[str, ...], where: str) -> str:
    for name in names:
        text = replace_block(text, name, generated[name], where)
    return text


def write_outputs(r: dict[str, Any], root: Path, out: Path, *, draw: bool = True) -> list[Path]:
    """Read the documents from `root`, write them, filled, under `out` (the same as `root` for a
    real run), with the results and (when `draw`) the chart. The paths written."""
    generated = blocks(r)
    written = []
    results = out / RESULTS
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(r, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(results)
    for name, names in (
        (BENCHMARKS, ("run", "summary", "figures", "startup")),
        (README, ("run", "summary")),
    ):
        text = (root / name).read_text(encoding="utf-8")
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(fill(text, generated, names, name), encoding="utf-8")
        written.append(target)
    if draw:
        image = out / "docs" / CHART
        chart(r, image)
        written.append(image)
    return written
