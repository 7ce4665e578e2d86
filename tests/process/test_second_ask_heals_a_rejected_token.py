"""Through the installed `rgpu-exec`: the same parent process asking twice for a fresh token gets
a new one (the first was rejected), at most once per window; a herd of one parent, other
parents, and runs without exec info get the cached token. See rgpu_exec.hotpath.second_ask.

A shell stands for the client: every `rgpu-exec` it starts has it as parent, as every plugin run
of one kubectl process has kubectl. Where real processes are not the point, the runs are in this
process (`run_cli`), all with one parent, as the runs a shell starts.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rgpu_emulator.testing import own_parent
from rgpu_exec.hotpath import token_cache

from conftest import API_KEY, NAMESPACE_ID, RunCli, key_identity

if TYPE_CHECKING:
    from emulator_support import Exchange
    from exchange_answers import FakeApi

KUBECTL_INFO = '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}\n'


def one_client(rgpu_exec_bin: str, api: Exchange, script: str, **env: str) -> list[str]:
    """Run `script` in one shell; `$PLUGIN` runs `rgpu-exec token` against the emulator, printing
    one line each."""
    environ = api.env(PLUGIN=shlex.join([rgpu_exec_bin, *api.args()]), **env)
    done = subprocess.run(
        ["sh", "-c", script], env=environ, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return [json.loads(line)["status"]["token"] for line in done.stdout.splitlines()]


def one_client_in_process(run_cli: RunCli, api: FakeApi, runs: int, **env: str) -> list[str]:
    """`rgpu-exec token` run `runs` times in this process, all with one parent (one client)."""
    argv = ["token", "--namespace-id", NAMESPACE_ID, "--api-url", api.url]
    tokens = []
    for _ in range(runs):
        done = run_cli(argv, env={"REMOTEGPU_API_KEY": API_KEY, **env})
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        tokens += [json.loads(line)["status"]["token"] for line in done.stdout.splitlines()]
    return tokens


def test_the_same_client_asking_again_gets_a_new_token_once(
    rgpu_exec_bin, emulated_exchange: Exchange
):
    # kubectl's two runs after a 401, then more asks from that client within the window (a
    # cluster that rejects every token): one forced exchange, no storm.
    api = emulated_exchange
    tokens = one_client(
        rgpu_exec_bin, api, "for i in 1 2 3 4 5; do $PLUGIN; done",
        KUBERNETES_EXEC_INFO=KUBECTL_INFO,
    )  # fmt: skip
    first, second = tokens[0], tokens[1]
    assert first != second
    assert tokens == [first, *[second] * 4]
    assert api.issued(first)
    assert api.issued(second)
    assert api.count == 2
    # The next kubectl (another parent) gets the new token from the cache.
    nxt = subprocess.run(
        own_parent([rgpu_exec_bin, *api.args()]),
        env=api.env(KUBERNETES_EXEC_INFO=KUBECTL_INFO),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert json.loads(nxt.stdout)["status"]["token"] == second
    assert api.count == 2


def test_without_exec_info_the_same_shell_gets_the_cached_token(run_cli, fake_api):
    # A script asking twice is no exec-protocol client: nothing to judge.
    tokens = one_client_in_process(run_cli, fake_api, 2)
    assert tokens == ["fake-token-1", "fake-token-1"]
    assert fake_api.count == 1


def test_a_herd_of_one_client_makes_one_exchange(rgpu_exec_bin, emulated_exchange: Exchange):
    # Eight concurrent runs of one parent on a cold cache: seven wait for the first's exchange,
    # then answer its token. They asked before it existed: not a second ask.
    api = emulated_exchange
    api.harness.client.add_fault(target="exchange", delay=0.5, count=None)
    script = "for i in 1 2 3 4 5 6 7 8; do $PLUGIN & done; wait"
    tokens = one_client(rgpu_exec_bin, api, script, KUBERNETES_EXEC_INFO=KUBECTL_INFO)
    assert len(tokens) == 8
    assert len(set(tokens)) == 1
    assert api.issued(tokens[0])
    assert api.count == 1


def test_the_python_client_exec_info_is_judged_too(run_cli, fake_api: FakeApi):
    python_client_info = json.dumps({
        "apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
        "spec": {"interactive": False},
    })  # fmt: skip
    tokens = one_client_in_process(run_cli, fake_api, 2, KUBERNETES_EXEC_INFO=python_client_info)
    assert tokens == ["fake-token-1", "fake-token-2"]


@pytest.mark.parametrize("suffix", [token_cache.SERVED_SUFFIX, token_cache.FORCED_SUFFIX])
def test_a_fifo_planted_as_a_record_never_hangs_the_plugin(
    run_cli, fake_api: FakeApi, sandbox: Path, suffix: str
):
    directory = sandbox / "cache"
    directory.mkdir(mode=0o700)
    stem = token_cache.CacheKey(fake_api.url, NAMESPACE_ID, key_identity()).stem
    os.mkfifo(directory / (stem + suffix), 0o600)
    tokens = one_client_in_process(run_cli, fake_api, 2, KUBERNETES_EXEC_INFO=KUBECTL_INFO)
    assert tokens[0] == "fake-token-1"
    assert len(tokens) == 2  # the fifo replaced by a real record, or ignored: either way served
