"""kubectl while the credential exchange suffers short faults: parallel `kubectl get pods` loops
through the generated kubeconfig, with short tokens, while the emulator injects each fault kind
in turn, a few answers long (`rgpu_emulator.fault_soak`). Returns a JSON-ready dict.

Its faults invalidate tokens at the emulator's Kubernetes front: run it after every row that
uses it with a cached token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rgpu_emulator import fault_soak as soak

if TYPE_CHECKING:
    from bench.context import Bench

# Tokens of 40 s, as in the soak that found the failures it measures: each kind is met by the
# next refresh, 20 s after the last.
SOAK_TTL = 40.0
SOAK_LOOPS = 4
SLOW_S = soak.SLOW
ALL_KINDS = tuple(soak.FAULT_KINDS)


def fault_soak(
    bench: Bench, *, ttl: float = SOAK_TTL, loops: int = SOAK_LOOPS, rounds: int = 1,
    kinds: tuple[str, ...] = ALL_KINDS,
) -> dict[str, Any]:  # fmt: skip
    """`loops` loops of `kubectl get pods`, tokens of `ttl` seconds, every fault kind in turn
    (`rounds` times over): commands run, failed and over 10 s, by fault kind."""
    sb = bench.sb
    workdir = sb.root / "fault-soak"
    workdir.mkdir(exist_ok=True)
    env = sb.env(KUBECONFIG=str(bench.kubeconfig), RGPU_EXEC_CACHE_DIR=str(workdir / "cache"))
    argv = [bench.kubectl_path, "get", "pods"]
    result = soak.drive(
        sb.api, argv, env, ttl=ttl, kinds=kinds, loops=loops, rounds=rounds, workdir=workdir
    )
    faults = {k: v for k, v in result["by_fault"].items() if k in kinds}
    result["fault_kinds"] = len(kinds)
    result["goal"] = (
        f"no kubectl command fails at a fault of the exchange, none takes over {SLOW_S:.0f} s"
    )
    result["met"] = (
        result["failed"] == result["failed_at_invalidation"]
        and result[f"over_{SLOW_S:.0f}_s"] == 0
        and all(kind["faults_used_up"] for kind in faults.values())
    )
    return result
