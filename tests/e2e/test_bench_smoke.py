"""A smoke run of the benchmarks (`python -m bench --quick`): every step runs, and what it writes
holds what it measured. It writes under the test's directory, never into the repository."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.long]

REPO = Path(__file__).resolve().parents[2]
STEPS = {
    "cache_hit", "kubectl", "kubectl_latency", "cold", "herd", "scale", "memory", "remember",
    "self_heal", "rejecting_cluster", "python_client", "offline", "fault_soak", "startup",
}  # fmt: skip
BLOCK = re.compile(
    r"<!-- generated: (\w+)[^>]*-->\n(.*?)^<!-- end generated -->", re.DOTALL | re.MULTILINE
)


def _outside_blocks(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1), text)


def _ratios(results: dict[str, object]) -> list[float]:
    """Every ratio in the results: the values under keys named *ratio*, at any depth."""
    found: list[float] = []

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, key if "ratio" in key else name)  # ratio_to_static: {name: ratio}
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif "ratio" in key:
            found.append(value)  # type: ignore[arg-type]

    walk(results)
    return found


def test_a_quick_run_writes_every_row_and_the_tables_that_show_them(sandbox: Path):
    out = sandbox / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]

    results = json.loads((out / "bench" / "results.json").read_text())
    assert set(results) >= STEPS
    assert results["method"]["runs"] == 3
    ratios = _ratios(results)
    assert len(ratios) >= 15
    assert all(isinstance(r, float) and r > 0 for r in ratios), ratios
    hit = results["cache_hit"]
    assert hit["exchanges_during"] == 0  # a cache hit never exchanges
    loopback, slow = results["kubectl"], results["kubectl_latency"]
    assert slow["kube_latency_ms"] == 20
    for row in (loopback, slow):
        assert set(row["figures"]) >= {
            "(a) rgpu-exec, cache hit", "(b) static token", "(c) console kubeconfig (curl every call)"
        }  # fmt: skip
    # The front's 20 ms per request is in every kubectl command (a lower bound, never an upper).
    assert slow["figures"]["(b) static token"]["min"] >= 20
    assert all(s["one_exchange"] for s in results["herd"]["sizes"].values())
    assert results["self_heal"]["met"]
    soak = results["fault_soak"]
    assert soak["commands"] > 0
    assert set(soak["by_fault"]) >= {"503 burst", "garbage answers"}
    assert "newline" not in json.dumps(results)  # the stale rows are gone

    for name in ("docs/benchmarks.md", "README.md"):
        written = (out / name).read_text()
        original = (REPO / name).read_text()
        assert _outside_blocks(written) == _outside_blocks(original)  # prose untouched
        blocks = dict(BLOCK.findall(written))
        assert {"run", "summary"} <= set(blocks)
        summary = blocks["summary"]
        for ratio in (
            loopback["ratio_to_static"]["rgpu-exec"],
            slow["ratio_to_static"]["rgpu-exec"],
        ):
            assert f"{ratio:.2f}\N{MULTIPLICATION SIGN}" in summary
        assert "a front with 20 ms per request" in summary
        assert results["date"][:10] in blocks["run"]
    figures = dict(BLOCK.findall((out / "docs/benchmarks.md").read_text()))["figures"]
    for label, f in hit["figures"].items():
        assert f"| {label} | " in figures
        assert f"{f['median'] / hit['figures']['python -c pass']['median']:.2f}" in figures
    assert not (out / "docs" / "bench-kubectl.png").exists()  # no chart in a quick run
