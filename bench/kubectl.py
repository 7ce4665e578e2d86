"""2. `kubectl get pods` by credential source: (a) rgpu-exec's generated kubeconfig, cache warm;
(b) a static token; (c) the console's kubeconfig (curl on every call); (d)
gke-gcloud-auth-plugin with a valid cache file, when it is installed. On loopback, then (a) to
(c) against a Kubernetes front that takes KUBE_LATENCY_MS per request."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING, Any

from bench.sandbox import GKE_PLUGIN, V1BETA1, exec_info, tool
from bench.timing import fig, interleaved, ratio

if TYPE_CHECKING:
    from pathlib import Path

    from bench.context import Bench

KUBECTL_VARIANTS = {
    "rgpu-exec": "(a) rgpu-exec, cache hit",
    "static": "(b) static token",
    "console": "(c) console kubeconfig (curl every call)",
    "gke": "(d) gke-gcloud-auth-plugin, cached",
}
GOAL = 1.15  # (a) / (b)
KUBE_LATENCY_MS = 20.0  # per request of the Kubernetes front: a cluster across a network
VS_CONSOLE_GOAL = 0.8  # (a) / (c): "well under" the console's kubeconfig


def kubectl(bench: Bench) -> dict[str, Any]:
    sb = bench.sb
    token = sb.static_token()
    paths = {
        "rgpu-exec": bench.kubeconfig,
        "static": sb.static_kubeconfig(token),
        "console": sb.console_kubeconfig(),
    }
    skipped: dict[str, str] = {}
    plugin = tool(GKE_PLUGIN)
    if plugin is None:
        skipped["gke"] = f"{GKE_PLUGIN} is not installed on this machine"
    else:
        path = sb.gke_kubeconfig(plugin, token)
        problem = _gke_problem(bench, plugin, path, token)
        if problem:
            skipped["gke"] = problem
        else:
            paths["gke"] = path
    argv = [bench.kubectl_path, "get", "pods"]
    for name, path in paths.items():  # each must work before it is timed
        env = sb.env(KUBECONFIG=str(path))
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0 or "No resources found" not in done.stdout + done.stderr:
            raise RuntimeError(f"kubectl via {name} failed: {done.stderr[:500]}")
    before = sb.exchanges()
    figures = interleaved(
        {
            KUBECTL_VARIANTS[name]: (argv, sb.env(KUBECONFIG=str(path)))
            for name, path in paths.items()
        },
        bench.runs,
        bench.warmup,
    )
    by_key = {name: figures[KUBECTL_VARIANTS[name]] for name in paths}
    static = by_key["static"]
    ratios = {name: ratio(f, static) for name, f in by_key.items()}
    return {
        "command": "kubectl get pods",
        "figures": {KUBECTL_VARIANTS[n]: fig(f) for n, f in by_key.items()},
        "ratio_to_static": ratios,
        "rgpu_exec_vs_console": ratio(by_key["rgpu-exec"], by_key["console"]),
        "exchange_delay_s": sb.api.configure()["exchange_delay"],
        # Only (c) exchanges: one per kubectl run. (a) answers from its cache.
        "exchanges_during": sb.exchanges() - before,
        "exchanges_expected": bench.runs + bench.warmup,
        "skipped": skipped,
        "goal": f"(a)/(b) <= {GOAL} and (a)/(c) <= {VS_CONSOLE_GOAL}",
        "met": ratios["rgpu-exec"] <= GOAL
        and ratio(by_key["rgpu-exec"], by_key["console"]) <= VS_CONSOLE_GOAL,
    }


def kubectl_at_latency(bench: Bench, latency_ms: float) -> dict[str, Any]:
    """(a), (b) and (c) again, with the emulator's Kubernetes front taking `latency_ms` more to
    answer every request, as a cluster across a network does (the `kube_latency` setting, the
    same as `rgpu-emulator --kube-latency-ms`)."""
    sb = bench.sb
    paths = {
        "rgpu-exec": bench.kubeconfig,
        "static": sb.static_kubeconfig(sb.static_token()),
        "console": sb.console_kubeconfig(),
    }
    argv = [bench.kubectl_path, "get", "pods"]
    sb.api.configure(kube_latency=latency_ms / 1000)
    try:
        figures = interleaved(
            {
                KUBECTL_VARIANTS[name]: (argv, sb.env(KUBECONFIG=str(path)))
                for name, path in paths.items()
            },
            bench.runs,
            bench.warmup,
        )
    finally:
        sb.api.configure(kube_latency=0)
    by_key = {name: figures[KUBECTL_VARIANTS[name]] for name in paths}
    ratios = {name: ratio(f, by_key["static"]) for name, f in by_key.items()}
    return {
        "command": "kubectl get pods",
        "kube_latency_ms": latency_ms,
        "figures": {KUBECTL_VARIANTS[n]: fig(f) for n, f in by_key.items()},
        "ratio_to_static": ratios,
        "rgpu_exec_vs_console": ratio(by_key["rgpu-exec"], by_key["console"]),
        "goal": f"(a)/(b) <= {GOAL} and (a)/(c) <= {VS_CONSOLE_GOAL}",
        "met": ratios["rgpu-exec"] <= GOAL
        and ratio(by_key["rgpu-exec"], by_key["console"]) <= VS_CONSOLE_GOAL,
    }


def _gke_problem(bench: Bench, plugin: str, path: Path, token: str) -> str | None:
    env = bench.sb.env(KUBECONFIG=str(path), KUBERNETES_EXEC_INFO=exec_info(V1BETA1))
    done = subprocess.run([plugin], env=env, capture_output=True, text=True, check=False)
    try:
        served = json.loads(done.stdout)["status"]["token"]
    except (ValueError, KeyError, TypeError):
        served = None
    if done.returncode != 0 or served != token:
        return f"{GKE_PLUGIN} did not answer from its cache file: {done.stderr.strip()[:300]}"
    return None
