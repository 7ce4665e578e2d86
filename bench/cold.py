"""3. The cold path: one exchange, against the same request made with curl. 4. The thundering
herd: N concurrent cold invocations, one exchange between them."""

from __future__ import annotations

import json
import subprocess
import time
from typing import TYPE_CHECKING, Any

from bench.context import COLD
from bench.contract import API_KEY_HEADER
from bench.sandbox import tool
from bench.timing import alternate, fig, ratio, time_once

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bench.context import Bench

HERD_GOAL = 2.0  # wall time of N concurrent cold invocations / one


def cold(bench: Bench) -> dict[str, Any]:
    sb = bench.sb
    curl = tool("curl")
    if curl is None:
        raise RuntimeError("curl not found")
    curl_argv = [curl, "-fsS", "-X", "POST", "-H", f"{API_KEY_HEADER}: {sb.api_key}"]
    curl_argv.append(sb.exchange_url())

    def rgpu_cold() -> float:
        sb.clear_rgpu_cache()
        return time_once(bench.token_argv, bench.token_env)

    before = sb.exchanges()
    figures = alternate(
        {
            COLD: rgpu_cold,
            "curl (same request)": lambda: time_once(curl_argv, bench.token_env),
        },
        bench.runs,
        bench.warmup,
    )
    rgpu, curl_f = figures.values()
    return {
        "figures": {name: fig(f) for name, f in figures.items()},
        "ratio": ratio(rgpu, curl_f),
        "overhead_ms": round(rgpu.median_ms - curl_f.median_ms, 2),
        "exchanges_during": sb.exchanges() - before,
        "exchanges_expected": 2 * (bench.runs + bench.warmup),
        "exchange_delay_s": sb.api.configure()["exchange_delay"],
    }


def _concurrent(argv: Sequence[str], env: dict[str, str], n: int) -> tuple[float, list[bytes]]:
    started = time.perf_counter()
    children = [
        subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(n)
    ]
    outputs = [child.communicate() for child in children]
    elapsed = (time.perf_counter() - started) * 1000
    failed = [c.returncode for c in children if c.returncode != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} of {n} failed: {outputs[0][1][:300]!r}")
    return elapsed, [out for out, _ in outputs]


def herd(bench: Bench, sizes: dict[int, int]) -> dict[str, Any]:
    """`sizes`: concurrency -> rounds. Each round: one cold invocation, N concurrent cold
    invocations, and N concurrent `python -c pass` (the machine's start-up floor)."""
    sb = bench.sb
    results: dict[str, Any] = {}
    for n, rounds in sizes.items():
        exchanges: list[int] = []
        tokens: list[int] = []

        def single() -> float:
            sb.clear_rgpu_cache()
            return time_once(bench.token_argv, bench.token_env)

        def crowd(
            n: int = n, exchanges: list[int] = exchanges, tokens: list[int] = tokens
        ) -> float:
            sb.clear_rgpu_cache()
            sb.reset_stats()
            elapsed, outputs = _concurrent(bench.token_argv, bench.token_env, n)
            exchanges.append(sb.exchanges())
            tokens.append(len({json.loads(o)["status"]["token"] for o in outputs}))
            return elapsed

        def floor(n: int = n) -> float:
            return _concurrent(bench.python_pass, bench.token_env, n)[0]

        figures = alternate(
            {"one cold invocation": single, f"{n} concurrent": crowd, "floor": floor},
            runs=rounds,
            warmup=0,
        )
        one, many, floor_f = figures.values()
        results[str(n)] = {
            "figures": {
                "one cold invocation": fig(one),
                f"{n} concurrent cold invocations": fig(many),
                f"{n} concurrent `python -c pass` (start-up floor)": fig(floor_f),
            },
            "exchanges_per_round": exchanges,
            "distinct_tokens_per_round": tokens,
            "wall_ratio": ratio(many, one),
            "floor_ratio": ratio(floor_f, one),
            "one_exchange": all(e == 1 for e in exchanges),
            "wall_met": ratio(many, one) <= HERD_GOAL,
        }
    return {
        "sizes": results,
        "goal": f"exactly one exchange; wall time <= {HERD_GOAL:g}x one cold invocation",
    }
