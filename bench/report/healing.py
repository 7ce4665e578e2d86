"""The report's part for `bench.healing`: its summary rows and its tables."""

from __future__ import annotations

from typing import Any

from bench.report.fmt import md_table as _table
from bench.report.fmt import num as _num
from bench.report.fmt import times as _x
from bench.report.fmt import yes as _yes

DASH = "\N{EN DASH}"


def healing_summary(r: dict[str, Any]) -> list[str]:
    """The summary rows of `bench.healing`, where this run has them."""
    rows = []
    heal = r.get("self_heal")
    if heal:
        extra = ", ".join(map(str, heal["extra_exchanges_per_round"]))
        rows.append(
            f"| 6. kubectl after a server-side invalidation: extra exchanges per round "
            f"| {extra} "
            f"| exactly 1; the next command succeeds | {_yes(heal['met'])} |"
        )
    storm = r.get("rejecting_cluster")
    if storm:
        rows.append(
            f"| 6. a cluster that rejects every token: {storm['commands']} kubectl commands in "
            f"{storm['seconds']:.0f} s, exchanges | {storm['exchanges']} "
            f"| ≤ 1 per {storm['force_window_s']:.0f} s | {_yes(storm['met'])} |"
        )
    client = r.get("python_client")
    if client:
        run = client["run"]
        rows.append(
            f"| 7. long-running Python client, {client['lifetimes']:g} lifetimes of "
            f"{client['token_ttl_s']:.0f} s at {client['rate_per_s']:g} requests/s: plugin runs / "
            f"exchanges | {run['plugin_runs']} / {run['exchanges']} | no run storm "
            f"| {_yes(client['met'])} |"
        )
    offline = r.get("offline")
    if offline:
        f = next(iter(offline["figures"].values()))
        rows.append(
            f"| 8. `rgpu-exec token` against a closed loopback port (cold cache, exit 5) "
            f"| {_num(f['median'])} ms | (reference) | {DASH} |"
        )
    soak = r.get("fault_soak")
    if soak:
        at_exchange = soak["failed"] - soak["failed_at_invalidation"]
        rows.append(
            f"| 9. {soak['loops']} `kubectl get pods` loops, {soak['token_ttl_s']:.0f} s tokens, "
            f"{soak['fault_kinds']} kinds of short fault: failed at the exchange's faults / at "
            f"the cluster's invalidation / over 10 s / commands | {at_exchange} / "
            f"{soak['failed_at_invalidation']} / {soak['over_10_s']} / {soak['commands']:,} "
            f"| none fails at the exchange's, none over 10 s | {_yes(soak['met'])} |"
        )
    return rows


def healing_tables(r: dict[str, Any]) -> list[str]:
    out: list[str] = []
    remember = r.get("remember")
    if remember:
        figures = remember["figures"]
        base = figures["rgpu-exec token (cache hit), no exec info: no client remembered"]["median"]
        out += ["", "### 1. What remembering the client costs a cache hit", ""]
        out += _table([(k, f, _x(f["median"] / base)) for k, f in figures.items()])
    heal = r.get("self_heal")
    if heal:
        hit = heal["figures"]["the one after (a cache hit)"]["median"]
        out += [
            "",
            "### 6. A token the cluster rejects: `kubectl get pods` after an invalidation",
            "",
        ]
        out += _table([(k, f, _x(f["median"] / hit)) for k, f in heal["figures"].items()])
        out += [
            "",
            "| round | exit codes of the three commands | extra exchanges |",
            "|---:|---|---:|",
        ]
        out += [
            f"| {n} | {' '.join(map(str, codes))} | {extra} |"
            for n, (codes, extra) in enumerate(
                zip(heal["exit_codes_per_round"], heal["extra_exchanges_per_round"], strict=True),
                start=1,
            )
        ]
    storm = r.get("rejecting_cluster")
    if storm:
        out += [
            "",
            "### 6. A cluster that rejects every token",
            "",
            "| kubectl commands | seconds | failed | exchanges | force window (s) |",
            "|---:|---:|---:|---:|---:|",
            (
                f"| {storm['commands']} | {storm['seconds']:.1f} | {storm['failed']} "
                f"| {storm['exchanges']} | {storm['force_window_s']:.0f} |"
            ),
        ]
    client = r.get("python_client")
    if client:
        c = client["run"]
        per = ", ".join(map(str, c["plugin_runs_by_lifetime"])) or DASH
        out += [
            "",
            (
                f"### 7. A long-running Python client (`kubernetes`), {client['lifetimes']:g} "
                f"token lifetimes of {client['token_ttl_s']:.0f} s, {client['rate_per_s']:g} "
                "requests a second (virtual time)"
            ),
            "",
            "| requests | failed | plugin runs | runs per lifetime | exchanges | real seconds |",
            "|---:|---:|---:|---|---:|---:|",
            (
                f"| {c['requests']:,} | {c['failed_requests']} | {c['plugin_runs']:,} | {per} "
                f"| {c['exchanges']} | {c['real_seconds']:.0f} |"
            ),
        ]
    offline = r.get("offline")
    if offline:
        out += ["", "### 8. Offline: the API's port closed", ""]
        out += _table([(k, f, DASH) for k, f in offline["figures"].items()])
    soak = r.get("fault_soak")
    if soak:
        out += [
            "",
            (
                f"### 9. kubectl while the exchange suffers short faults: {soak['loops']} loops, "
                f"{soak['token_ttl_s']:.0f} s tokens, {soak['seconds']:.0f} s, "
                f"{soak['exchanges']} exchanges"
            ),
            "",
            (
                "| fault in force when the command started | commands | failed | over 10 s "
                "| slowest (s) |"
            ),
            "|---|---:|---:|---:|---:|",
        ]
        out += [
            f"| {name} | {k['commands']:,} | {k['failed']} | {k['over_10_s']} "
            f"| {k['slowest_s']:.2f} |"
            for name, k in soak["by_fault"].items()
        ]
    return out
