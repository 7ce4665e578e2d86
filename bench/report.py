"""Turn bench/run.py's results into bench/results.json, bench/results.md (the tables),
docs/benchmarks.md (method, tables, notes) and docs/bench-kubectl.png (the chart)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from fmt import md_table as _table
from fmt import num as _num
from fmt import times as _x
from fmt import yes as _yes
from healing_report import healing_headline, healing_notes, healing_tables

CHART = "bench-kubectl.png"


def headline(r: dict[str, Any]) -> list[str]:
    hit, kube, cold, herd, scale, mem = (
        r["cache_hit"], r["kubectl"], r["cold"], r["herd"], r["scale"], r["memory"],
    )  # fmt: skip
    hit_f = hit["figures"]
    kube_r = kube["ratio_to_static"]
    rows = [
        "| measurement | result | goal | met |",
        "|---|---|---|---|",
        (
            f"| 1. cache hit vs `python -c pass` | {_x(hit['ratio'])} "
            f"({_num(hit_f['rgpu-exec token (cache hit)']['median'])} vs "
            f"{_num(hit_f['python -c pass']['median'])} ms); exec info without kubectl's "
            f"trailing newline: {_x(hit['ratio_documented_exec_info'])} "
            f"| ≤ 1.2\N{MULTIPLICATION SIGN} | {_yes(hit['met'])} |"
        ),
        (
            f"| 1. cache hit, exec info with spec.cluster / kubectl's usual exec info "
            f"| {_x(hit['cluster_ratio'])} "
            f"({_num(hit_f[CLUSTER]['median'])} vs {_num(hit_f[HIT]['median'])} ms) "
            f"| ≤ 1.15\N{MULTIPLICATION SIGN} | {_yes(hit['cluster_met'])} |"
        ),
        _remember_row(r),
        (
            f"| 2. `kubectl get pods`, rgpu-exec (a) / static token (b) | {_x(kube_r['rgpu-exec'])} "
            f"| ≤ 1.15\N{MULTIPLICATION SIGN} | {_yes(kube_r['rgpu-exec'] <= 1.15)} |"
        ),
        (
            f"| 2. rgpu-exec (a) / console curl kubeconfig (c) | {_x(kube['rgpu_exec_vs_console'])} "
            f"| well under 1\N{MULTIPLICATION SIGN} (read: ≤ 0.8\N{MULTIPLICATION SIGN}) | {_yes(kube['rgpu_exec_vs_console'] <= 0.8)} |"
        ),
    ]
    if "gke" in kube_r:
        rows.append(
            f"| 2. gke-gcloud-auth-plugin (d) / static token (b) | {_x(kube_r['gke'])} "
            "| (reference) | \N{EN DASH} |"
        )
    rows.append(
        f"| 3. cold exchange, rgpu-exec / curl | {_x(cold['ratio'])} "
        f"(+{_num(cold['overhead_ms'])} ms) | (reference) | \N{EN DASH} |"
    )
    sizes = herd["sizes"]
    exchanges = ", ".join(f"{max(s['exchanges_per_round'])}" for s in sizes.values())
    walls = ", ".join(_x(s["wall_ratio"]) for s in sizes.values())
    names = "/".join(sizes)
    rows += [
        (
            f"| 4. herd of {names}: exchanges (max per round) | {exchanges} | exactly 1 "
            f"| {_yes(all(s['one_exchange'] for s in sizes.values()))} |"
        ),
        (
            f"| 4. herd of {names}: wall time / one cold invocation | {walls} | ≤ 2\N{MULTIPLICATION SIGN} "
            f"| {_yes(all(s['wall_met'] for s in sizes.values()))} |"
        ),
    ]
    entries = scale["cache_entries"]["figures"]
    for label, short in (
        ("kubectl's exec info", "as kubectl sends it"),
        ("exec info without the newline", "exec info without the newline"),
    ):
        cells = [f for name, f in entries.items() if name.endswith(label)]
        if cells:
            rows.append(
                f"| 5. cache hit with 10 / 1,000 / 10,000 entries ({short}) | "
                + " / ".join(_num(f["median"]) for f in cells)
                + " ms | flat | \N{EN DASH} |"
            )
    merge = scale["kubeconfig_merge"]
    largest = max(merge, key=int)
    cli = merge[largest]["figures"]["cli"]["median"]
    mem_f = mem["figures"]
    rows += [
        (
            f"| 5. `kubeconfig generate` into {int(largest):,} contexts (whole command) "
            f"| {_num(cli)} ms | < 1 s | {_yes(scale['merge_met'])} |"
        ),
        (
            f"| peak memory (max RSS): `python -c pass` / cache hit / same without the newline "
            f"| {_num(mem_f['python -c pass']['median'])} / "
            f"{_num(mem_f['rgpu-exec token (cache hit)']['median'])} / "
            f"{_num(mem_f['rgpu-exec token (cache hit), exec info without the newline']['median'])}"
            " MiB | \N{EN DASH} | \N{EN DASH} |"
        ),
    ]
    return rows + healing_headline(r)


def _remember_row(r: dict[str, Any]) -> str:
    """Remembering the client: from its own longer comparison when the run has it."""
    remember = r.get("remember")
    if remember is None:
        hit = r["cache_hit"]
        result = f"{_x(hit['remember_ratio'])} ({hit['remember_ms']:+.1f} ms)"
    else:
        runs = next(iter(remember["figures"].values()))["runs"]
        result = (
            f"{_x(remember['ratio'])} ({remember['extra_ms']:+.1f} ms; medians of {runs} "
            f"alternating runs)"
        )
    return (
        f"| 1. cache hit remembering its client (kubectl's exec info) / no exec info "
        f"| {result} | within noise | \N{EN DASH} |"
    )


HIT = "rgpu-exec token (cache hit)"
CLUSTER = "rgpu-exec token (cache hit), exec info with spec.cluster"


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
                "What the cache hit imports beyond `python -c pass` (`python -X importtime`, "
                "median of 5 runs; own time of each module):"
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
            return f"{_num(f[name]['median'])} ({_num(f[name]['min'])}\N{EN DASH}{_num(f[name]['max'])})"

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


def notes(r: dict[str, Any]) -> list[str]:
    """Plain words where a goal is not met, and why: derived from the figures of this run."""
    out: list[str] = []
    hit = r["cache_hit"]
    info = hit["exec_info_from_kubectl"]
    if not hit["met"]:
        documented = hit["ratio_documented_exec_info"]
        if info.endswith("\n") and documented < hit["ratio"] / 2:
            hit_f = hit["figures"]
            extra = (
                hit_f["rgpu-exec token (cache hit), exec info without the newline"]["median"]
                - hit_f["python -c pass"]["median"]
            )
            verdict = (
                "meets the goal"
                if documented <= 1.2
                else "is just over it (see what the cache hit imports, below)"
            )
            out.append(
                f"- **Cache hit (goal ≤ 1.2\N{MULTIPLICATION SIGN}): not met, "
                f"{_x(hit['ratio'])}.** kubectl {r['versions']['kubectl']} sends "
                "`KUBERNETES_EXEC_INFO` with a trailing newline (recorded from kubectl itself in "
                "this run). The fast path recognises kubectl's exec info byte for byte, without "
                "that newline, so under kubectl every call falls through to the full command (it "
                "imports httpx, pydantic and filelock) although the token is cached. With the "
                f"same exec info minus the newline the hit costs {_x(documented)} "
                f"`python -c pass` (+{extra:.1f} ms): the fast path {verdict}. Accepting the "
                "trailing newline in `exec_credential.recognise_exec_info` is the fix."
            )
        else:
            imports = hit.get("imports", {}).get("kubectl's exec info")
            where = (
                f": the hit path's {imports['modules']} modules take "
                f"{imports['self_ms_total']:.1f} ms of their own to import (see below), the "
                "rest is reading the cache and answering"
                if imports
                else ""
            )
            out.append(
                f"- **Cache hit (goal ≤ 1.2\N{MULTIPLICATION SIGN}): not met, "
                f"{_x(hit['ratio'])}** ({_num(hit['overhead_ms'])} ms over `python -c pass`"
                f"{where})."
            )
    kube = r["kubectl"]
    a_b = kube["ratio_to_static"]["rgpu-exec"]
    if a_b > 1.15:
        falls_through = info.endswith("\n") and hit["ratio_documented_exec_info"] < hit["ratio"] / 2
        cause = (
            "the same cause as above: inside kubectl the cache hit takes the full command"
            if falls_through
            else (
                "the floor is a Python interpreter's start-up: `python -c pass` alone is "
                f"{_num(_bare(hit))} ms, "
                f"{_bare(hit) / kube['figures']['(b) static token']['median']:.0%} of a "
                "static-token command, and the cache hit adds only "
                f"{_num(hit['overhead_ms'])} ms to it; only a compiled plugin such as (d) can "
                "get under 1.15\N{MULTIPLICATION SIGN}"
            )
        )
        out.append(
            f"- **kubectl with rgpu-exec vs a static token (goal ≤ 1.15\N{MULTIPLICATION SIGN}): not met, "
            f"{_x(a_b)}**; {cause}. Against the console's curl kubeconfig rgpu-exec is "
            f"{_x(kube['rgpu_exec_vs_console'])}"
            + (" — slower, not faster." if kube["rgpu_exec_vs_console"] >= 1 else ".")
        )
    if kube["skipped"]:
        out += [f"- (d) was skipped: {reason}." for reason in kube["skipped"].values()]
    sizes = r["herd"]["sizes"]
    if not all(s["one_exchange"] for s in sizes.values()):
        out.append("- **Herd: more than one exchange in some round** (see the table).")
    slow = {n: s for n, s in sizes.items() if not s["wall_met"]}
    if slow:
        parts = ", ".join(
            f"{n}: {_x(s['wall_ratio'])} (start-up floor alone {_x(s['floor_ratio'])})"
            for n, s in slow.items()
        )
        cores = r["machine"]["cores"]
        out.append(
            f"- **Herd wall time (goal ≤ 2\N{MULTIPLICATION SIGN} one cold invocation): not met** — {parts}. The "
            f"single flight works (one exchange per round), and the processes that wait for it "
            "take the entry's lock with the standard library only, then answer from the cache "
            "without loading httpx or pydantic. What remains is CPU-bound on "
            f"{cores} cores: N interpreter start-ups (the floor column: what N bare "
            "`python -c pass` cost on this machine) plus the one cold exchange. Where the floor "
            "is already near or over 2\N{MULTIPLICATION SIGN}, no Python plugin can meet the goal here."
        )
    if not r["scale"]["merge_met"]:
        out.append("- **kubeconfig merge at 1,000 contexts (goal < 1 s): not met.**")
    if "cluster_met" in hit and not hit["cluster_met"]:
        out.append(
            f"- **Cache hit with spec.cluster (goal ≤ 1.15\N{MULTIPLICATION SIGN} the hit with "
            f"kubectl's usual exec info): not met, {_x(hit['cluster_ratio'])}** "
            f"({hit['cluster_exec_info_bytes']:,} bytes of exec info, read by the hit path's "
            "scanner)."
        )
    return out + healing_notes(r)


def chart(r: dict[str, Any], path: Path) -> None:
    # matplotlib keeps a font cache under ~/.cache unless told otherwise: keep it out of HOME.
    with tempfile.TemporaryDirectory(prefix="rgpu-exec-bench-mpl-") as config_dir:
        os.environ["MPLCONFIGDIR"] = config_dir
        _draw(r, path)


def _draw(r: dict[str, Any], path: Path) -> None:
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    kube = r["kubectl"]
    items = list(kube["figures"].items())[::-1]
    static = kube["figures"]["(b) static token"]["median"]
    labels = [name for name, _ in items]
    medians = [f["median"] for _, f in items]
    low = [f["median"] - f["min"] for _, f in items]
    high = [f["max"] - f["median"] for _, f in items]
    colours = {
        "(a)": "#1f77b4",
        "(b)": "#7f7f7f",
        "(c)": "#d62728",
        "(d)": "#2ca02c",
    }
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=120)
    bars = ax.barh(
        labels,
        medians,
        xerr=[low, high],
        color=[colours.get(name[:3], "#999999") for name in labels],
        capsize=4,
        error_kw={"elinewidth": 1, "ecolor": "#333333"},
    )
    for bar, (_, f) in zip(bars, items, strict=True):
        ax.text(
            f["max"] + max(medians) * 0.02,
            bar.get_y() + bar.get_height() / 2,
            f"{f['median']:.0f} ms  ({f['median'] / static:.2f}\N{MULTIPLICATION SIGN} static)",
            va="center",
            fontsize=9,
        )
    ax.axvline(static, color="#7f7f7f", linestyle="--", linewidth=0.8)
    ax.set_xlim(0, max(f["max"] for _, f in items) * 1.45)
    ax.set_xlabel("milliseconds per `kubectl get pods` (median; whiskers: min\N{EN DASH}max)")
    m = r["machine"]
    runs = next(iter(kube["figures"].values()))["runs"]
    ax.set_title(
        f"kubectl get pods by credential source ({runs} alternating runs each,\n"
        f"exchange delay {kube['exchange_delay_s'] * 1000:.0f} ms) — "
        f"{r['date'][:10]}, {m['cpu']} ({m['cores']} cores), kubectl {r['versions']['kubectl']}",
        fontsize=10,
    )
    ax.spines[["top", "right"]].set_visible(False)
    if kube["skipped"]:
        ax.text(0, -0.9, "(d) gke-gcloud-auth-plugin: skipped", fontsize=8, color="#666666")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


METHOD = """\
`make bench` (or `python bench/run.py`) measures rgpu-exec side by side with what users would
otherwise run. It takes a few minutes and is not part of the test suite.

