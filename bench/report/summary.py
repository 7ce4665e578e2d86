"""The run table (when, where, with what) and the summary table: one row per goal."""

from __future__ import annotations

from typing import Any

from bench.cache_hit import CLUSTER_GOAL, GOAL
from bench.cold import HERD_GOAL
from bench.context import BARE_PYTHON, CACHE_HIT, CACHE_HIT_CLUSTER
from bench.kubectl import GOAL as KUBECTL_GOAL
from bench.kubectl import VS_CONSOLE_GOAL
from bench.report.fmt import num, times, yes
from bench.report.healing import healing_summary

DASH = "\N{EN DASH}"
X = "\N{MULTIPLICATION SIGN}"


def run_table(r: dict[str, Any]) -> list[str]:
    m, v, method = r["machine"], r["versions"], r["method"]
    gke = v.get("gke-gcloud-auth-plugin") or "not installed"
    return [
        "| run | machine | versions | timed runs per command | load (1 min), start / end |",
        "|---|---|---|---|---|",
        (
            f"| {r['date'][:10]}, {r['total_seconds']:.0f} s | {m['cpu']}, {m['cores']} cores, "
            f"{m['os']} | {m['python']}, kubectl {v['kubectl']}, curl {v['curl']}, "
            f"gke-gcloud-auth-plugin {gke} | {method['runs']} after {method['warmup']} warm-up "
            f"rounds | {m['load_start']} / {m['load_end']} |"
        ),
    ]


def _row(measurement: str, result: str, goal: str, met: bool | None) -> str:
    return f"| {measurement} | {result} | {goal} | {DASH if met is None else yes(met)} |"


def _versus(ratio: float, a: dict[str, Any], b: dict[str, Any]) -> str:
    return f"{times(ratio)} ({num(a['median'])} vs {num(b['median'])} ms)"


def summary_table(r: dict[str, Any]) -> list[str]:
    hit, kube, cold, herd, scale, mem = (
        r["cache_hit"], r["kubectl"], r["cold"], r["herd"], r["scale"], r["memory"],
    )  # fmt: skip
    hit_f = hit["figures"]
    rows = [
        "| measurement | result | goal | met |",
        "|---|---|---|---|",
        _row(
            "1. cache hit vs `python -c pass`",
            _versus(hit["ratio"], hit_f[CACHE_HIT], hit_f[BARE_PYTHON]),
            f"≤ {GOAL}{X}",
            hit["met"],
        ),
        _row(
            "1. cache hit, exec info with spec.cluster / kubectl's usual exec info",
            _versus(hit["cluster_ratio"], hit_f[CACHE_HIT_CLUSTER], hit_f[CACHE_HIT]),
            f"≤ {CLUSTER_GOAL}{X}",
            hit["cluster_met"],
        ),
        _remember_row(r),
        _row(
            "1. cache hit through the `kubectl-rgpu` entry-point wrapper / the launcher",
            times(hit["wrapper_ratio"]),
            "(reference)",
            None,
        ),
    ]
    ratios = kube["ratio_to_static"]
    fronts = [(kube, "loopback")]
    if "kubectl_latency" in r:
        slow = r["kubectl_latency"]
        fronts.append((slow, f"a front with {slow['kube_latency_ms']:g} ms per request"))
    for run, front in fronts:
        a, b, c = (run["figures"][label] for label in list(run["figures"])[:3])
        rows.append(
            _row(
                f"2. `kubectl get pods`, rgpu-exec (a) / static token (b), {front}",
                _versus(run["ratio_to_static"]["rgpu-exec"], a, b),
                f"≤ {KUBECTL_GOAL}{X}",
                run["ratio_to_static"]["rgpu-exec"] <= KUBECTL_GOAL,
            )
        )
    for run, front in fronts:
        a, _, c = (run["figures"][label] for label in list(run["figures"])[:3])
        rows.append(
            _row(
                f"2. `kubectl get pods`, rgpu-exec (a) / console's curl kubeconfig (c), {front}",
                _versus(run["rgpu_exec_vs_console"], a, c),
                f"≤ {VS_CONSOLE_GOAL}{X}",
                run["rgpu_exec_vs_console"] <= VS_CONSOLE_GOAL,
            )
        )
    if "gke" in ratios:
        rows.append(
            _row(
                "2. gke-gcloud-auth-plugin (d) / static token (b)",
                times(ratios["gke"]),
                "(reference)",
                None,
            )
        )
    sizes = herd["sizes"]
    names = " / ".join(sizes)
    rows += [
        _row(
            "3. cold exchange, rgpu-exec / curl",
            f"{times(cold['ratio'])} (+{num(cold['overhead_ms'])} ms)",
            "(reference)",
            None,
        ),
        _row(
            f"4. herd of {names}: exchanges (most in a round)",
            " / ".join(str(max(s["exchanges_per_round"])) for s in sizes.values()),
            "exactly 1",
            all(s["one_exchange"] for s in sizes.values()),
        ),
        _row(
            f"4. herd of {names}: wall time / one cold invocation",
            " / ".join(times(s["wall_ratio"]) for s in sizes.values()),
            f"≤ {HERD_GOAL:g}{X}",
            all(s["wall_met"] for s in sizes.values()),
        ),
    ]
    entries = {k: f for k, f in scale["cache_entries"]["figures"].items() if k != BARE_PYTHON}
    counts = " / ".join(k.split(" ")[2] for k in entries)
    merge = scale["kubeconfig_merge"]
    largest = max(merge, key=int)
    mem_f = mem["figures"]
    rows += [
        _row(
            f"5. cache hit with {counts} entries",
            " / ".join(num(f["median"]) for f in entries.values()) + " ms",
            "flat",
            None,
        ),
        _row(
            f"5. `kubeconfig generate` into {int(largest):,} contexts (whole command)",
            f"{num(merge[largest]['figures']['cli']['median'])} ms",
            "< 1 s",
            scale["merge_met"],
        ),
        _row(
            "peak memory (max RSS): `python -c pass` / cache hit / cold",
            " / ".join(num(f["median"]) for f in mem_f.values()) + " MiB",
            DASH,
            None,
        ),
    ]
    return rows + healing_summary(r)


def _remember_row(r: dict[str, Any]) -> str:
    """Remembering the client: from its own longer comparison when the run has it."""
    remember = r.get("remember")
    if remember is None:
        hit = r["cache_hit"]
        result = f"{times(hit['remember_ratio'])} ({hit['remember_ms']:+.1f} ms)"
    else:
        runs = next(iter(remember["figures"].values()))["runs"]
        result = f"{times(remember['ratio'])} ({remember['extra_ms']:+.1f} ms; {runs} runs each)"
    return _row(
        "1. cache hit remembering its client (kubectl's exec info) / no exec info",
        result,
        "within noise",
        None,
    )
