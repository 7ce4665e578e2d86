"""`rgpu-exec token` as kubectl runs it: in process (`run_cli`) against the fake API (respx), and
as the installed launcher against the emulator where processes are the point (a herd, a reader
gone)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conftest import API_KEY, NAMESPACE_ID, Clock, Ran, RunCli
from exchange_answers import FakeApi, Reply, error_body

if TYPE_CHECKING:
    from emulator_support import Exchange

# As kubectl sends it: its JSON encoder ends the value with a newline.
V1_INFO = '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}\n'
V1BETA1_INFO = V1_INFO.replace("/v1", "/v1beta1")


def credential(result: Ran) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "stderr must stay silent on success"
    decoded = json.loads(result.stdout)
    assert isinstance(decoded, dict)
    return decoded


def test_cold_then_hit_makes_one_request(run_token_in_process, fake_api: FakeApi) -> None:
    first = credential(run_token_in_process(env={"KUBERNETES_EXEC_INFO": V1_INFO}))
    second = credential(run_token_in_process(env={"KUBERNETES_EXEC_INFO": V1_INFO}))

    assert fake_api.count == 1
    assert first == second
    assert first["apiVersion"] == "client.authentication.k8s.io/v1"
    assert first["kind"] == "ExecCredential"
    status = first["status"]
    assert isinstance(status, dict)
    assert status["token"] == "fake-token-1"
    # kubectl is told a little less than the 15 minutes the fake grants.
    expiry = datetime.strptime(status["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    remaining = expiry.replace(tzinfo=timezone.utc).timestamp() - time.time()
    assert 800 < remaining < 900
    request = fake_api.requests[0]
    assert request["path"] == f"/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"
    assert request["headers"]["x-api-key"] == API_KEY


@pytest.mark.parametrize(
    ("exec_info", "expected"),
    [
        pytest.param(V1_INFO, "client.authentication.k8s.io/v1", id="v1"),
        pytest.param(V1BETA1_INFO, "client.authentication.k8s.io/v1beta1", id="v1beta1"),
        pytest.param(None, "client.authentication.k8s.io/v1", id="unset"),
        pytest.param(
            '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1",'
            '"spec":{"interactive":false,"cluster":{"server":"https://k.example","config":null}}}',
            "client.authentication.k8s.io/v1beta1",
            id="v1beta1-with-cluster-info",
        ),
    ],
)
def test_answers_in_the_requested_version_on_miss_and_hit(
    run_token_in_process, exec_info, expected
) -> None:
    env = {"KUBERNETES_EXEC_INFO": exec_info} if exec_info else {}
    for _ in range(2):  # the miss (full path), then the hit (fast path)
        assert credential(run_token_in_process(env=env))["apiVersion"] == expected


@pytest.mark.parametrize(
    "exec_info",
    [
        pytest.param("{not json", id="malformed"),
        pytest.param(V1_INFO.replace("/v1", "/v1alpha1"), id="v1alpha1"),
        pytest.param('{"apiVersion":"client.authentication.k8s.io/v1","kind":"Pod"}', id="kind"),
    ],
)
def test_bad_exec_info_is_a_usage_error(run_token_in_process, fake_api: FakeApi, exec_info) -> None:
    result = run_token_in_process(env={"KUBERNETES_EXEC_INFO": exec_info})
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("rgpu-exec: KUBERNETES_EXEC_INFO")
    assert fake_api.count == 0


def test_sixteen_concurrent_cold_processes_make_one_request(
    run_token, emulated_exchange: Exchange
) -> None:
    # hold the exchange open while the others queue
    emulated_exchange.harness.client.add_fault(target="exchange", delay=0.5, count=None)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: run_token(), range(16)))
    tokens = {credential(r)["status"]["token"] for r in results}  # type: ignore[index]
    assert emulated_exchange.count == 1
    (token,) = tokens
    assert emulated_exchange.issued(str(token))


@pytest.mark.parametrize(
    ("reply", "exit_code", "words"),
    [
        pytest.param(
            Reply(
                401, error_body("revoked_api_key", "Missing, invalid, revoked, or expired API key")
            ),
            3,
            # The sandbox has no usable keyring: the variable is the way to give a new key.
            ["has been revoked (revoked_api_key)", "rgpu_3f9a2c1b", "give it to REMOTEGPU_API_KEY"],
            id="revoked-key",
        ),
        pytest.param(
            Reply(403, error_body("forbidden", "Key scope does not cover this namespace")),
            4,
            [NAMESPACE_ID, "rgpu_3f9a2c1b", "forbidden"],
            id="denied-namespace",
        ),
        pytest.param(
            Reply(404, error_body("namespace_not_found", "Namespace not found")),
            4,
            [NAMESPACE_ID, "does not exist", "(namespace_not_found)"],
            id="unknown-namespace",
        ),
    ],
)
def test_kubectl_reruns_of_a_failing_call_reach_the_api_once(
    run_token_in_process, fake_api: FakeApi, reply: Reply, exit_code: int, words: list[str]
) -> None:
    fake_api.default = reply
    results = [
        run_token_in_process() for _ in range(6)
    ]  # kubectl reruns a failing plugin 5-6 times

    assert fake_api.count == 1
    for result in results:
        assert result.returncode == exit_code
        assert result.stdout == ""
        assert result.stderr.startswith("rgpu-exec: ")
        assert API_KEY not in result.stderr
        assert "not found" not in result.stderr.lower(), "the API's generic words are not echoed"
        assert "Missing, invalid" not in result.stderr
    for word in words:
        assert word in results[0].stderr
    first = results[0].stderr.rstrip("\n")
    sentence = first[: first.find(". ") + 1] if ". " in first else first
    for rerun in results[1:]:
        # Told in full once; each rerun is one line naming it by its first sentence.
        assert rerun.stderr.count("\n") == 1, rerun.stderr
        assert rerun.stderr.startswith(sentence[:159] + (" [" if len(sentence) <= 160 else "…"))
        assert "same failure as " in rerun.stderr
        assert "rgpu-exec cache clear" in rerun.stderr


def test_no_key_names_both_ways_to_supply_one(
    run_token_in_process, fake_api: FakeApi, keyring_file
) -> None:
    result = run_token_in_process(key=None)  # a usable (file) keyring, holding no key
    assert result.returncode == 3
    assert "REMOTEGPU_API_KEY" in result.stderr
    assert "rgpu-exec login" in result.stderr
    assert fake_api.count == 0


def test_no_key_without_a_keyring_says_so_and_an_empty_variable_is_named(
    run_token_in_process, fake_api: FakeApi
) -> None:
    result = run_token_in_process(
        key="   "
    )  # an empty CI secret; the test keyring cannot keep keys

    assert result.returncode == 3
    assert "REMOTEGPU_API_KEY is set but empty" in result.stderr
    assert "No keyring can keep a key here" in result.stderr
    # Plain `rgpu-exec login` cannot help without a keyring; the key file can.
    assert "`rgpu-exec login --insecure-storage`" in result.stderr
    assert "`rgpu-exec login`" not in result.stderr
    assert fake_api.count == 0


def test_api_down_is_exit_5_within_the_deadline(
    run_token_in_process, fake_api: FakeApi, waits_on_the_clock: Clock
) -> None:
    # The retries wait on the test's clock: the default deadline (20 s) costs no real time.
    fake_api.default = Reply(503, b"<html>upstream unavailable</html>")
    started = time.monotonic()
    result = run_token_in_process()
    elapsed = time.monotonic() - started

    assert result.returncode == 5
    assert "HTTP 503" in result.stderr
    assert "upstream unavailable" in result.stderr
    assert fake_api.count > 1, "5xx is retried"
    assert elapsed < 30
    assert "within 20 s" in result.stderr, "retried until the default deadline"
    assert waits_on_the_clock.monotonic() <= 20.0, "and not past it"
    # The rerun within the damping window fails fast, without asking again.
    count = fake_api.count
    assert run_token_in_process().returncode == 5
    assert fake_api.count == count


def test_connection_refused_is_exit_5(run_cli: RunCli) -> None:
    # The default deadline (20 s): no connection at all is not worth waiting for, so only a
    # quick retry or two (tests/process/test_bounded_waits.py has the rest of that policy).
    env = {"REMOTEGPU_API_KEY": API_KEY}
    started = time.monotonic()
    result = run_cli(
        ["token", "--namespace-id", NAMESPACE_ID, "--api-url", "http://127.0.0.1:9"], env=env
    )
    assert result.returncode == 5
    assert "cannot reach the RemoteGPU API at http://127.0.0.1:9" in result.stderr
    assert "attempt(s) in " in result.stderr, "not the whole deadline"
    assert time.monotonic() - started < 3


def test_plain_http_to_a_remote_host_is_refused_before_any_network(run_cli: RunCli) -> None:
    env = {"REMOTEGPU_API_KEY": API_KEY, "REMOTEGPU_API_URL": "http://api.remotegpu.ai"}
    result = run_cli(["token", "--namespace-id", NAMESPACE_ID], env=env)
    assert result.returncode == 2
    assert "plain http" in result.stderr
    assert API_KEY not in result.stderr


def test_cache_entry_is_private_and_never_holds_the_key(
    run_token_in_process, sandbox: Path
) -> None:
    credential(run_token_in_process())
    cache = sandbox / "cache"
    assert cache.stat().st_mode & 0o777 == 0o700
    entries = list(cache.glob("*.token"))
    assert len(entries) == 1
    assert entries[0].stat().st_mode & 0o777 == 0o600
    for path in cache.iterdir():
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes()


def test_a_different_key_never_gets_another_identitys_token(
    run_token_in_process, fake_api: FakeApi
) -> None:
    first = credential(run_token_in_process())
    other = credential(run_token_in_process(key="rgpu_0badc0de_AnotherKeyAnotherKeyAnotherKey12"))
    assert first["status"] != other["status"]
    assert fake_api.count == 2
    assert fake_api.requests[1]["headers"]["x-api-key"].startswith("rgpu_0badc0de_")


def test_kubectl_rgpu_entry_point_runs_the_same_command(run_cli, fake_api: FakeApi) -> None:
    env = {"REMOTEGPU_API_KEY": API_KEY}
    argv = ["token", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url]
    via_plugin = run_cli(argv, env=env, program="kubectl-rgpu")
    via_launcher = run_cli(argv, env=env)
    assert json.loads(via_plugin.stdout) == json.loads(via_launcher.stdout)
    assert fake_api.count == 1


def test_upper_case_namespace_ids_share_the_lower_case_entry(
    run_token_in_process, run_cli, fake_api
) -> None:
    credential(run_token_in_process())
    env = {"REMOTEGPU_API_KEY": API_KEY}
    argv = ["token", "--namespace-id", NAMESPACE_ID.upper(), "--api-url", fake_api.url]
    upper = run_cli(argv, env=env)
    assert credential(upper)["status"]["token"] == "fake-token-1"  # type: ignore[index]
    assert fake_api.count == 1


def test_debug_log_says_how_it_answered_and_never_shows_the_key(
    run_token_in_process, fake_api
) -> None:
    cold = run_token_in_process(env={"RGPU_EXEC_LOG": "debug"})
    hit = run_token_in_process(env={"RGPU_EXEC_LOG": "debug"})
    assert cold.returncode == hit.returncode == 0
    assert "exchanging the key from env (rgpu_3f9a2c1b…)" in cold.stderr
    assert "caching it" in cold.stderr
    assert "answered with a cached token" in hit.stderr
    for result in (cold, hit):
        assert API_KEY not in result.stderr
        assert "fake-token" not in result.stderr


def test_the_namespace_name_in_the_exec_args_labels_the_namespace_in_messages(
    run_token_in_process, fake_api: FakeApi
) -> None:
    fake_api.default = Reply(403, error_body("forbidden", "Its scope is inference-only"))

    result = run_token_in_process("--namespace", "team-ml")

    assert result.returncode == 4
    assert f"for namespace team-ml ({NAMESPACE_ID[:8]}…) (forbidden: " in result.stderr


def test_the_namespace_name_changes_no_cache_entry_and_a_bad_one_is_refused(
    run_token_in_process, fake_api: FakeApi
) -> None:
    first = run_token_in_process("--namespace", "team-ml", env={"KUBERNETES_EXEC_INFO": V1_INFO})
    renamed = run_token_in_process("--namespace", "ml-team", env={"KUBERNETES_EXEC_INFO": V1_INFO})
    bad = run_token_in_process("--namespace", "Team ML\x1b[31m")

    assert first.returncode == renamed.returncode == 0, renamed.stderr
    assert fake_api.count == 1  # the ID decides: the second run is a cache hit
    assert bad.returncode == 2
    assert (
        "--namespace is not a namespace name (the value, not shown, has upper-case letters, "
        "spaces, control characters, other characters)" in bad.stderr
    )
    assert "Team ML" not in bad.stderr
    assert fake_api.count == 1


@pytest.mark.parametrize("path", ["cache-hit", "full-command"])
def test_a_reader_that_went_away_gets_no_traceback(
    rgpu_exec_bin, run_token, emulated_exchange: Exchange, path: str
) -> None:
    assert run_token(env={"KUBERNETES_EXEC_INFO": V1_INFO}).returncode == 0  # cached now
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written: EPIPE
    argv = [rgpu_exec_bin, *emulated_exchange.args()]
    env = emulated_exchange.env()
    if path == "cache-hit":
        env["KUBERNETES_EXEC_INFO"] = V1_INFO
    try:
        result = subprocess.run(
            argv, stdout=write_end, stderr=subprocess.PIPE, text=True, env=env, timeout=60,
            check=False,
        )  # fmt: skip
    finally:
        os.close(write_end)

    assert result.returncode == 141
    assert "Traceback" not in result.stderr
    assert result.stderr == ""
