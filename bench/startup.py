"""9. Start-up beyond the cache hit: TAB completion, `--help`, `kubeconfig list` and a cold
`token`, each against `python -c pass`, the cold one also against curl's same request; measured
side by side in one run, on a non-editable install (`pip install .` into a fresh venv, no dev
extras), as users install it. Plus the cold `token` through the TLS API with the emulator's
50 ms delay, as users see it.

The plain cold row asks a second emulator, plain http on loopback with no delay: what is left is
the plugin's own cost. Goals (issue "Fast everywhere"): TAB <= 3x, `--help` <= 4x,
`kubeconfig list` <= 5x `python -c pass`; a cold `token` <= 6x `python -c pass` more than curl.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.contract import API_KEY_HEADER, exchange_url
from bench.sandbox import EXCHANGE_DELAY, NAMESPACE, TOKEN_TTL, tool
from bench.timing import alternate, fig, time_once
from rgpu_emulator.testing import EmulatorClient, EmulatorProcess

if TYPE_CHECKING:
    from bench.context import Bench

ROOT = Path(__file__).resolve().parent.parent
PASS = "python -c pass"  # noqa: S105 - a row's name
TAB = 'TAB completion (`kubectl_complete-rgpu kubeconfig ""`)'
HELP = "`rgpu-exec --help`"
LIST = "`rgpu-exec kubeconfig list`"
COLD = "`rgpu-exec token`, cold (loopback http API, no delay)"
CURL = "curl, the same request"
COLD_TLS = "`rgpu-exec token`, cold (TLS API, 50 ms per exchange)"
CURL_TLS = "curl, the same request (TLS)"
# Each row's goal, in `python -c pass` (the cold row's: over curl's same request).
GOALS = {TAB: 3.0, HELP: 4.0, LIST: 5.0, COLD: 6.0}


def clean_install(where: Path) -> Path:
    """A fresh venv under `where` with this repository installed as users install it (not
    editable, no extras); its bin directory."""
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, str(ROOT)], check=True, capture_output=True)
    return venv / "bin"


def _plain_api(bench: Bench) -> tuple[EmulatorProcess, str, str]:
    """A second emulator, plain http on loopback, no delay: its process, exchange URL, key."""
    sb = bench.sb
    process = EmulatorProcess(
        sb.root / "emulator-http", "--token-ttl", str(TOKEN_TTL), env=sb.env()
    )
    client = EmulatorClient(process.start())
    namespace = client.create_namespace(NAMESPACE)
    key = client.create_key("bench", {"kubernetes_exec": {"namespace_ids": [namespace["id"]]}})
    client.configure(exchange_delay=0.0)
    return process, exchange_url(client.ready.api_url, namespace["id"]), key["key"]


def startup(bench: Bench, installed: Path | None = None) -> dict[str, Any]:
    """`installed`: the bin directory of a non-editable install; made here when None."""
    curl = tool("curl")
    if curl is None:
        raise RuntimeError("curl not found")
    with tempfile.TemporaryDirectory(prefix="rgpu-bench-install-") as scratch:
        bin_dir = installed or clean_install(Path(scratch))
        process, url, key = _plain_api(bench)
        try:
            result = _measure(bench, bin_dir, curl, url, key)
        finally:
            process.stop()
    result["install"] = "a fresh non-editable install" if installed is None else str(installed)
    return result


def _cold(bench: Bench, argv: list[str], env: dict[str, str]) -> float:
    bench.sb.clear_rgpu_cache()
    return time_once(argv, env)


def _measure(bench: Bench, bin_dir: Path, curl: str, url: str, key: str) -> dict[str, Any]:
    sb = bench.sb
    api_url = url.split("/v1/", maxsplit=1)[0]
    plain_namespace = url.split("/namespaces/")[1].split("/", maxsplit=1)[0]
    env = sb.env(REMOTEGPU_API_KEY=key, KUBECONFIG=str(bench.kubeconfig))
    rgpu = str(bin_dir / "rgpu-exec")
    token = [rgpu, "token", "--namespace-id", plain_namespace, "--api-url", api_url]
    curl_argv = [curl, "-fsS", "-X", "POST", "-H", f"{API_KEY_HEADER}: {key}", url]
    python = [str(bin_dir / "python"), "-c", "pass"]
    figures = alternate(
        {
            PASS: lambda: time_once(python, env),
            TAB: lambda: time_once([str(bin_dir / "kubectl_complete-rgpu"), "kubeconfig", ""], env),
            HELP: lambda: time_once([rgpu, "--help"], env),
            LIST: lambda: time_once([rgpu, "kubeconfig", "list"], env),
            COLD: lambda: _cold(bench, token, env),
            CURL: lambda: time_once(curl_argv, env),
        },
        bench.runs,
        bench.warmup,
    )
    tls_env = bench.token_env
    tls_token = [rgpu, *bench.token_argv[1:]]
    tls_curl = [curl, "-fsS", "-X", "POST", "-H", f"{API_KEY_HEADER}: {sb.api_key}"]
    tls_curl.append(sb.exchange_url())
    tls = alternate(
        {
            COLD_TLS: lambda: _cold(bench, tls_token, tls_env),
            CURL_TLS: lambda: time_once(tls_curl, tls_env),
        },
        bench.runs,
        bench.warmup,
    )
    floor = figures[PASS].median_ms
    curl_ms = figures[CURL].median_ms
    ratios = {name: round(figures[name].median_ms / floor, 2) for name in (TAB, HELP, LIST)}
    ratios[COLD] = round((figures[COLD].median_ms - curl_ms) / floor, 2)
    return {
        "figures": {name: fig(f) for name, f in (figures | tls).items()},
        "ratios": ratios,  # in `python -c pass`; the cold one over curl's same request
        "goals": dict(GOALS),
        "met": {name: ratios[name] <= goal for name, goal in GOALS.items()},
        "tls_overhead_ms": round(tls[COLD_TLS].median_ms - tls[CURL_TLS].median_ms, 2),
        "exchange_delay_s": EXCHANGE_DELAY,
    }


def table(r: dict[str, Any]) -> str:
    """The generated `startup` block of docs/benchmarks.md."""
    s = r["startup"]
    f = s["figures"]
    floor = f[PASS]["median"]
    lines = [
        "| | median (ms) | min | max | runs | / `python -c pass` | goal |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, figure in f.items():
        if name in (COLD_TLS, CURL_TLS):
            continue
        ratio = f"{figure['median'] / floor:.2f}\N{MULTIPLICATION SIGN}"
        goal = ""
        if name in GOALS:
            over = " more than curl" if name == COLD else ""
            shown = f"{s['ratios'][name]:.2f}\N{MULTIPLICATION SIGN}{over}"
            met = "met" if s["met"][name] else "**not met**"
            goal = (
                f"{shown}: \N{LESS-THAN OR EQUAL TO} {GOALS[name]:g}\N{MULTIPLICATION SIGN} ({met})"
            )
        lines.append(
            f"| {name} | {figure['median']:.1f} | {figure['min']:.1f} | {figure['max']:.1f} "
            f"| {figure['runs']} | {ratio} | {goal} |"
        )
    tls, curl = f[COLD_TLS], f[CURL_TLS]
    delay = s["exchange_delay_s"] * 1000
    lines += [
        "",
        (
            f"Through the TLS API, {delay:.0f} ms per exchange, as users see it: a cold "
            f"`rgpu-exec token` {tls['median']:.1f} ms (min {tls['min']:.1f}, max "
            f"{tls['max']:.1f}), curl {curl['median']:.1f} ms: +{s['tls_overhead_ms']:.1f} ms."
        ),
    ]
    return "\n".join(lines)
