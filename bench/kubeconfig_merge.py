"""How long `rgpu-exec kubeconfig generate` takes on a kubeconfig with 1,000 contexts.

    python -m bench.kubeconfig_merge [--contexts 1000] [--repeat 5] [--warmup 1] [--json]

Builds a kubectl-style kubeconfig (each cluster with ~1.6 KB of CA data, each user an exec
stanza, some comments), then times, in a temporary directory:
  add      a new namespace merged in (lock, backup, temp file + rename included)
  no-op    the same command again (nothing changes, nothing is written)
  update   an existing entry changed (new server URL)
  cli      `add` through the installed launcher, process start-up included
Prints the median of each (or, with --json, every sample in seconds). `python -m bench` runs it
in a child process with a temporary HOME.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec.cli import main

if TYPE_CHECKING:
    from collections.abc import Callable

NAMESPACE_ID = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"
CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t" * 45


def kubeconfig(contexts: int) -> str:
    lines = ["# generated for the benchmark", "apiVersion: v1", "clusters:"]
    for i in range(contexts):
        lines += [
            "- cluster:",
            f"    certificate-authority-data: {CA}",
            f"    server: https://cluster-{i}.example:6443  # cluster {i}",
            f"  name: cluster-{i}",
        ]
    lines.append("contexts:")
    for i in range(contexts):
        lines += [
            "- context:",
            f"    cluster: cluster-{i}",
            f"    namespace: ns-{i}",
            f"    user: user-{i}",
            f"  name: context-{i}",
        ]
    lines += ["current-context: context-0", "kind: Config", "preferences: {}", "users:"]
    for i in range(contexts):
        lines += [
            f"- name: user-{i}",
            "  user:",
            "    exec:",
            "      apiVersion: client.authentication.k8s.io/v1",
            "      args: [token, --namespace-id, " + NAMESPACE_ID + "]",
            "      command: rgpu-exec",
            "      interactiveMode: IfAvailable",
        ]
    return "\n".join(lines) + "\n"


def argv(path: Path, namespace: str, server: str = "https://k8s.example:6443") -> list[str]:
    return [
        "kubeconfig", "generate", "--kubeconfig", str(path), "--namespace", namespace,
        "--namespace-id", NAMESPACE_ID, "--server", server, "--exec-command", "rgpu-exec",
        "--no-verify",
    ]  # fmt: skip


def timed(action: Callable[[], int]) -> float:
    start = time.perf_counter()
    with open(os.devnull, "w", encoding="utf-8") as sink:  # noqa: PTH123 - a plain sink
        stdout, sys.stdout = sys.stdout, sink
        try:
            code = action()
        finally:
            sys.stdout = stdout
    elapsed = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"kubeconfig generate exited {code}")
    return elapsed


def run(contexts: int, repeat: int, warmup: int = 0) -> dict[str, list[float]]:
    """`repeat` samples of each operation, after `warmup` rounds that are not kept."""
    base = kubeconfig(contexts)
    results: dict[str, list[float]] = {"add": [], "no-op": [], "update": [], "cli": []}
    launcher = Path(sys.executable).parent / "rgpu-exec"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config"
        for round_ in range(warmup + repeat):
            path.write_text(base)
            add = timed(lambda: main(argv(path, "team-ml")))
            no_op = timed(lambda: main(argv(path, "team-ml")))
            update = timed(lambda: main(argv(path, "team-ml", "https://moved.example")))
            path.write_text(base)
            start = time.perf_counter()
            subprocess.run([launcher, *argv(path, "team-ml")], check=True, capture_output=True)
            cli_ = time.perf_counter() - start
            if round_ >= warmup:
                for name, value in (("add", add), ("no-op", no_op), ("update", update)):
                    results[name].append(value)
                results["cli"].append(cli_)
    return results


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contexts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print every sample (s) as JSON")
    args = parser.parse_args()
    size = len(kubeconfig(args.contexts).encode())
    if args.json:
        samples = run(args.contexts, args.repeat, args.warmup)
        print(json.dumps({"contexts": args.contexts, "bytes": size, "samples": samples}))
        return
    print(f"kubeconfig: {args.contexts} contexts, clusters and users; {size / 1e6:.1f} MB")
    for name, values in run(args.contexts, args.repeat, args.warmup).items():
        print(f"  {name:7s} median {statistics.median(values) * 1000:7.0f} ms  (n={len(values)})")


if __name__ == "__main__":
    cli()