## Method

- **Alternation.** Every comparison runs its commands in turn (A B A B …) in one run, discards
  the warm-up rounds, and reports the median, min and max of the rest, and ratios of medians.
  A noisy machine slows all of them alike.
- **A private sandbox.** Every child process gets a minimal environment: a temporary `HOME`,
  kubectl cache (`KUBECACHEDIR`) and rgpu-exec cache; no `KUBECONFIG` but the one under test;
  bytecode caching on, as on a user's machine. Nothing reads or writes the user's files.
- **A parent per run.** Each timed command is started by a fresh process of its own (a fork of
  the benchmark, made before the clock starts), as each kubectl command is a new parent of the
  plugin: rgpu-exec takes the same parent asking twice for a fresh token as the cluster
  rejecting it (`hotpath/second_ask.py`), which only rows 6 and 7 mean to measure.
- **The emulator** (`rgpu-emulator --api-tls`) serves the RemoteGPU API and a Kubernetes API
  front, both TLS on loopback. It adds a fixed 50 ms to every exchange to stand for the
  internet. Its `/_emulator/stats` counts the exchanges.
- **1. Cache hit.** The exec command exactly as a kubeconfig written by
  `rgpu-exec kubeconfig generate` runs it (the installed launcher's absolute path and its
  arguments), with `KUBERNETES_EXEC_INFO` exactly as kubectl sends it — recorded from kubectl
  itself by a probe plugin, not written by hand — against `python -c pass` with the same
  interpreter. A third row sends the exec info as documented, without kubectl's trailing newline.
  A fourth sends what kubectl sends with `provideClusterInfo: true` (recorded the same way:
  `spec.cluster` with the server and the CA data), read by the hit path's small JSON scanner.
  A fifth sends no exec info: rgpu-exec then has no client to remember, so the hit skips the
  one more file opened (a small read, a small appended write of `<stem>.served`); against it,
  the usual hit shows what remembering the client costs. That difference is a fraction of the
  noise, so the two are also compared alone, over 100 alternating runs.
