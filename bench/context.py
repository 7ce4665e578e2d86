"""What every measurement shares: the sandbox, the run counts, and the exec command exactly as
the generated kubeconfig has kubectl run it, with the exec info exactly as kubectl sends it.

Every comparison alternates its commands (A B A B ...) in one run and keeps the samples after
the warm-up rounds; figures are median, min and max in milliseconds (MiB for memory).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bench.sandbox import tool
from rgpu_emulator.testing import own_parent

if TYPE_CHECKING:
    from bench.sandbox import Sandbox

BARE_PYTHON = "python -c pass"
CACHE_HIT = "rgpu-exec token (cache hit)"
CACHE_HIT_CLUSTER = "rgpu-exec token (cache hit), exec info with spec.cluster"
CACHE_HIT_UNJUDGED = "rgpu-exec token (cache hit), no exec info: no client remembered"
CACHE_HIT_WRAPPER = "the same through the `kubectl-rgpu` entry-point wrapper"
COLD = "rgpu-exec token (cold: exchange)"


class Bench:
    def __init__(self, sandbox: Sandbox, runs: int, warmup: int) -> None:
        self.sb = sandbox
        self.runs = runs
        self.warmup = warmup
        kubectl = tool("kubectl")
        if kubectl is None:
            raise RuntimeError("kubectl not found: run `make install` first")
        self.kubectl_path = kubectl
        self.kubeconfig = sandbox.generated_kubeconfig()
        stanza = sandbox.exec_stanza(self.kubeconfig)
        # The exec command exactly as the generated kubeconfig has kubectl run it, with the exec
        # info exactly as kubectl sends it (recorded from kubectl itself, not written by hand).
        self.token_argv = [str(stanza["command"]), *map(str, stanza.get("args") or [])]
        stanza_env = {e["name"]: e["value"] for e in stanza.get("env") or []}
        self.kubectl_exec_info = sandbox.exec_info_from_kubectl(kubectl, self.kubeconfig)
        self.token_env = sandbox.env(KUBERNETES_EXEC_INFO=self.kubectl_exec_info, **stanza_env)
        # With provideClusterInfo: true, as kubectl sends it (spec.cluster, the CA data and all).
        self.cluster_exec_info = sandbox.exec_info_from_kubectl(
            kubectl, self.kubeconfig, provide_cluster_info=True
        )
        self.cluster_env = self.token_env | {"KUBERNETES_EXEC_INFO": self.cluster_exec_info}
        # No exec info at all (a manual run): rgpu-exec has no client to judge or remember.
        self.unjudged_env = {k: v for k, v in self.token_env.items() if k != "KUBERNETES_EXEC_INFO"}
        self.python_pass = [sys.executable, "-c", "pass"]
        # The same command through the generated entry-point wrapper instead of the launcher.
        self.wrapper_argv = [
            str(Path(sys.executable).parent / "kubectl-rgpu"),
            *self.token_argv[1:],
        ]

    @property
    def api_url(self) -> str:
        """The API URL in the generated exec command."""
        return self.token_argv[self.token_argv.index("--api-url") + 1]

    def token(self, env: dict[str, str] | None = None) -> str:
        """One plugin run, with a parent of its own (as each kubectl command is)."""
        out = subprocess.run(
            own_parent(self.token_argv), env=env or self.token_env, capture_output=True,
            text=True, check=True,
        )  # fmt: skip
        return str(json.loads(out.stdout)["status"]["token"])
