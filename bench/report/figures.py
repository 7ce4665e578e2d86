"""Every figure of a run: one table per measurement."""

from __future__ import annotations

from typing import Any

from bench.cache_hit import IMPORT_RUNS
from bench.report.fmt import md_table as _table
from bench.report.fmt import num as _num
from bench.report.fmt import times as _x
from bench.report.healing import healing_tables


def tables(r: dict[str, Any]) -> str:
    out: list[str] = []
    hit = r["cache_hit"]
    base = hit["figures"]["python -c pass"]["median"]
    out += ["### 1. Cache hit: the generated kubeconfig's exec command", ""]
    out += _table([(k, f, _x(f["median"] / base)) for k, f in hit["figures"].items()])
    imports = hit.get("imports", {})
    if imports:
        out += [
            "",
            (
                "#### 1. What the cache hit imports beyond `python -c pass` "
                f"(`python -X importtime`, own time of each module, median of {IMPORT_RUNS} runs)"
            ),
            "",
            "| exec info | modules | their own time (ms) | costliest |",
            "|---|---:|---:|---|",
        ]
        for label, p in imports.items():
            top = ", ".join(f"`{name}` {ms:.2f}" for name, ms in list(p["top_self_ms"].items())[:5])
            out.append(f"| {label} | {p['modules']} | {p['self_ms_total']:.1f} | {top} |")
    kube = r["kubectl"]
    static = kube["figures"]["(b) static token"]["median"]
    out += [
        "",
        (
            f"### 2. `kubectl get pods` against the emulator's TLS front "
            f"(exchange delay {kube['exchange_delay_s'] * 1000:.0f} ms)"
        ),
        "",
    ]
    out += _table([(k, f, _x(f["median"] / static)) for k, f in kube["figures"].items()])
    out += [f"| (d) skipped: {reason} | | | | | |" for reason in kube["skipped"].values()]
    slow = r.get("kubectl_latency")
    if slow:
        static = slow["figures"]["(b) static token"]["median"]
        out += [
            "",
            (
                f"### 2. `kubectl get pods` against a front with {slow['kube_latency_ms']:g} ms "
                f"per request (exchange delay {kube['exchange_delay_s'] * 1000:.0f} ms)"
            ),
            "",
        ]
        out += _table([(k, f, _x(f["median"] / static)) for k, f in slow["figures"].items()])
    cold = r["cold"]
    curl = cold["figures"]["curl (same request)"]["median"]
    out += ["", "### 3. Cold path: one exchange", ""]
    out += _table([(k, f, _x(f["median"] / curl)) for k, f in cold["figures"].items()])
    out += ["", "### 4. Thundering herd: concurrent cold invocations", ""]
    out += [
        (
            "| concurrent | exchanges per round | wall median (ms) | min | max | rounds "
            "| / one cold | start-up floor (ms) |"
        ),
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n, s in r["herd"]["sizes"].items():
        figures = list(s["figures"].values())
        one, many, floor = figures
        out.append(
            f"| {n} | {', '.join(map(str, s['exchanges_per_round']))} | {_num(many['median'])} "
            f"| {_num(many['min'])} | {_num(many['max'])} | {many['runs']} "
            f"| {_x(s['wall_ratio'])} (one: {_num(one['median'])} ms) | {_num(floor['median'])} |"
        )
    scale = r["scale"]
    entries = scale["cache_entries"]["figures"]
    base = entries["python -c pass"]["median"]
    out += ["", "### 5. Scale: cache hit with many entries in the cache directory", ""]
    out += _table([(k, f, _x(f["median"] / base)) for k, f in entries.items()])
    out += ["", "### 5. Scale: `kubeconfig generate` merging into a large kubeconfig", ""]
    out += [
        (
            "| existing contexts | file size | add (in-process) | no-op | update "
            "| whole command (start-up included) | runs |"
        ),
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, m in scale["kubeconfig_merge"].items():
        f = m["figures"]

        def cell(name: str, f: dict[str, Any] = f) -> str:
            low, high = _num(f[name]["min"]), _num(f[name]["max"])
            return f"{_num(f[name]['median'])} ({low}\N{EN DASH}{high})"

        out.append(
            f"| {int(n):,} | {m['kubeconfig_bytes'] / 1e6:.2f} MB | {cell('add')} ms "
            f"| {cell('no-op')} ms | {cell('update')} ms | {cell('cli')} ms "
            f"| {f['cli']['runs']} |"
        )
    mem = r["memory"]
    base = mem["figures"]["python -c pass"]["median"]
    out += ["", "### Peak memory (max RSS of the process)", ""]
    out += _table([(k, f, _x(f["median"] / base)) for k, f in mem["figures"].items()], unit="MiB")
    out += healing_tables(r)
    return "\n".join(out) + "\n"