- **2. Per kubectl command.** `kubectl get pods` with (a) the generated kubeconfig, cache warm;
  (b) a static `token:` obtained from the emulator's exchange; (c) the console's kubeconfig
  (`sh -c "curl … exec-credential"` on every call), as the emulator serves it; (d)
  `gke-gcloud-auth-plugin` (Go) with a valid cache file (`gke_gcloud_auth_plugin_cache` beside
  the kubeconfig, keyed by current-context), when it is installed. kubectl's discovery cache is
  warm and shared by all four.
- **3. Cold path.** `rgpu-exec token` with its cache emptied before each run (one exchange)
  against the same request made with curl.
- **4. Thundering herd.** N concurrent cold `rgpu-exec token` (cache emptied, counters reset),
  against one cold invocation and against N concurrent `python -c pass` (what starting N
  interpreters costs on this machine). Rounds are few at 32 and 128 (each takes seconds); the
  exchange count is exact for every round.
- **5. Scale.** The cache hit with 10, 1,000 and 10,000 entries in one flat cache directory;
  `rgpu-exec kubeconfig generate` merging one namespace into kubeconfigs of 10, 100 and 1,000
  contexts (`bench/kubeconfig_merge.py`: add, no-op and update in-process, and the whole
  command with start-up).
- **Peak memory.** Max RSS of the measured process alone: a fresh parent runs it once and reads
  `resource.getrusage(RUSAGE_CHILDREN)`.
