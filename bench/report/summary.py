"""The summary table (one row per goal) and the notes where a goal is not met."""

from __future__ import annotations

from typing import Any

from bench.report.fmt import num as _num
from bench.report.fmt import times as _x
from bench.report.fmt import yes as _yes
from bench.report.healing import healing_headline, healing_notes

HIT = "rgpu-exec token (cache hit)"
CLUSTER = "rgpu-exec token (cache hit), exec info with spec.cluster"


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


def _bare(hit: dict[str, Any]) -> float:
    """The median of `python -c pass` measured beside the cache hit."""
    return float(hit["figures"]["python -c pass"]["median"])
