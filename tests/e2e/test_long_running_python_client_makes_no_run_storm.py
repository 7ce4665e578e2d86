"""A long-running official Python client: one plugin run and one exchange per refresh, not a plugin
run before every request once its 5-minute rule fires (rgpu_exec.hotpath.second_ask).

The client runs the plugin once less than 5 minutes remain before the expiry it was told. With a
400 s token (told 370 s), that is 70 s after each exchange, while rgpu-exec's entry is still fresh
(until 340 s). Before, rgpu-exec answered the same token again, and the client ran the plugin
before every request until 340 s. Now its second ask gets a newer token: one exchange per 70 s.
Two lifetimes run on a virtual clock (`rgpu_emulator.long_client`: the client's rule, rgpu-exec
and the emulator all read it), a request per virtual second, in under a minute of real time.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from rgpu_exec.hotpath import token_cache

if TYPE_CHECKING:
    from emulator_support import Harness

pytestmark = pytest.mark.e2e

TTL = 400.0
CLIENT_MARGIN = 300.0  # the client's EXPIRY_SKEW_PREVENTION_DELAY
# The client runs the plugin this long after each exchange; rgpu-exec's entry is fresh till later.
PERIOD = TTL - token_cache.KUBECTL_EXPIRY_SLACK - CLIENT_MARGIN
FRESH = TTL - token_cache.refresh_margin(TTL)


@pytest.mark.xdist_group("timed")  # timed over two token lifetimes: never beside another timed test
def test_the_python_client_runs_the_plugin_once_per_refresh_over_two_lifetimes(
    emulator: Harness, sandbox
):
    assert PERIOD < FRESH, "the client asks while the entry is fresh: the case the rule ends"
    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)
    emulator.client.configure(token_ttl=TTL)
    argv = [sys.executable, "-m", "rgpu_emulator.long_client", "--ready-file",
            str(emulator.process.ready_file), "--namespace", "team-ml", "--namespace-id",
            team["id"], "--workdir", str(sandbox / "client"), "--lifetimes", "2", "--rate", "1"]  # fmt: skip
    env = {**os.environ, "REMOTEGPU_API_KEY": key["key"]}

    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=240, check=False)

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["virtual_seconds"] >= 2 * TTL
    assert result["requests"] > 2 * TTL / 2  # real time runs on too: less than one per second
    assert result["failed_requests"] == 0
    refreshes = math.ceil(2 * TTL / PERIOD)  # one exchange at the start, then one per period
    assert refreshes - 1 <= result["exchanges"] <= refreshes + 1, result
    # No run storm: every plugin run but the first gives the client a newer token.
    assert result["plugin_runs"] <= result["exchanges"] + 1, result
    assert emulator.exchanges() == result["exchanges"]
