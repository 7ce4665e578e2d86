"""5. Scale: the cache hit with many entries in one cache directory, and `kubeconfig generate`
merging into large kubeconfigs (`bench.kubeconfig_merge`, in a child process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.context import BARE_PYTHON
from bench.timing import fig, figure, interleaved, ratio
from rgpu_exec.cache import identity_key
from rgpu_exec.hotpath import settings, token_cache

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bench.context import Bench

ROOT = Path(__file__).resolve().parent.parent  # where `python -m bench.…` finds the package
MERGE_GOAL_MS = 1000  # the whole command, at the largest kubeconfig


def fill_cache(bench: Bench, directory: Path, entries: int) -> None:
    """The real entry plus `entries - 1` others (other namespaces), flat in one directory."""
    where = settings.config_dir(bench.sb.env())  # the key's fingerprint secret, as token finds it
    secret = identity_key.ensure_secret(where) if where is not None else None
    identity = token_cache.key_identity(bench.sb.api_key, secret)
    api_url = bench.api_url
    now = time.time()
    key = token_cache.CacheKey(api_url, bench.sb.namespace_id, identity)
    token_cache.write_entry(str(directory), token_cache.Entry(key, now, now + 3000, "t0"))
    for i in range(entries - 1):
        other = f"00000000-0000-4000-8000-{i:012d}"
        entry = token_cache.Entry(
            token_cache.CacheKey(api_url, other, identity), now, now + 3000, f"t{i + 1}"
        )
        stem = token_cache.entry_stem(api_url, other, identity)
        fd = os.open(directory / (stem + token_cache.ENTRY_SUFFIX), os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(entry.render())


def cache_entries(bench: Bench, entry_counts: Sequence[int]) -> dict[str, Any]:
    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        BARE_PYTHON: (bench.python_pass, bench.token_env)
    }
    for count in entry_counts:
        directory = bench.sb.root / f"cache-{count}"
        fill_cache(bench, directory, count)
        env = bench.token_env | {"RGPU_EXEC_CACHE_DIR": str(directory)}
        if bench.token(env) != "t0":
            raise RuntimeError(f"the cache of {count} entries did not answer its own entry")
        commands[f"cache hit, {count:,} entries"] = (bench.token_argv, env)
    figures = interleaved(commands, bench.runs, bench.warmup)
    base = figures[BARE_PYTHON]
    return {
        "figures": {name: fig(f) for name, f in figures.items()},
        "ratio_to_python": {
            name: ratio(f, base) for name, f in figures.items() if name != BARE_PYTHON
        },
    }


def kubeconfig_merge(bench: Bench, contexts: dict[int, int]) -> dict[str, Any]:
    sb = bench.sb
    merge: dict[str, Any] = {}
    for count, repeat in contexts.items():
        done = subprocess.run(
            [sys.executable, "-m", "bench.kubeconfig_merge", "--contexts", str(count),
             "--repeat", str(repeat), "--warmup", "1", "--json"],
            env=sb.env(PYTHONPATH=str(ROOT)), cwd=sb.tmp, capture_output=True, text=True,
            check=True,
        )  # fmt: skip
        document = json.loads(done.stdout)
        merge[str(count)] = {
            "kubeconfig_bytes": document["bytes"],
            "figures": {
                name: fig(figure(name, [s * 1000 for s in samples]))
                for name, samples in document["samples"].items()
            },
        }
    return merge


def scale(bench: Bench, entry_counts: Sequence[int], contexts: dict[int, int]) -> dict[str, Any]:
    cache = cache_entries(bench, entry_counts)
    merge = kubeconfig_merge(bench, contexts)
    worst = max(merge[str(max(contexts))]["figures"].values(), key=lambda f: f["median"])
    return {
        "cache_entries": cache,
        "kubeconfig_merge": merge,
        "merge_goal": "< 1 s at the largest kubeconfig (whole command, start-up included)",
        "merge_met": worst["median"] < MERGE_GOAL_MS,
    }
