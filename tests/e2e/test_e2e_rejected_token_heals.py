"""Real kubectl: a token the cluster rejects before its expiry is replaced at kubectl's second ask,
with one exchange (every version found), and no storm when the cluster rejects every token (the
newest).

client-go runs the plugin again in the same process after a 401, and still returns that 401: the
command that meets the rejection fails. rgpu-exec sees the same kubectl ask again for the fresh
token it was given (rgpu_exec.hotpath.second_ask), exchanges and caches a new one; the next
command succeeds from the cache. The emulator rejects tokens on request
(`/_emulator/tokens/invalidate`), without moving any clock.
"""

from __future__ import annotations

import pytest

from emulator_support import Harness, Kubectl, run

pytestmark = pytest.mark.e2e

HIT = "rgpu-exec: DEBUG: rgpu_exec.hotpath.cache_hit: answered with a cached token"
FORCED = "the same client asks again for the fresh token it was given"
UNAUTHORIZED = "(Unauthorized)"


def test_after_a_server_side_invalidation_one_exchange_heals_the_cache(
    emulator: Harness, kubectl: Kubectl
):
    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)
    emulator.kubeconfig(team)
    env = emulator.plugin_env(key["key"], RGPU_EXEC_LOG="debug")
    argv = [kubectl.path, "get", "pods"]
    assert run(argv, env).returncode == 0
    assert emulator.exchanges() == 1

    assert emulator.client.invalidate_tokens(namespace_id=team["id"]) == 1
    rejected = run(argv, env)
    assert rejected.returncode == 1
    assert UNAUTHORIZED in rejected.stderr
    # kubectl ran the plugin twice: a hit, then the second ask, which exchanged.
    assert rejected.stderr.count(HIT) == 1, rejected.stderr
    assert FORCED in rejected.stderr
    assert emulator.exchanges() == 2

    healed = run(argv, env)
    assert healed.returncode == 0, healed.stderr
    assert healed.stderr.count(HIT) == 1
    again = run(argv, env)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count(HIT) == 1, "a cache hit again"
    assert emulator.exchanges() == 2


def test_a_cluster_that_rejects_every_token_causes_no_exchange_storm(
    emulator: Harness, newest_kubectl: Kubectl
):
    kubectl = newest_kubectl  # the second ask of every version: the test above
    team = emulator.namespace("team-ml")
    key = emulator.namespace_key(team)
    emulator.kubeconfig(team)
    env = emulator.plugin_env(key["key"], RGPU_EXEC_LOG="debug")
    argv = [kubectl.path, "get", "pods"]
    assert run(argv, env).returncode == 0

    for _ in range(4):  # seconds apart, well inside second_ask.FORCE_WINDOW
        emulator.client.invalidate_tokens()
        rejected = run(argv, env)
        assert rejected.returncode == 1
        assert UNAUTHORIZED in rejected.stderr
    # One forced exchange for the whole window; every other ask got the cached token.
    assert emulator.exchanges() == 2
