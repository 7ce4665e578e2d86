"""The five measurements of issue 6, plus peak memory. Each returns a JSON-ready dict.

Every comparison alternates its commands (A B A B ...) in one run and keeps the samples after
the warm-up rounds; figures are median, min and max in milliseconds (MiB for memory).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from common import Figure, alternate, figure, interleaved, time_once
from sandbox import GKE_PLUGIN, V1, V1BETA1, Sandbox, exec_info, tool

from rgpu_emulator.testing import own_parent
from rgpu_exec.hotpath import token_cache

BENCH_DIR = Path(__file__).resolve().parent
BARE_PYTHON = "python -c pass"
CACHE_HIT = "rgpu-exec token (cache hit)"
CACHE_HIT_DOCUMENTED = "rgpu-exec token (cache hit), exec info without the newline"
CACHE_HIT_CLUSTER = "rgpu-exec token (cache hit), exec info with spec.cluster"
CACHE_HIT_UNJUDGED = "rgpu-exec token (cache hit), no exec info: no client remembered"
KUBECTL_VARIANTS = {
    "rgpu-exec": "(a) rgpu-exec, cache hit",
    "static": "(b) static token",
    "console": "(c) console kubeconfig (curl every call)",
    "gke": "(d) gke-gcloud-auth-plugin, cached",
}


def fig(f: Figure) -> dict[str, Any]:
    return {
        "median": round(f.median_ms, 2),
        "min": round(f.min_ms, 2),
        "max": round(f.max_ms, 2),
        "runs": f.runs,
        "unit": "ms",
    }


def ratio(a: Figure, b: Figure) -> float:
    return round(a.median_ms / b.median_ms, 3)


class Bench:
    def __init__(self, sandbox: Sandbox, runs: int, warmup: int) -> None:
        self.sb = sandbox
        self.runs = runs
        self.warmup = warmup
        kubectl = tool("kubectl")
        assert kubectl is not None, "kubectl not found"
        self.kubectl_path = kubectl
        self.kubeconfig = sandbox.generated_kubeconfig()
        stanza = sandbox.exec_stanza(self.kubeconfig)
        # The exec command exactly as the generated kubeconfig has kubectl run it, with the exec
        # info exactly as kubectl sends it (recorded from kubectl itself, not written by hand).
        self.token_argv = [str(stanza["command"]), *map(str, stanza.get("args") or [])]
        stanza_env = {e["name"]: e["value"] for e in stanza.get("env") or []}
        self.kubectl_exec_info = sandbox.exec_info_from_kubectl(kubectl, self.kubeconfig)
        self.token_env = sandbox.env(KUBERNETES_EXEC_INFO=self.kubectl_exec_info, **stanza_env)
        # The same, with the exec info as documented (PROTOCOL.md): no trailing newline.
        self.documented_env = self.token_env | {
            "KUBERNETES_EXEC_INFO": exec_info(str(stanza["apiVersion"]))
        }
        # With provideClusterInfo: true, as kubectl sends it (spec.cluster, the CA data and all).
        self.cluster_exec_info = sandbox.exec_info_from_kubectl(
            kubectl, self.kubeconfig, provide_cluster_info=True
        )
        self.cluster_env = self.token_env | {"KUBERNETES_EXEC_INFO": self.cluster_exec_info}
        # No exec info at all (a manual run): rgpu-exec has no client to judge or remember.
        self.unjudged_env = {k: v for k, v in self.token_env.items() if k != "KUBERNETES_EXEC_INFO"}
        self.python_pass = [sys.executable, "-c", "pass"]

    def token(self, env: dict[str, str] | None = None) -> str:
        """One plugin run, with a parent of its own (as each kubectl command is)."""
        out = subprocess.run(
            own_parent(self.token_argv), env=env or self.token_env, capture_output=True,
            text=True, check=True,
        )  # fmt: skip
        return str(json.loads(out.stdout)["status"]["token"])

    # -- 1 ---------------------------------------------------------------------------------------

    def cache_hit(self) -> dict[str, Any]:
        self.token()  # the one exchange that fills the cache
        before = self.sb.exchanges()
        figures = interleaved(
            {
                BARE_PYTHON: (self.python_pass, self.token_env),
                CACHE_HIT: (self.token_argv, self.token_env),
                CACHE_HIT_DOCUMENTED: (self.token_argv, self.documented_env),
                CACHE_HIT_CLUSTER: (self.token_argv, self.cluster_env),
                CACHE_HIT_UNJUDGED: (self.token_argv, self.unjudged_env),
            },
            self.runs,
            self.warmup,
        )
        hit, base = figures[CACHE_HIT], figures[BARE_PYTHON]
        cluster, unjudged = figures[CACHE_HIT_CLUSTER], figures[CACHE_HIT_UNJUDGED]
        return {
            "exec_info_from_kubectl": self.kubectl_exec_info,
            "cluster_exec_info_bytes": len(self.cluster_exec_info),
            "figures": {name: fig(f) for name, f in figures.items()},
            "ratio": ratio(hit, base),
            "ratio_documented_exec_info": ratio(figures[CACHE_HIT_DOCUMENTED], base),
            # spec.cluster against kubectl's usual exec info: goal <= 1.15
            "cluster_ratio": ratio(cluster, hit),
            "cluster_goal": "cluster / usual <= 1.15",
            "cluster_met": ratio(cluster, hit) <= 1.15,
            # Remembering the client (one small read and one small write) against no client.
            "remember_ratio": ratio(hit, unjudged),
            "remember_ms": round(hit.median_ms - unjudged.median_ms, 2),
            "overhead_ms": round(hit.median_ms - base.median_ms, 2),
            "goal": "ratio <= 1.2",
            "met": ratio(hit, base) <= 1.2,
            "exchanges_during": self.sb.exchanges() - before,
            "imports": self.import_profile(),
        }

    def import_profile(self) -> dict[str, Any]:
        """`python -X importtime` of the cache hit: the modules it loads beyond `python -c pass`
        (the median of 5 runs of each module's own time, in ms), for both exec infos."""

        def modules(argv: Sequence[str], env: dict[str, str]) -> dict[str, list[float]]:
            found: dict[str, list[float]] = {}
            for _ in range(5):
                done = subprocess.run(  # a parent of its own, as each kubectl command is
                    own_parent([sys.executable, "-X", "importtime", *argv]),
                    env=env, capture_output=True, text=True, check=True,
                )  # fmt: skip
                for line in done.stderr.splitlines():
                    if not line.startswith("import time:") or "self [us]" in line:
                        continue
                    own, _, name = line.removeprefix("import time:").split("|")
                    found.setdefault(name.strip(), []).append(int(own) / 1000)
            return found

        baseline = set(modules(["-c", "pass"], self.token_env))
        profile: dict[str, Any] = {}
        for label, env in (
            ("kubectl's exec info", self.token_env),
            ("exec info without the newline", self.documented_env),
            ("exec info with spec.cluster", self.cluster_env),
        ):
            own = {
                name: statistics.median(times)
                for name, times in modules(self.token_argv, env).items()
                if name not in baseline
            }
            top = sorted(own.items(), key=lambda item: -item[1])[:8]
            profile[label] = {
                "modules": len(own),
                "self_ms_total": round(sum(own.values()), 2),
                "top_self_ms": {name: round(ms, 2) for name, ms in top},
            }
        return profile

    # -- 2 ---------------------------------------------------------------------------------------

    def kubectl(self) -> dict[str, Any]:
        kubectl = self.kubectl_path
        sb = self.sb
        token = sb.static_token()
        paths = {
            "rgpu-exec": self.kubeconfig,
            "static": sb.static_kubeconfig(token),
            "console": sb.console_kubeconfig(),
        }
        skipped: dict[str, str] = {}
        plugin = tool(GKE_PLUGIN)
        if plugin is None:
            skipped["gke"] = f"{GKE_PLUGIN} is not installed on this machine"
        else:
            path = sb.gke_kubeconfig(plugin, token)
            problem = self._gke_problem(plugin, path, token)
            if problem:
                skipped["gke"] = problem
            else:
                paths["gke"] = path
        argv = [kubectl, "get", "pods"]
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
            self.runs,
            self.warmup,
        )
        by_key = {name: figures[KUBECTL_VARIANTS[name]] for name in paths}
        static = by_key["static"]
        ratios = {name: ratio(f, static) for name, f in by_key.items()}
        result: dict[str, Any] = {
            "command": "kubectl get pods",
            "figures": {KUBECTL_VARIANTS[n]: fig(f) for n, f in by_key.items()},
            "ratio_to_static": ratios,
            "rgpu_exec_vs_console": ratio(by_key["rgpu-exec"], by_key["console"]),
            "exchange_delay_s": sb.api.configure()["exchange_delay"],
            # Only (c) exchanges: one per kubectl run. (a) answers from its cache.
            "exchanges_during": sb.exchanges() - before,
            "exchanges_expected": self.runs + self.warmup,
            "skipped": skipped,
            "goal": "(a)/(b) <= 1.15 and (a) well under (c)",
            "met": ratios["rgpu-exec"] <= 1.15 and ratios["rgpu-exec"] < ratios["console"],
        }
        return result

    def _gke_problem(self, plugin: str, path: Path, token: str) -> str | None:
        env = self.sb.env(KUBECONFIG=str(path), KUBERNETES_EXEC_INFO=exec_info(V1BETA1))
        done = subprocess.run([plugin], env=env, capture_output=True, text=True, check=False)
        try:
            served = json.loads(done.stdout)["status"]["token"]
        except (ValueError, KeyError, TypeError):
            served = None
        if done.returncode != 0 or served != token:
            return f"{GKE_PLUGIN} did not answer from its cache file: {done.stderr.strip()[:300]}"
        return None

    # -- 3 ---------------------------------------------------------------------------------------

    def cold(self) -> dict[str, Any]:
        sb = self.sb
        curl = tool("curl")
        assert curl is not None, "curl not found"
        curl_argv = [curl, "-fsS", "-X", "POST", "-H", f"x-api-key: {sb.api_key}"]
        curl_argv.append(sb.exchange_url())

        def rgpu_cold() -> float:
            sb.clear_rgpu_cache()
            return time_once(self.token_argv, self.token_env)

        before = sb.exchanges()
        figures = alternate(
            {
                "rgpu-exec token (cold: exchange)": rgpu_cold,
                "curl (same request)": lambda: time_once(curl_argv, self.token_env),
            },
            self.runs,
            self.warmup,
        )
        rgpu, curl_f = figures.values()
        return {
            "figures": {name: fig(f) for name, f in figures.items()},
            "ratio": ratio(rgpu, curl_f),
            "overhead_ms": round(rgpu.median_ms - curl_f.median_ms, 2),
            "exchanges_during": sb.exchanges() - before,
            "exchanges_expected": 2 * (self.runs + self.warmup),
            "exchange_delay_s": sb.api.configure()["exchange_delay"],
        }

    # -- 4 ---------------------------------------------------------------------------------------

    def _concurrent(
        self, argv: Sequence[str], env: dict[str, str], n: int
    ) -> tuple[float, list[bytes]]:
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

    def herd(self, sizes: dict[int, int]) -> dict[str, Any]:
        """`sizes`: concurrency -> rounds. Each round: one cold invocation, N concurrent cold
        invocations, and N concurrent `python -c pass` (the machine's start-up floor)."""
        sb = self.sb
        results: dict[str, Any] = {}
        for n, rounds in sizes.items():
            exchanges: list[int] = []
            tokens: list[int] = []

            def single() -> float:
                sb.clear_rgpu_cache()
                return time_once(self.token_argv, self.token_env)

            def crowd(
                n: int = n, exchanges: list[int] = exchanges, tokens: list[int] = tokens
            ) -> float:
                sb.clear_rgpu_cache()
                sb.reset_stats()
                elapsed, outputs = self._concurrent(self.token_argv, self.token_env, n)
                exchanges.append(sb.exchanges())
                tokens.append(len({json.loads(o)["status"]["token"] for o in outputs}))
                return elapsed

            def floor(n: int = n) -> float:
                return self._concurrent(self.python_pass, self.token_env, n)[0]

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
                "wall_met": ratio(many, one) <= 2.0,
            }
        return {
            "sizes": results,
            "goal": "exactly one exchange; wall time <= 2x one cold invocation",
        }

    # -- 5 ---------------------------------------------------------------------------------------

    def fill_cache(self, directory: Path, entries: int) -> None:
        """The real entry plus `entries - 1` others (other namespaces), flat in one directory."""
        api_url = self.token_argv[self.token_argv.index("--api-url") + 1]
        identity = token_cache.key_identity(self.sb.api_key)
        now = time.time()
        token_cache.write_entry(
            str(directory),
            token_cache.Entry(
                token_cache.CacheKey(api_url, self.sb.namespace_id, identity), now, now + 3000, "t0"
            ),
        )
        for i in range(entries - 1):
            other = f"00000000-0000-4000-8000-{i:012d}"
            entry = token_cache.Entry(
                token_cache.CacheKey(api_url, other, identity), now, now + 3000, f"t{i + 1}"
            )
            stem = token_cache.entry_stem(api_url, other, identity)
            fd = os.open(
                directory / (stem + token_cache.ENTRY_SUFFIX), os.O_WRONLY | os.O_CREAT, 0o600
            )
            with os.fdopen(fd, "w") as handle:
                handle.write(entry.render())

    def scale(self, entry_counts: Sequence[int], contexts: dict[int, int]) -> dict[str, Any]:
        sb = self.sb
        commands: dict[str, tuple[list[str], dict[str, str]]] = {
            BARE_PYTHON: (self.python_pass, self.token_env)
        }
        for count in entry_counts:
            directory = sb.root / f"cache-{count}"
            self.fill_cache(directory, count)
            private = {"RGPU_EXEC_CACHE_DIR": str(directory)}
            for label, env in (
                ("kubectl's exec info", self.token_env | private),
                ("exec info without the newline", self.documented_env | private),
            ):
                assert self.token(env) == "t0"
                commands[f"cache hit, {count:,} entries, {label}"] = (self.token_argv, env)
        figures = interleaved(commands, self.runs, self.warmup)
        base = figures[BARE_PYTHON]
        cache = {
            "figures": {name: fig(f) for name, f in figures.items()},
            "ratio_to_python": {
                name: ratio(f, base) for name, f in figures.items() if name != BARE_PYTHON
            },
        }
        merge: dict[str, Any] = {}
        for count, repeat in contexts.items():
            done = subprocess.run(
                [sys.executable, str(BENCH_DIR / "kubeconfig_merge.py"), "--contexts", str(count),
                 "--repeat", str(repeat), "--warmup", "1", "--json"],
                env=sb.env(), cwd=sb.tmp, capture_output=True, text=True, check=True,
            )  # fmt: skip
            document = json.loads(done.stdout)
            merge[str(count)] = {
                "kubeconfig_bytes": document["bytes"],
                "figures": {
                    name: fig(figure(name, [s * 1000 for s in samples]))
                    for name, samples in document["samples"].items()
                },
            }
        worst = max(merge[str(max(contexts))]["figures"].values(), key=lambda f: f["median"])
        return {
            "cache_entries": cache,
            "kubeconfig_merge": merge,
            "merge_goal": "< 1 s at 1,000 contexts (whole command, start-up included)",
            "merge_met": worst["median"] < 1000,
        }

    # -- peak memory -----------------------------------------------------------------------------

    def memory(self, runs: int) -> dict[str, Any]:
        """Max RSS of one fresh child, from the OS accounting of a fresh parent that ran only it."""
        sb = self.sb
        probe = (
            "import resource, subprocess, sys\n"
            "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        )
        scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes vs KiB

        def peak(
            argv: Sequence[str],
            before: Callable[[], None] | None = None,
            env: dict[str, str] | None = None,
        ) -> Callable[[], float]:
            def run() -> float:
                if before is not None:
                    before()
                done = subprocess.run(
                    [sys.executable, "-c", probe, *argv],
                    env=env or self.token_env, capture_output=True, text=True, check=True,
                )  # fmt: skip
                return int(done.stdout.strip()) / scale

            return run

        self.token()  # fill the cache
        figures = alternate(
            {
                BARE_PYTHON: peak(self.python_pass),
                CACHE_HIT: peak(self.token_argv),
                CACHE_HIT_DOCUMENTED: peak(self.token_argv, env=self.documented_env),
                "rgpu-exec token (cold: exchange)": peak(
                    self.token_argv, before=sb.clear_rgpu_cache
                ),
            },
            runs,
            1,
        )
        self.token()  # leave a filled cache behind
        out = {name: fig(f) | {"unit": "MiB"} for name, f in figures.items()}
        return {
            "figures": out,
            "cache_hit_ratio": ratio(figures[CACHE_HIT], figures[BARE_PYTHON]),
            "cache_hit_documented_ratio": ratio(
                figures[CACHE_HIT_DOCUMENTED], figures[BARE_PYTHON]
            ),
        }


def _first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else ""


def versions(kubectl: str | None) -> dict[str, str | None]:
    """kubectl's client version, curl's, and gke-gcloud-auth-plugin's (None when absent)."""
    kubectl_version = None
    if kubectl:
        raw = _first_line([kubectl, "version", "--client", "-o", "json"])
        done = subprocess.run(
            [kubectl, "version", "--client", "-o", "json"],
            capture_output=True, text=True, check=False, timeout=30,
        )  # fmt: skip
        try:
            kubectl_version = json.loads(done.stdout)["clientVersion"]["gitVersion"]
        except (ValueError, KeyError):
            kubectl_version = raw or None
    curl, gke = tool("curl"), tool(GKE_PLUGIN)
    curl_words = _first_line([curl, "--version"]).split() if curl else []
    gke_words = _first_line([gke, "--version"]).split() if gke else []
    return {
        "kubectl": kubectl_version,
        "curl": curl_words[1] if len(curl_words) > 1 else None,
        # It prints "Kubernetes v1.30.0+<commit>": keep the version.
        GKE_PLUGIN: gke_words[-1].split("+")[0] if gke_words else None,
        "exec_api_version": V1,
    }
