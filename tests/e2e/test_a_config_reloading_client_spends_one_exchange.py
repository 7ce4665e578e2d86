"""Programs built on the official Python client often load their kubeconfig again (per task,
per notebook cell): each load runs the plugin at once, from the same process. That is not the
cluster rejecting the token: rgpu-exec asks the cluster (named in the exec info, as
`provideClusterInfo: true` hands it over) before replacing it. One exchange serves every load;
a token the cluster does reject is still replaced (healing)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from rgpu_exec.hotpath import second_ask

if TYPE_CHECKING:
    from pathlib import Path

    from emulator_support import Harness

pytestmark = pytest.mark.e2e

CLIENT = r"""
import sys, time
from kubernetes import client, config
loads, kubeconfig, flag = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ok = failed = 0
for i in range(loads):
    if i == 6:
        open(flag, "w").close()  # the test invalidates the tokens now
        while open(flag).read() != "done":
            time.sleep(0.05)
    config.load_kube_config(config_file=kubeconfig)
    try:
        client.CoreV1Api().list_namespaced_pod("team-ml")
        ok += 1
    except Exception:
        failed += 1
    time.sleep(1.0)
print(ok, failed)
"""


def test_reloading_the_kubeconfig_spends_one_exchange_and_still_heals(
    emulator: Harness, sandbox: Path
):
    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)["key"]
    kubeconfig = emulator.kubeconfig(team, path=sandbox / "reloaded-kubeconfig")
    flag = sandbox / "flag"
    env = {**os.environ, "REMOTEGPU_API_KEY": key}
    env.pop("KUBERNETES_EXEC_INFO", None)
    loads = 6 + 15  # then 15 s of loads after the invalidation: past the cluster's 10 s yes

    process = subprocess.Popen(
        [sys.executable, "-c", CLIENT, str(loads), str(kubeconfig), str(flag)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    while not flag.exists():  # its six loads, a second apart: not worth a spinning core
        assert process.poll() is None, "the client stopped early"
        time.sleep(0.05)
    before = emulator.exchanges()
    assert emulator.client.invalidate_tokens(namespace_id=team["id"]) == 1
    flag.write_text("done")
    out, _ = process.communicate(timeout=120)

    assert before == 1, "six loads of the kubeconfig, one exchange"
    ok, failed = map(int, out.split())
    assert ok + failed == loads
    # After the invalidation the rejected token is replaced (one more exchange), at the latest
    # once the cluster's last "it accepts this token" is 10 s old (`second_ask.ACCEPTED_WINDOW`):
    # the loads within those 10 s may fail, and no more.
    assert emulator.exchanges() == 2, emulator.client.stats()
    assert failed <= second_ask.ACCEPTED_WINDOW + 1
