"""The emulator as a program: flags, ready document, TLS API, clean stop; and the product's
independence from it."""

from __future__ import annotations

import ast
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

import rgpu_exec
from rgpu_emulator.testing import EmulatorProcess

from emulator_support import RGPU_EXEC, run

PACKAGE = Path(rgpu_exec.__file__).parent
REPO = PACKAGE.parent.parent


def test_product_code_never_imports_the_emulator():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
                names = [a.value for a in node.args if isinstance(a, ast.Constant)]  # type: ignore[misc]
            if any(n == "rgpu_emulator" or n.startswith("rgpu_emulator.") for n in names):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")  # type: ignore[attr-defined]
    assert offenders == []
    assert (PACKAGE / "hotpath" / "cache_hit.py").exists()  # the scan looked at the right tree


@pytest.mark.slow  # starts processes itself
def test_the_product_wheel_holds_no_emulator_or_demo_and_installs_no_rgpu_emulator(
    tmp_path: Path,
):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("rgpu_exec-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = archive.read(entry_points).decode()
    assert "rgpu_exec/hotpath/cache_hit.py" in names
    assert [n for n in names if "emulator" in n or n.endswith("demo.py")] == []
    assert "rgpu-emulator" not in scripts
    assert "kubectl-rgpu = rgpu_exec.cli:main" in scripts


@pytest.mark.slow  # starts processes itself
def test_importing_the_cli_loads_no_emulator_module():
    code = "import sys, rgpu_exec.cli, rgpu_exec.usecases.token; print([m for m in sys.modules if 'emulator' in m])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.slow  # starts processes itself
def test_flags_and_ready_document(tmp_path: Path):
    with EmulatorProcess(
        tmp_path, "--accounts", "3", "--token-ttl", "120", "--max-active-keys", "1"
    ) as emu:
        ready_on_disk = json.loads(emu.ready_file.read_text())
        assert set(ready_on_disk) == {"api_url", "kube_server", "ca_file", "ca_data", "accounts"}
        assert ready_on_disk["api_url"].startswith("http://127.0.0.1:")
        assert ready_on_disk["kube_server"].startswith("https://127.0.0.1:")
        assert (
            base64.b64decode(ready_on_disk["ca_data"])
            == Path(ready_on_disk["ca_file"]).read_bytes()
        )
        assert Path(ready_on_disk["ca_file"]).is_relative_to(tmp_path)
        assert len(ready_on_disk["accounts"]) == 3
        assert {"id", "access_token"} == set(ready_on_disk["accounts"][0])
        from rgpu_emulator.testing import EmulatorClient

        client = EmulatorClient(emu.ready)
        try:
            ns = client.create_namespace("team-ml")
            key = client.create_key("only", {"all": True})
            second = client.call(
                "POST", "/v1/account/api-keys", {"name": "two", "scopes": {"all": True}}
            )
            assert second.status_code == 409
            answer = client.exchange(ns["id"], key["key"]).json()
            info = client.lookup_token(answer["status"]["token"])
            assert info is not None
            assert _seconds(info["expires_at"]) - _seconds(info["issued_at"]) == 120
        finally:
            client.close()
        ca_file = Path(ready_on_disk["ca_file"])
    # Stopped by SIGTERM: exit 0, ready file and CA directory removed.
    assert not emu.ready_file.exists()
    assert not ca_file.parent.exists()
    assert "Traceback" not in emu.log_file.read_text()


@pytest.mark.slow  # starts processes itself
def test_seed_readies_a_namespace_a_key_and_its_console_kubeconfig_and_its_printed_lines_work(
    tmp_path: Path,
):
    from rgpu_emulator.testing import EmulatorClient

    with EmulatorProcess(tmp_path / "emulator", "--seed") as emu:
        ready = json.loads(emu.ready_file.read_text())
        seed = ready["seed"]
        assert set(seed) == {
            "account_id", "namespace", "namespace_id", "api_key", "key_prefix", "kubeconfig_file",
        }  # fmt: skip
        assert seed["account_id"] == ready["accounts"][0]["id"]
        assert seed["namespace"] == "team-ml"
        assert seed["api_key"].startswith(seed["key_prefix"] + "_")
        console = Path(seed["kubeconfig_file"])
        assert console.parent == Path(ready["ca_file"]).parent  # removed at exit with the CA
        assert console.stat().st_mode & 0o777 == 0o600
        assert f"/namespaces/{seed['namespace_id']}/exec-credential" in console.read_text()
        client = EmulatorClient(emu.ready)
        try:
            namespaces = client.call("GET", "/v1/kubernetes/namespaces").json()["items"]
            keys = client.call("GET", "/v1/account/api-keys").json()["items"]
            exchanged = client.exchange(seed["namespace_id"], seed["api_key"])
        finally:
            client.close()
        assert [(ns["id"], ns["name"]) for ns in namespaces] == [(seed["namespace_id"], "team-ml")]
        assert [(k["prefix"], k["scopes"]) for k in keys] == [
            (seed["key_prefix"], {"kubernetes_exec": {"namespace_ids": [seed["namespace_id"]]}})
        ]
        assert exchanged.status_code == 200
        # One command to try the tool: the lines it printed, pasted into a shell, work.
        printed = emu.log_file.read_text()
        pasted = [line[2:] for line in printed.splitlines() if line.startswith("  ")]
        assert pasted[-2:] == [
            f"rgpu-exec kubeconfig import {console}",
            "kubectl get pods",
        ]
        # A shell whose PATH lacks the venv (as another shell's may): the lines put it first.
        assert pasted[0] == f'export PATH={RGPU_EXEC.parent}:"$PATH"'
        shell = run(
            ["sh", "-ec", "\n".join(pasted)],
            {**os.environ, "TMPDIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        )
        assert shell.returncode == 0, shell.stderr
        assert "No resources found in team-ml namespace." in shell.stdout + shell.stderr
    assert not console.exists()


def _seconds(rfc3339: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


@pytest.mark.slow  # starts processes itself
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly_on_signals(tmp_path: Path, signum):
    emu = EmulatorProcess(tmp_path)
    emu.start()
    process = emu.process
    assert process is not None
    process.send_signal(signum)
    assert process.wait(timeout=15) == 0
    assert not emu.ready_file.exists()


@pytest.mark.slow  # starts processes itself
def test_rgpu_emulator_help_lists_its_flags():
    helped = subprocess.run(
        [sys.executable, "-m", "rgpu_emulator", "--help"], capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert helped.returncode == 0
    assert "--ready-file" in helped.stdout


@pytest.mark.slow  # starts processes itself
def test_sigterm_with_open_connections_exits_promptly_without_tracebacks(tmp_path: Path):
    with EmulatorProcess(tmp_path, "--verbose") as emu:
        ready = emu.ready
        api = httpx.Client(base_url=ready.api_url)
        kube = httpx.Client(base_url=ready.kube_server, verify=ready.ssl_context())
        host, port = ready.kube_server.rsplit(":", 1)
        handshaking = socket.create_connection((host.removeprefix("https://"), int(port)))
        try:
            assert api.get("/_emulator/stats").status_code == 200  # idle keep-alive, both ports
            assert kube.get("/healthz").status_code == 200
            process = emu.process
            assert process is not None
            began = time.monotonic()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
            took = time.monotonic() - began
        finally:
            api.close()
            kube.close()
            handshaking.close()
    assert took < 1.5, f"{took:.2f} s from SIGTERM to exit"  # typically 0.1-0.3 s
    assert "Traceback" not in emu.log_file.read_text()


@pytest.mark.slow  # starts processes itself
def test_console_script_and_module_both_run():
    script = Path(sys.executable).parent / "rgpu-emulator"
    assert script.exists()
    for argv in ([str(script), "--help"], [sys.executable, "-m", "rgpu_emulator", "--help"]):
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0
        for flag in ("--host", "--api-port", "--kube-port", "--ready-file", "--token-ttl",
                     "--accounts", "--max-active-keys", "--api-tls", "--seed"):  # fmt: skip
            assert flag in result.stdout


def test_api_over_tls_with_the_plugin(start_emulator):
    emulator = start_emulator("--api-tls")
    assert emulator.ready.api_url.startswith("https://127.0.0.1:")
    ns = emulator.namespace("team-ml")
    key = emulator.namespace_key(ns)
    argv = [
        str(RGPU_EXEC),
        "token",
        "--namespace-id",
        ns["id"],
        "--api-url",
        emulator.ready.api_url,
    ]
    trusted = run(argv, emulator.plugin_env(key["key"], REMOTEGPU_CA_BUNDLE=emulator.ready.ca_file))
    assert trusted.returncode == 0, trusted.stderr
    assert json.loads(trusted.stdout)["kind"] == "ExecCredential"
    # Without the CA: refused (with its own cache directory, so nothing is served from a cache).
    other_cache = str(emulator.workdir / "other-cache")
    untrusted = run(argv, emulator.plugin_env(key["key"], RGPU_EXEC_CACHE_DIR=other_cache))
    assert untrusted.returncode == 5
    assert "is not trusted" in untrusted.stderr


@pytest.mark.slow  # starts processes itself
def test_the_ready_file_is_private_and_never_written_through_a_planted_symlink(tmp_path: Path):
    victim = tmp_path / "victim.txt"
    victim.write_text("not the emulator's\n")
    with EmulatorProcess(tmp_path, "--token-ttl", "60") as emu:
        ready_dir = emu.ready_file.parent
        assert oct(emu.ready_file.stat().st_mode & 0o777) == oct(0o600)
        leftovers = [p.name for p in ready_dir.iterdir() if p.name.startswith(".rgpu-emulator")]
        assert leftovers == []
    # The old temp name was `<ready-file>.<pid>.tmp`: predictable, followed when a symlink.
    # Plant such links for a range of pids and start again: none is written through.
    ready = tmp_path / "planted" / "ready.json"
    ready.parent.mkdir()
    for pid in range(os.getpid(), os.getpid() + 200):
        (ready.parent / f"ready.json.{pid}.tmp").symlink_to(victim)
    result = subprocess.Popen(
        [sys.executable, "-m", "rgpu_emulator", "--ready-file", str(ready)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline and result.poll() is None:
            time.sleep(0.05)
        assert ready.exists()
        assert not ready.is_symlink()
        assert oct(ready.stat().st_mode & 0o777) == oct(0o600)
    finally:
        result.send_signal(signal.SIGTERM)
        result.communicate(timeout=15)
    assert victim.read_text() == "not the emulator's\n"


@pytest.mark.slow  # starts processes itself
# Refused before binding: nothing ever listens beyond loopback in this test.
@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::"])  # noqa: S104
def test_a_non_loopback_host_is_refused_unless_allowed_explicitly(host: str):
    result = subprocess.run(
        [sys.executable, "-m", "rgpu_emulator", "--host", host], capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(f"rgpu-emulator: refusing to bind {host}, which is not a ")
    assert "--allow-non-loopback" in result.stderr


@pytest.mark.slow  # starts processes itself
def test_an_allowed_non_loopback_host_comes_with_a_warning():
    # 192.0.2.1 (TEST-NET-1) is on no interface here: the bind fails after the warning.
    result = subprocess.run(
        [sys.executable, "-m", "rgpu_emulator", "--host", "192.0.2.1", "--allow-non-loopback"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.stderr.startswith(
        "rgpu-emulator: warning: listening on 192.0.2.1, reachable from the network"
    )
    assert "rgpu-emulator: cannot listen on 192.0.2.1" in result.stderr