- **6. A token the cluster rejects.** Each round, with a cache of its own: `kubectl get pods`
  fills it, the emulator invalidates the token at its Kubernetes front
  (`/_emulator/tokens/invalidate`, no clock moved), then three `kubectl get pods` follow; their
  exit codes, times and the exchanges they cause. Then a cluster that rejects every token:
  kubectl commands in a row, each after every token was invalidated, within one window.
- **7. A long-running Python client.** The official `kubernetes` client listing pods for two
  token lifetimes of 400 s, 2 requests a second (`python -m rgpu_emulator.long_client`): its
  plugin runs and the exchanges. Virtual time: one clock, ahead of real time by an offset the
  driver moves on by half a second per request, read by the client's expiry rule, by every
  plugin run and by the emulator (the client's 5-minute margin is a constant, so two lifetimes
  would otherwise take 13 minutes). "Before" runs the same with the exec info withheld from
  rgpu-exec, which then cannot judge a second ask: the behaviour before that rule.
- **8. Offline.** `rgpu-exec token` on an empty cache against a loopback port nobody listens on,
  until it exits 5 (the API cannot be reached).

Raw figures: `bench/results.json`. Tables: `bench/results.md`.
"""


def document(r: dict[str, Any], table: str) -> str:
    m, v = r["machine"], r["versions"]
    gke = v.get("gke-gcloud-auth-plugin") or "not installed"
    lines = [
        "# Benchmarks",
        "",
        METHOD,
        "## Latest results",
        "",
        (
            f"{r['date'][:10]} on {m['cpu']}, {m['cores']} cores, {m['os']}; {m['python']}, "
            f"kubectl {v['kubectl']}, curl {v['curl']}, gke-gcloud-auth-plugin: {gke}. "
            f"{r['method']['runs']} timed runs per command after {r['method']['warmup']} warm-up "
            f"rounds; the whole run took {r['total_seconds']:.0f} s. Load average (1 min) at "
            f"start and end: {m['load_start']} and {m['load_end']} (other work on the machine "
            "slows every alternative alike, but stretches min/max and the herd)."
        ),
        "",
        f"![kubectl get pods by credential source]({CHART})",
        "",
        *headline(r),
        "",
        "## Where a goal is not met, and why",
        "",
        *(notes(r) or ["Every goal is met."]),
        "",
        "## All figures",
        "",
        table,
    ]
    return "\n".join(lines)


def write_outputs(r: dict[str, Any], root: Path) -> str:
    bench, docs = root / "bench", root / "docs"
    (bench / "results.json").write_text(json.dumps(r, indent=2, ensure_ascii=False) + "\n")
    table = tables(r)
    (bench / "results.md").write_text(
        f"# rgpu-exec benchmark, {r['date']}\n\n" + "\n".join(headline(r)) + "\n\n" + table
    )
    (docs / "benchmarks.md").write_text(document(r, table))
    chart(r, docs / CHART)
    return "\n".join(headline(r)) + "\n\n" + table


def _bare(hit: dict[str, Any]) -> float:
    """The median of `python -c pass` measured beside the cache hit."""
    return float(hit["figures"]["python -c pass"]["median"])
