"""Turn a run's results into bench/results.json, bench/results.md (the tables),
docs/benchmarks.md (method, tables, notes) and docs/bench-kubectl.png (the chart)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bench.report.chart import CHART, chart
from bench.report.figures import tables
from bench.report.summary import headline, notes

if TYPE_CHECKING:
    from pathlib import Path


METHOD = """\
`make bench` (or `python -m bench`) measures rgpu-exec side by side with what users would
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
