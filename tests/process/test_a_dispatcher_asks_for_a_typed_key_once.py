"""A key typed at the prompt is asked for once per kubectl command under a dispatcher that runs the
plugin twice from one process, as gcloud's kubectl does: it runs the plugin (to ask the server
for its version), then execs the versioned kubectl in the same process, which runs it again.

Processes, on a real terminal (a pseudo-terminal the dispatcher takes as its controlling one),
against the emulator: the prompt reads /dev/tty, and the second run asks the emulator's cluster
whether it still accepts the token.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from emulator_support import RGPU_EXEC, Harness

PROMPT = b"RemoteGPU API key"
# The fake dispatcher: takes the terminal, runs the plugin, then replaces itself (same process
# ID) with the "versioned kubectl", which runs the plugin again; each run's output is kept.
DISPATCHER = """\
import os, subprocess, sys
stage, tty, out, plugin, *args = sys.argv[1:]
if stage == "dispatcher":
    os.close(os.open(tty, os.O_RDWR))  # a session leader opening a terminal: it is ours now
done = subprocess.run([plugin, *args], stdin=open(tty), capture_output=True, text=True)
with open(out, "a") as record:
    record.write(f"{done.returncode}\\t{done.stdout.strip()}\\t{done.stderr!r}\\n")
if stage == "dispatcher":
    os.execv(sys.executable, [sys.executable, __file__, "kubectl", tty, out, plugin, *args])
"""


def exec_info(cluster: dict[str, str] | None) -> str:
    spec: dict[str, object] = {"interactive": True}
    if cluster:
        spec["cluster"] = cluster
    return json.dumps({
        "kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1", "spec": spec,
    })  # fmt: skip


def type_when_echo_is_off(master: int, key: str) -> None:
    """Type the key once the prompt has turned echo off: it flushes what was typed before."""
    give_up = time.monotonic() + 10
    while termios.tcgetattr(master)[3] & termios.ECHO and time.monotonic() < give_up:
        time.sleep(0.01)
    os.write(master, key.encode() + b"\n")


def dispatch(
    tmp_path: Path, env: dict[str, str], key: str, args: list[str]
) -> tuple[int, list[list[str]]]:
    """Run the fake dispatcher on a new terminal, typing `key` at each prompt: (the number of
    prompts, each plugin run's (exit code, stdout, stderr))."""
    script = tmp_path / "dispatcher.py"
    script.write_text(DISPATCHER)
    out = tmp_path / "runs.tsv"
    out.unlink(missing_ok=True)
    master, slave = os.openpty()
    argv = [sys.executable, str(script), "dispatcher", os.ttyname(slave), str(out),
            str(RGPU_EXEC), *args]  # fmt: skip
    process = subprocess.Popen(
        argv, env=env, start_new_session=True, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(slave)
    prompts, seen, give_up = 0, b"", time.monotonic() + 60
    try:
        while process.poll() is None and time.monotonic() < give_up:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    seen += os.read(master, 4096)
                except OSError:  # no process has the terminal open (yet, or any more)
                    time.sleep(0.05)
                    continue
                while PROMPT in seen:
                    prompts += 1
                    seen = seen.split(PROMPT, 1)[1]
                    type_when_echo_is_off(master, key)
        assert process.wait(timeout=30) == 0
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    runs = [line.split("\t", 2) for line in out.read_text().splitlines()]
    return prompts, runs


@pytest.mark.slow
@pytest.mark.parametrize("with_cluster", [True, False], ids=["cluster-info", "no-cluster-info"])
def test_a_dispatcher_running_the_plugin_twice_asks_for_the_key_once(
    emulator: Harness, tmp_path: Path, with_cluster: bool
) -> None:
    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)["key"]
    cluster = {
        "server": emulator.ready.kube_server,
        "certificate-authority-data": emulator.ready.ca_data,
    }
    env = {
        **os.environ,
        "REMOTEGPU_API_URL": emulator.ready.api_url,
        "KUBERNETES_EXEC_INFO": exec_info(cluster if with_cluster else None),
    }
    args = ["token", "--namespace-id", team["id"], "--namespace", "team-ml"]

    prompts, runs = dispatch(tmp_path, env, key, args)

    assert [code for code, _, _ in runs] == ["0", "0"], runs
    tokens = [json.loads(stdout)["status"]["token"] for _, stdout, _ in runs]
    if with_cluster:
        # The cluster still accepts the token: the second run gets it without a prompt.
        assert prompts == 1
        assert tokens[0] == tokens[1]
        assert runs[1][2] == "''", "all is well: nothing on kubectl's terminal"
        assert emulator.exchanges() == 1
    else:
        # A rejection and a dispatcher look alike without the cluster: asked again, saying why.
        assert prompts == 2
        assert "asked for again in this kubectl command" in runs[1][2]
        assert "rgpu-exec login" in runs[1][2]
    # A new kubectl command (a new dispatcher process) asks again: the key is kept nowhere.
    again, _ = dispatch(tmp_path, env, key, args)
    assert again >= 1
    cache = Path(os.environ["RGPU_EXEC_CACHE_DIR"])
    assert not [p for p in cache.iterdir() if key.encode() in p.read_bytes()]
