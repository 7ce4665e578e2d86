"""Answers users can trust, against the emulator through the installed `rgpu-exec`: a wrong API
URL is said to be wrong (not a missing namespace), and a rejected key says why, which key, and
what to do for where that key came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator_support import RGPU_EXEC, Harness, run

pytestmark = pytest.mark.e2e

KUBECTL_EXEC_INFO = (
    '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",'
    '"spec":{"interactive":false}}\n'
)


def token(emulator: Harness, namespace_id: str, api_url: str, env: dict[str, str]):
    argv = [str(RGPU_EXEC), "token", "--namespace-id", namespace_id, "--api-url", api_url]
    return run(argv, env)


def test_a_wrong_api_url_is_said_to_be_wrong_not_a_missing_namespace(
    emulator: Harness, sandbox: Path
):
    team = emulator.namespace("team-diag")
    key = emulator.namespace_key(team)["key"]
    wrong = emulator.ready.api_url + "/v1"  # a common copy mistake

    by_hand = token(emulator, team["id"], wrong, emulator.plugin_env(key))
    by_kubectl = token(
        emulator,
        team["id"],
        wrong,
        emulator.plugin_env(
            key,
            KUBERNETES_EXEC_INFO=KUBECTL_EXEC_INFO,
            RGPU_EXEC_CACHE_DIR=str(sandbox / "other-cache"),  # not the damped first failure
        ),
    )
    generate = run(
        [str(RGPU_EXEC), "kubeconfig", "generate", "--namespace", "team-diag",
         "--namespace-id", team["id"], "--server", emulator.ready.kube_server,
         "--certificate-authority-data", emulator.ready.ca_data, "--api-url", wrong],
        emulator.plugin_env(key),
    )  # fmt: skip

    for result in (by_hand, by_kubectl, generate):
        assert result.returncode == 2, result.stderr
        assert f"{wrong} is not the RemoteGPU API: it answered HTTP 404" in result.stderr
        assert "does not exist" not in result.stderr
        assert "no /v1 or other path" in result.stderr
    assert "Check --api-url:" in by_hand.stderr
    assert "Check the --api-url in your kubeconfig's exec args:" in by_kubectl.stderr
    assert "verification failed, so nothing was written" in generate.stderr


def test_a_namespace_the_account_does_not_have_is_still_a_missing_namespace(emulator: Harness):
    team = emulator.namespace("team-present")
    key = emulator.namespace_key(team)["key"]
    absent = "0b7e9c2a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"

    result = token(emulator, absent, emulator.ready.api_url, emulator.plugin_env(key))

    assert result.returncode == 4
    assert f"namespace {absent} does not exist in the account of the API key" in result.stderr


def test_a_revoked_key_from_the_environment_says_so_and_that_the_variable_wins(
    emulator: Harness,
):
    team = emulator.namespace("team-revoked")
    created = emulator.namespace_key(team)
    emulator.client.revoke_key(created["id"])

    result = token(
        emulator, team["id"], emulator.ready.api_url, emulator.plugin_env(created["key"])
    )

    assert result.returncode == 3
    assert result.stderr.startswith(
        f"rgpu-exec: the RemoteGPU API rejected the API key {created['key'][:13]}…: the key has "
        "been revoked (revoked_api_key). "
    )
    assert "Missing, invalid" not in result.stderr  # the docs' generic words add nothing
    # The sandbox has no usable keyring (a CI runner's case): the variable is the way to give
    # a working key, and "unset it to use the keyring" would lead nowhere.
    assert "The key is from REMOTEGPU_API_KEY: create a key with Kubernetes access" in result.stderr
    assert "and give it to REMOTEGPU_API_KEY" in result.stderr
    assert "unset it to use the keyring" not in result.stderr
    assert "rgpu-exec login" not in result.stderr  # wrong advice while the variable is set
    assert created["key"][13:] not in result.stderr


def test_an_unknown_key_is_said_to_be_unknown(emulator: Harness):
    team = emulator.namespace("team-unknown")
    unknown = "rgpu_0badc0de_Q7wErTyUiOpAsDfGhJkLzXcVbNm12345"

    result = token(emulator, team["id"], emulator.ready.api_url, emulator.plugin_env(unknown))

    assert result.returncode == 3
    assert "rgpu_0badc0de…: no such key exists" in result.stderr
    assert "(invalid_api_key)." in result.stderr


def test_doctor_says_a_wrong_api_url_is_not_the_api_without_spending_the_key(
    emulator: Harness, sandbox: Path
):
    team = emulator.namespace("team-doctor-url")
    key = emulator.namespace_key(team)["key"]
    wrong = emulator.ready.api_url + "/v1"
    before = emulator.client.exchanges()

    bad = run(
        [str(RGPU_EXEC), "doctor", "--api-url", wrong, "--kubeconfig", str(sandbox / "none")],
        emulator.plugin_env(key),
    )
    good = run(
        [str(RGPU_EXEC), "doctor", "--api-url", emulator.ready.api_url,
         "--kubeconfig", str(sandbox / "none")],
        emulator.plugin_env(key),
    )  # fmt: skip

    assert bad.returncode == 6, bad.stdout
    assert f"{wrong} is not the RemoteGPU API" in bad.stdout
    assert "no /v1 or other path" in bad.stdout
    assert f"{emulator.ready.api_url} is the RemoteGPU API: it asked for a key" in good.stdout
    assert emulator.client.exchanges() == before  # the probe sends no key, so issues nothing
