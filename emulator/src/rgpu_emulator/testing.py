"""Drive the emulator from tests and the demo: run it as a subprocess, call its APIs, write a
kubeconfig whose exec stanza runs rgpu-exec against it.

    with EmulatorProcess(workdir) as emulator:
        client = EmulatorClient(emulator.ready)
        ns = client.create_namespace("team-ml")
        key = client.create_key("ci", {"kubernetes_exec": {"namespace_ids": [ns["id"]]}})
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from rgpu_exec import contract

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path
    from types import TracebackType

    from typing_extensions import Self

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"


class EmulatorFailedError(RuntimeError):
    pass


@dataclass(frozen=True)
class Ready:
    """The emulator's ready document."""

    api_url: str
    kube_server: str
    ca_file: str
    ca_data: str
    accounts: list[dict[str, str]]
    seed: dict[str, str] | None = None  # with `--seed` (rgpu_emulator.seed)

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts the emulator's CA (its Kubernetes front, and its API with `--api-tls`)."""
        return ssl.create_default_context(cafile=self.ca_file)

    @classmethod
    def parse(cls, text: str) -> Ready:
        document = json.loads(text)
        return cls(
            **{name: document[name] for name in cls.__dataclass_fields__ if name in document}
        )


class EmulatorProcess:
    """`python -m rgpu_emulator` in `workdir` (its TMPDIR too, so nothing lands elsewhere).

    `kube_latency_ms` delays every request of its Kubernetes front (`--kube-latency-ms`).
    """

    def __init__(
        self, workdir: Path, *args: str, env: Mapping[str, str] | None = None,
        python: str = sys.executable, kube_latency_ms: float = 0.0,
    ) -> None:  # fmt: skip
        self.workdir = workdir
        self.ready_file = workdir / "emulator-ready.json"
        self.log_file = workdir / "emulator.log"
        self.argv = [
            python,
            "-m",
            "rgpu_emulator",
            "--ready-file",
            str(self.ready_file),
            *args,
        ]
        if kube_latency_ms:
            self.argv += ["--kube-latency-ms", str(kube_latency_ms)]
        self.env = {**(os.environ if env is None else env), "TMPDIR": str(workdir)}
        self.process: subprocess.Popen[bytes] | None = None
        self._ready: Ready | None = None

    @property
    def ready(self) -> Ready:
        if self._ready is None:
            raise EmulatorFailedError("the emulator is not running")
        return self._ready

    def start(self, timeout: float = 30.0) -> Ready:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=self.env,
                cwd=self.workdir,
            )  # fmt: skip
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            if self.ready_file.exists():
                self._ready = Ready.parse(self.ready_file.read_text())
                return self._ready
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        log_tail = self.log_file.read_text(errors="replace")[-2000:]
        raise EmulatorFailedError(f"the emulator did not become ready:\n{log_tail}")

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; the exit code."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                return process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
        return process.wait(timeout)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class EmulatorClient:
    """The account API (as the console calls it), the exchange, and the control plane."""

    def __init__(self, ready: Ready, account: int = 0, timeout: float = 30.0) -> None:
        self.ready = ready
        self.access_token = ready.accounts[account]["access_token"]
        self.account_id = ready.accounts[account]["id"]
        self.http = httpx.Client(
            base_url=ready.api_url, timeout=timeout, verify=ready.ssl_context()
        )

    def close(self) -> None:
        self.http.close()

    def call(
        self, method: str, path: str, body: object = None, *, session: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:  # fmt: skip
        sent = dict(headers or {})
        if session:
            sent["authorization"] = f"Bearer {self.access_token}"
        return self.http.request(method, path, json=body, headers=sent)

    def _ok(self, method: str, path: str, body: object = None) -> Any:
        response = self.call(method, path, body)
        if response.is_error:
            raise EmulatorFailedError(
                f"{method} {path}: HTTP {response.status_code} {response.text}"
            )
        return response.json() if response.content else None

    def create_namespace(self, name: str) -> dict[str, Any]:
        return dict(self._ok("POST", "/v1/kubernetes/namespaces", {"name": name}))

    def create_key(
        self, name: str, scopes: Mapping[str, Any], expires_at: str | None = None
    ) -> dict[str, Any]:
        """The created key, raw value in `"key"`."""
        body: dict[str, Any] = {"name": name, "scopes": scopes}
        if expires_at is not None:
            body["expires_at"] = expires_at
        return dict(self._ok("POST", "/v1/account/api-keys", body))

    def revoke_key(self, key_id: str) -> dict[str, Any]:
        return dict(self._ok("POST", f"/v1/account/api-keys/{key_id}/revoke"))

    def exchange(self, namespace_id: str, api_key: str | None) -> httpx.Response:
        headers = {contract.API_KEY_HEADER: api_key} if api_key is not None else {}
        path = contract.EXCHANGE_PATH.format(namespace_id=namespace_id)
        return self.call("POST", path, session=False, headers=headers)

    # -- control plane --------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        return dict(self._ok("GET", "/_emulator/stats"))

    def exchanges(self) -> int:
        return int(self.stats()["exchanges"]["total"])

    def reset(self) -> None:
        self._ok("POST", "/_emulator/reset")

    def set_clock(self, offset: float | None = None, advance: float | None = None) -> None:
        self._ok("POST", "/_emulator/clock", {"offset": offset, "advance": advance})

    def configure(self, **settings: float) -> dict[str, Any]:
        return dict(self._ok("POST", "/_emulator/settings", settings))

    def add_fault(self, **fault: Any) -> None:
        self._ok("POST", "/_emulator/faults", fault)

    def clear_faults(self) -> None:
        self._ok("DELETE", "/_emulator/faults")

    def invalidate_tokens(self, key_id: str | None = None, namespace_id: str | None = None) -> int:
        """Make the Kubernetes front reject the issued tokens (all, or of a key, a namespace)."""
        body = {"key_id": key_id, "namespace_id": namespace_id}
        answer = self._ok("POST", "/_emulator/tokens/invalidate", body)
        return int(answer["invalidated"])

    def lookup_token(self, token: str) -> dict[str, Any] | None:
        response = self.call("POST", "/_emulator/tokens/lookup", {"token": token})
        return None if response.status_code == 404 else dict(response.json())  # noqa: PLR2004


def own_parent(argv: Sequence[str]) -> list[str]:
    """`argv` run by a short-lived shell of its own, so that each run has a new parent process,
    as when each kubectl command runs the plugin. (The same parent asking twice for a fresh token
    means the cluster rejected it: see `rgpu_exec.hotpath.second_ask`.) The shell waits for the
    command and exits with its code; it does not `exec` it, since its last command is `exit`."""
    return ["sh", "-c", '"$@"; exit $?', "sh", *argv]


def exec_kubeconfig(
    ready: Ready, command: str, contexts: Sequence[tuple[str, str]], *,
    api_version: str = V1, api_url: str | None = None, current: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A kubeconfig with one context per (namespace name, namespace id), each running
    `<command> token --namespace-id <id> --namespace <name> --api-url <api_url>` as its exec
    credential plugin (as `rgpu-exec kubeconfig generate` writes it)."""
    cluster = "remotegpu-emulator"
    # As `rgpu-exec kubeconfig generate` writes it: kubectl hands the cluster to the plugin.
    exec_base: dict[str, Any] = {
        "apiVersion": api_version, "command": command, "provideClusterInfo": True,
    }  # fmt: skip
    if api_version == V1:
        exec_base["interactiveMode"] = "Never"
    users, entries = [], []
    for name, namespace_id in contexts:
        args = [
            "token", "--namespace-id", namespace_id, "--namespace", name,
            "--api-url", api_url or ready.api_url,
        ]  # fmt: skip
        users.append({"name": f"rgpu-{name}", "user": {"exec": {**exec_base, "args": args}}})
        context = {"cluster": cluster, "user": f"rgpu-{name}", "namespace": name}
        entries.append({"name": name, "context": context})
    server = {"server": ready.kube_server, "certificate-authority-data": ready.ca_data}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": server}],
        "users": users,
        "contexts": entries,
        "current-context": current or contexts[0][0],
        "preferences": {},
    }


def write_kubeconfig(path: Path, config: Mapping[str, Any]) -> Path:
    """Write it as YAML, 0600 (kubectl's own mode for new files)."""
    from ruamel.yaml import YAML  # noqa: PLC0415

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        YAML(typ="safe", pure=True).dump(dict(config), handle)
    return path
