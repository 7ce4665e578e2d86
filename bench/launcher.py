"""Cache hit: the installed `rgpu-exec token` on a hit vs `python -c pass`, same interpreter.

Also times the same command through the generated `kubectl-rgpu` entry-point wrapper, to show
what the custom launcher saves. Run: `.venv/bin/python -m bench.launcher`.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.timing import base_env, compile_package, interleaved
from rgpu_exec.hotpath import token_cache

if TYPE_CHECKING:
    from bench.timing import Figure

NAMESPACE_ID = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"
API_URL = "https://api.example.test"
API_KEY = "rgpu_3f9a2c1b_BenchBenchBenchBenchBenchBench12"
# As kubectl sends it: its JSON encoder ends the value with a newline.
V1_INFO = (
    '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",'
    '"spec":{"interactive":false}}\n'
)


def fill_cache(directory: str, entries: int = 1) -> None:
    now = time.time()
    identity = token_cache.key_identity(API_KEY)
    token_cache.write_entry(
        directory,
        token_cache.Entry(
            token_cache.CacheKey(API_URL, NAMESPACE_ID, identity), now, now + 3600, "bench-token"
        ),
    )
    for i in range(entries - 1):  # other namespaces, same directory
        other = f"00000000-0000-4000-8000-{i:012d}"
        token_cache.write_entry(
            directory,
            token_cache.Entry(token_cache.CacheKey(API_URL, other, identity), now, now + 3600, "t"),
        )


def run(entries: int = 1, runs: int = 30) -> dict[str, Figure]:
    bin_dir = Path(sys.executable).parent
    compile_package()
    with tempfile.TemporaryDirectory() as tmp:
        fill_cache(tmp, entries)
        env = base_env() | {
            "REMOTEGPU_API_KEY": API_KEY,
            "KUBERNETES_EXEC_INFO": V1_INFO,
            "RGPU_EXEC_CACHE_DIR": tmp,
        }
        args = ["token", "--namespace-id", NAMESPACE_ID, "--api-url", API_URL]
        return interleaved(
            {
                "python -c pass": ([sys.executable, "-c", "pass"], env),
                "rgpu-exec (launcher)": ([str(bin_dir / "rgpu-exec"), *args], env),
                "kubectl-rgpu (entry-point wrapper)": ([str(bin_dir / "kubectl-rgpu"), *args], env),
            },
            runs=runs,
        )


if __name__ == "__main__":
    figures = run()
    base = figures["python -c pass"].median_ms
    for figure in figures.values():
        print(
            f"{figure.name:38} median {figure.median_ms:6.1f} ms  (min {figure.min_ms:5.1f}, "
            f"max {figure.max_ms:6.1f})  ratio {figure.median_ms / base:.2f}x"
        )
    print(json.dumps([f.as_dict() for f in figures.values()]))
