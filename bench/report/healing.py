"""The report's part for `bench/healing.py`: headline rows, tables and notes (see report.py)."""

from __future__ import annotations

from typing import Any

from bench.report.fmt import md_table as _table
from bench.report.fmt import num as _num
from bench.report.fmt import times as _x
from bench.report.fmt import yes as _yes


def healing_headline(r: dict[str, Any]) -> list[str]:
    """The rows of `bench/healing.py`, where this run has them."""
    rows = []
    heal = r.get("self_heal")
    if heal:
        extra = ", ".join(map(str, heal["extra_exchanges_per_round"]))
        rows.append(
            f"| 6. kubectl after a server-side invalidation: extra exchanges per round "
            f"| {extra} (the command that meets it fails; the next succeeds) "
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
        now, before = client["runs"]["now"], client["runs"]["before (no second-ask rule)"]
        rows.append(
            f"| 7. long-running Python client, {client['lifetimes']:g} lifetimes of "
            f"{client['token_ttl_s']:.0f} s at {client['rate_per_s']:g} requests/s: plugin runs / "
            f"exchanges | {now['plugin_runs']} / {now['exchanges']} (before the rule: "
            f"{before['plugin_runs']} / {before['exchanges']}) | no run storm "
            f"| {_yes(client['met'])} |"
        )
    offline = r.get("offline")
    if offline:
        f = next(iter(offline["figures"].values()))
        rows.append(
            f"| 8. `rgpu-exec token` against a closed loopback port (cold cache, exit 5) "
            f"| {_num(f['median'])} ms | (reference) | \N{EN DASH} |"
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
        codes = "; ".join(" ".join(map(str, c)) for c in heal["exit_codes_per_round"])
        out += [
            "",
            (
                f"Exit codes per round: {codes}. Extra exchanges per round: "
                f"{', '.join(map(str, heal['extra_exchanges_per_round']))}."
            ),
        ]
    storm = r.get("rejecting_cluster")
    if storm:
        out += [
            "",
            (
                f"A cluster that rejects every token: {storm['commands']} commands in "
                f"{storm['seconds']:.1f} s, {storm['failed']} failed, {storm['exchanges']} "
                f"exchange(s) (at most one forced exchange per entry per "
                f"{storm['force_window_s']:.0f} s)."
            ),
        ]
    client = r.get("python_client")
    if client:
        out += [
            "",
            (
                f"### 7. A long-running Python client (`kubernetes`), {client['lifetimes']:g} token "
                f"lifetimes of {client['token_ttl_s']:.0f} s, {client['rate_per_s']:g} requests a "
                "second (virtual time)"
            ),
            "",
            (
                "| rgpu-exec | requests | failed | plugin runs | runs per lifetime | exchanges "
                "| real seconds |"
            ),
            "|---|---:|---:|---:|---|---:|---:|",
        ]
        for label, c in client["runs"].items():
            per = ", ".join(map(str, c["plugin_runs_by_lifetime"])) or "\N{EN DASH}"
            out.append(
                f"| {label} | {c['requests']:,} | {c['failed_requests']} | {c['plugin_runs']:,} "
                f"| {per} | {c['exchanges']} | {c['real_seconds']:.0f} |"
            )
    offline = r.get("offline")
    if offline:
        out += ["", "### 8. Offline: the API's port closed", ""]
        out += _table([(k, f, "\N{EN DASH}") for k, f in offline["figures"].items()])
    return out


def healing_notes(r: dict[str, Any]) -> list[str]:
    """Plain words where a goal of these rows is not met."""
    out: list[str] = []
    heal = r.get("self_heal")
    if heal and not heal["met"]:
        out.append(
            "- **Self-heal (goal: exactly one extra exchange, the next command succeeds): not "
            f"met** (exchanges per round {heal['extra_exchanges_per_round']}, exit codes "
            f"{heal['exit_codes_per_round']})."
        )
    storm = r.get("rejecting_cluster")
    if storm and not storm["met"]:
        out.append(
            f"- **A cluster that rejects every token: {storm['exchanges']} exchanges in "
            f"{storm['seconds']:.0f} s**, more than one per {storm['force_window_s']:.0f} s."
        )
    client = r.get("python_client")
    if client and not client["met"]:
        now = client["runs"]["now"]
        out.append(
            f"- **Long-running Python client: {now['plugin_runs']} plugin runs for "
            f"{now['exchanges']} exchanges, {now['failed_requests']} failed requests** "
            "(goal: no run storm, no failure)."
        )
    return out
