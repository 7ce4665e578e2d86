"""The benchmark's private world: a temporary HOME, kubectl cache and rgpu-exec cache, the
emulator (RemoteGPU API over TLS, Kubernetes front over TLS, loopback only), one namespace and
key, and one kubeconfig per way of authenticating.

No child process sees the real user's HOME, KUBECONFIG or caches: every child gets `env()`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.contract import exchange_url
from rgpu_emulator.testing import EmulatorClient, EmulatorProcess

EXCHANGE_DELAY = 0.05  # seconds added to each exchange: stands for the internet
TOKEN_TTL = 3600.0  # long enough that no token expires during a run
NAMESPACE = "bench"
V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"
GKE_PLUGIN = "gke-gcloud-auth-plugin"
GKE_CACHE_FILE = "gke_gcloud_auth_plugin_cache"  # beside the kubeconfig kubectl defaults to


def exec_info(api_version: str) -> str:
    """What kubectl puts in KUBERNETES_EXEC_INFO when stdin is not a terminal."""
    return json.dumps(
        {"kind": "ExecCredential", "apiVersion": api_version, "spec": {"interactive": False}},
        separators=(",", ":"),
    )


def tool(name: str) -> str | None:
    """A tool beside this Python (the venv's kubectl), else on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


class Sandbox:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="rgpu-bench-"))
        self.home = self.root / "home"
        self.tmp = self.root / "tmp"
        self.kube_cache = self.home / ".kube" / "cache"
        for directory in (self.home, self.tmp, self.kube_cache):
            directory.mkdir(parents=True, mode=0o700, exist_ok=True)
        self.client: EmulatorClient | None = None
        self.namespace_id = ""
        self.api_key = ""
        self.emulator = EmulatorProcess(
            self.root / "emulator",
            "--api-tls",
            "--token-ttl",
            str(TOKEN_TTL),
            env=self.env(),
        )

    # -- environment -----------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        """A minimal environment: PATH and locale from the caller, everything else private.

        Bytecode caching stays on (no PYTHONDONTWRITEBYTECODE), as on a user's machine.
        """
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "C.UTF-8",
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "KUBECACHEDIR": str(self.kube_cache),
            "NO_PROXY": "*",
        }
        if self.client is not None:
            ready = self.client.ready
            env |= {
                "REMOTEGPU_API_KEY": self.api_key,
                # The emulator's private CA: rgpu-exec trusts it for the API, curl too.
                "REMOTEGPU_CA_BUNDLE": ready.ca_file,
                "CURL_CA_BUNDLE": ready.ca_file,
            }
        return env | extra

    @property
    def rgpu_cache(self) -> Path:
        """rgpu-exec's default cache directory under the private HOME (Linux rules)."""
        if sys.platform == "darwin":
            return self.home / "Library" / "Caches" / "rgpu-exec"
        return self.home / ".cache" / "rgpu-exec"

    def clear_rgpu_cache(self) -> None:
        shutil.rmtree(self.rgpu_cache, ignore_errors=True)

    # -- emulator --------------------------------------------------------------------------------

    def start(self) -> EmulatorClient:
        ready = self.emulator.start()
        client = EmulatorClient(ready)
        namespace = client.create_namespace(NAMESPACE)
        scopes = {"kubernetes_exec": {"namespace_ids": [namespace["id"]]}}
        key = client.create_key("bench", scopes)
        client.configure(exchange_delay=EXCHANGE_DELAY)
        self.client, self.namespace_id, self.api_key = client, namespace["id"], key["key"]
        return client

    @property
    def api(self) -> EmulatorClient:
        if self.client is None:
            raise RuntimeError("start() first")
        return self.client

    def exchanges(self) -> int:
        return self.api.exchanges()

    def reset_stats(self) -> None:
        self.api.call("POST", "/_emulator/stats/reset").raise_for_status()

    def exchange_url(self) -> str:
        return exchange_url(self.api.ready.api_url, self.namespace_id)

    def static_token(self) -> str:
        response = self.api.exchange(self.namespace_id, self.api_key)
        response.raise_for_status()
        return str(response.json()["status"]["token"])

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        self.emulator.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- kubeconfigs -----------------------------------------------------------------------------

    def _path(self, variant: str) -> Path:
        directory = self.root / f"kubeconfig-{variant}"
        directory.mkdir(mode=0o700, exist_ok=True)
        return directory / "config"

    def generated_kubeconfig(self) -> Path:
        """What `rgpu-exec kubeconfig generate` writes: the exec command is its default (the
        installed launcher's absolute path)."""
        path = self._path("rgpu-exec")
        ready = self.api.ready
        argv = [
            str(Path(sys.executable).parent / "rgpu-exec"),
            "kubeconfig", "generate", "--kubeconfig", str(path),
            "--namespace", NAMESPACE, "--namespace-id", self.namespace_id,
            "--server", ready.kube_server, "--certificate-authority-data", ready.ca_data,
            "--api-url", ready.api_url, "--set-current-context", "--no-verify",
        ]  # fmt: skip
        subprocess.run(argv, env=self.env(), check=True, capture_output=True)
        return path

    @staticmethod
    def exec_stanza(path: Path) -> dict[str, Any]:
        config = yaml.safe_load(path.read_text())
        return dict(config["users"][0]["user"]["exec"])

    def exec_info_from_kubectl(
        self, kubectl: str, kubeconfig: Path, *, provide_cluster_info: bool = False
    ) -> str:
        """The KUBERNETES_EXEC_INFO kubectl really sends for this kubeconfig's exec stanza, byte
        for byte: its command is swapped for a probe that records it and answers a valid token.
        With `provide_cluster_info`, the stanza asks for spec.cluster too."""
        config = yaml.safe_load(kubeconfig.read_text())
        stanza = config["users"][0]["user"]["exec"]
        if provide_cluster_info:
            stanza["provideClusterInfo"] = True
        record = self.root / "exec-info.txt"
        credential = {
            "apiVersion": stanza["apiVersion"],
            "kind": "ExecCredential",
            "status": {"token": self.static_token()},
        }
        probe = (
            "import os, sys\n"
            "with open(sys.argv[1], 'w', encoding='utf-8', newline='') as f:\n"
            "    f.write(os.environ.get('KUBERNETES_EXEC_INFO', ''))\n"
            "print(sys.argv[2])\n"
        )
        stanza["command"] = sys.executable
        stanza["args"] = ["-c", probe, str(record), json.dumps(credential)]
        path = self._write(self._path("probe"), config)
        subprocess.run(
            [kubectl, "get", "pods"], env=self.env(KUBECONFIG=str(path)), check=True,
            capture_output=True,
        )  # fmt: skip
        return record.read_text(encoding="utf-8")

    def _write(self, path: Path, config: dict[str, Any]) -> Path:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.safe_dump(config, handle, sort_keys=False)
        return path

    def _config(self, user: dict[str, Any]) -> dict[str, Any]:
        ready = self.api.ready
        cluster = {"server": ready.kube_server, "certificate-authority-data": ready.ca_data}
        context = {"cluster": "bench", "user": "bench", "namespace": NAMESPACE}
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "bench", "cluster": cluster}],
            "users": [{"name": "bench", "user": user}],
            "contexts": [{"name": "bench", "context": context}],
            "current-context": "bench",
        }

    def static_kubeconfig(self, token: str) -> Path:
        return self._write(self._path("static"), self._config({"token": token}))

    def console_kubeconfig(self) -> Path:
        """The console's download, served by the emulator: `sh -c "curl ..."` on every call."""
        response = self.api.call("GET", f"/v1/kubernetes/namespaces/{self.namespace_id}/kubeconfig")
        response.raise_for_status()
        path = self._path("console")
        path.write_text(response.json()["kubeconfig"])
        path.chmod(0o600)
        return path

    def gke_kubeconfig(self, plugin: str, token: str) -> Path:
        """gke-gcloud-auth-plugin's stanza as `gcloud container clusters get-credentials` writes
        it, and a valid cache file where the plugin looks for it: beside the kubeconfig that
        kubectl defaults to (KUBECONFIG), keyed by current-context and the extra args."""
        user = {
            "exec": {
                "apiVersion": V1BETA1,
                "command": plugin,
                "provideClusterInfo": True,
                "interactiveMode": "IfAvailable",
                "installHint": "Install gke-gcloud-auth-plugin",
            }
        }
        path = self._write(self._path("gke"), self._config(user))
        expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + TOKEN_TTL - 300))
        cache = {
            "current_context": "bench",
            "access_token": token,
            "token_expiry": expiry,
            "extra_args": "",
        }
        cache_path = path.parent / GKE_CACHE_FILE
        fd = os.open(cache_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(cache, handle)
        return path
