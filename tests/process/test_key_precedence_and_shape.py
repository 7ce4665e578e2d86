"""Which key is used, and what a key must look like, through the installed commands.

A `--profile` given as a flag (on the command line, or in a kubeconfig's exec args) beats
`REMOTEGPU_API_KEY`; without it the environment wins. A key from the environment must have the
key's shape, and a message says what is wrong with it without showing it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rgpu_exec.hotpath import request, token_cache

from conftest import API_KEY, CI_KEY, NAMESPACE_ID, CliRun, RunCli, team_ml_kubeconfig
from emulator_support import RGPU_EXEC
from exchange_answers import Reply, error_body

if TYPE_CHECKING:
    from exchange_answers import FakeApi


@pytest.fixture
def keyring_file(keyring_file: Path) -> Path:
    """The shared file-backed keyring, holding CI_KEY for profile `ci`."""
    keyring_file.write_text(json.dumps({"rgpu-exec/ci": CI_KEY}))
    return keyring_file


def run(run_cli: RunCli, *args: str, key: str | None = API_KEY, **env: str):
    """`rgpu-exec args…` with `key` in REMOTEGPU_API_KEY (unless None) and these variables."""
    return run_cli([*args], env={**env, **({} if key is None else {"REMOTEGPU_API_KEY": key})})


def sent_keys(fake: FakeApi) -> list[str]:
    return [r["headers"]["x-api-key"] for r in fake.requests]


def kubeconfig_with_profile(path: Path, api_url: str, profile: str | None) -> None:
    args = ["token", "--namespace-id", NAMESPACE_ID, "--api-url", api_url]
    if profile:
        args += ["--profile", profile]
    team_ml_kubeconfig(path, args)


def test_the_cache_identity_of_an_explicit_profile_is_the_profiles_even_with_an_env_key():
    env = {"REMOTEGPU_API_KEY": API_KEY}

    explicit = request.resolve(NAMESPACE_ID, None, "ci", env)
    implicit = request.resolve(NAMESPACE_ID, None, None, {**env, "RGPU_EXEC_PROFILE": "ci"})

    assert not isinstance(explicit, str)
    assert not isinstance(implicit, str)
    assert explicit.cache_key.identity == token_cache.profile_identity("ci")
    # A key's fingerprint is keyed with the user's secret, which names the entry once given.
    assert implicit.needs_secret
    assert not explicit.needs_secret
    implicit.use_secret(secret := bytes(range(32)))
    assert implicit.cache_key.identity == token_cache.key_identity(API_KEY, secret)


def test_token_with_an_explicit_profile_sends_the_profiles_key_not_the_env_key(
    run_cli, keyring_file, fake_api
):
    argv = ["token", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url, "--profile", "ci"]

    first = run(run_cli, *argv)
    again = run(run_cli, *argv)

    assert first.returncode == 0, first.stderr
    assert sent_keys(fake_api) == [CI_KEY]  # once: the second answer came from the cache
    assert again.stdout == first.stdout


def test_check_with_an_explicit_profile_uses_the_keyring_key_and_says_so(
    run_cli, keyring_file, fake_api
):
    result = run(run_cli, "check", "--api-url", fake_api.url, "--profile", "ci",
        "--namespace-id", NAMESPACE_ID,
    )  # fmt: skip
    without = run(run_cli, "check", "--api-url", fake_api.url, "--namespace-id", NAMESPACE_ID)

    assert result.returncode == 0, result.stderr
    assert sent_keys(fake_api) == [CI_KEY, API_KEY]
    assert result.stdout.startswith(
        f"API key rgpu_0c1d2e3f… from keyring profile 'ci', against {fake_api.url}"
    )
    assert without.stdout.startswith("API key rgpu_3f9a2c1b… from REMOTEGPU_API_KEY, against")
    assert CI_KEY not in result.stdout + result.stderr


def test_check_of_a_context_written_with_a_profile_uses_that_profiles_key(
    run_cli, keyring_file, fake_api, sandbox
):
    kubeconfig_with_profile(sandbox / "kubeconfig", fake_api.url, "ci")

    result = run(run_cli, "check", "--context", "rgpu-team-ml", "-o", "json")

    assert result.returncode == 0, result.stderr
    assert sent_keys(fake_api) == [CI_KEY]
    document = json.loads(result.stdout)
    assert (document["key_prefix"], document["key_source"], document["profile"]) == (
        "rgpu_0c1d2e3f",
        "keyring",
        "ci",
    )


def test_an_explicit_profile_without_a_key_says_the_env_key_was_not_used(
    run_cli, keyring_file, fake_api
):
    result = run(run_cli, "check", "--api-url", fake_api.url, "--profile", "staging",
        "--namespace-id", NAMESPACE_ID,
    )  # fmt: skip

    assert result.returncode == 3
    assert "no API key in the keyring for profile 'staging'" in result.stderr
    assert "REMOTEGPU_API_KEY is set, but --profile staging takes precedence" in result.stderr
    assert fake_api.count == 0


def test_doctor_names_the_source_of_the_key_it_would_use(run_cli, keyring_file, fake_api, sandbox):
    doctor = ["doctor", "--api-url", fake_api.url, "-o", "json"]
    path = str(sandbox)  # no kubectl: it has no say in where the key comes from
    by_env = run(run_cli, *doctor, PATH=path)
    by_profile = run(run_cli, *doctor, "--profile", "ci", PATH=path)

    def key_details(result: CliRun) -> list[str]:
        findings = json.loads(result.stdout)["findings"]
        return [f["detail"] for f in findings if f["topic"] == "API key"]

    assert key_details(by_env)[0] == "key rgpu_3f9a2c1b… from REMOTEGPU_API_KEY"
    wanted = (
        "key rgpu_0c1d2e3f… from keyring profile 'ci' (--profile wins over REMOTEGPU_API_KEY, "
        "which is set too)"
    )
    # Then the API's verdict on that very key (asked for a namespace no account has).
    judged = "key rgpu_0c1d2e3f… (from keyring profile 'ci'): the API accepts it"
    assert key_details(by_profile) == [wanted, judged]


def test_doctors_access_check_uses_the_profile_in_the_contexts_exec_args(
    run_cli, keyring_file, fake_api, sandbox
):
    kubeconfig_with_profile(sandbox / "kubeconfig", fake_api.url, "ci")
    bin_dir = sandbox / "bin"  # rgpu-exec and no kubectl: the doctor asks the API itself
    bin_dir.mkdir()
    (bin_dir / "rgpu-exec").symlink_to(RGPU_EXEC)

    result = run(run_cli, "doctor", "-o", "json", PATH=str(bin_dir))

    (access,) = [f for f in json.loads(result.stdout)["findings"] if f["topic"] == "access"]
    assert access["status"] == "ok", access
    assert (
        "the key rgpu_0c1d2e3f… (from keyring profile 'ci') may use namespace team-ml"
        in (access["detail"])
    )
    assert CI_KEY in sent_keys(fake_api)
    assert API_KEY not in sent_keys(fake_api)


def test_generate_with_a_profile_verifies_with_the_key_kubectl_will_use(
    run_cli, keyring_file, fake_api
):
    result = run(run_cli, "kubeconfig", "generate", "--namespace", "team-ml",
        "--namespace-id", NAMESPACE_ID, "--server", "https://k8s.example",
        "--api-url", fake_api.url, "--profile", "ci",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert sent_keys(fake_api) == [CI_KEY]
    assert (
        f"the key rgpu_0c1d2e3f… (from keyring profile 'ci') may get tokens for namespace ID "
        f"{NAMESPACE_ID}" in result.stdout
    )


@pytest.mark.parametrize(
    ("value", "words", "prefix_shown"),
    [
        pytest.param(f"'{API_KEY}'", "is wrapped in quotes", True, id="single-quotes"),
        pytest.param(f'"{API_KEY}"', "is wrapped in quotes", True, id="double-quotes"),
        pytest.param(API_KEY[:20] + " " + API_KEY[21:], "contains spaces", False, id="space"),
        pytest.param(
            f"REMOTEGPU_API_KEY={API_KEY}",
            "starts with REMOTEGPU_API_KEY= (a whole NAME=value",
            False,
            id="assignment",
        ),
        pytest.param(
            f"RGPU_KEY={API_KEY}", "starts with a variable's name and =", False, id="other-name"
        ),
    ],
)
def test_an_env_value_that_cannot_be_a_key_is_refused_with_what_is_wrong_and_never_sent(
    run_cli, fake_api, value, words, prefix_shown
):
    token = run(
        run_cli, "token", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url, key=value
    )
    check = run(run_cli, "check", "--api-url", fake_api.url, "--namespace-id", NAMESPACE_ID,
                key=value)  # fmt: skip

    for result in (token, check):
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("rgpu-exec: REMOTEGPU_API_KEY")
        assert words in result.stderr
        assert ("rgpu_3f9a2c1b…" in result.stderr) is prefix_shown
        assert value not in result.stderr
        assert value[14:30] not in result.stderr  # no piece of the secret part either
    assert fake_api.count == 0


@pytest.mark.parametrize(
    ("value", "words"),
    [
        pytest.param(API_KEY[:30], "it has 30 characters, not 46", id="cut-short"),
        pytest.param(API_KEY + "x" * 9, "it has 55 characters, not 46", id="longer"),
        pytest.param(
            "sk-live-0123456789abcdef0123456789abcdef", "does not start with 'rgpu_'", id="vendor"
        ),
        pytest.param(API_KEY[:-1] + "+", "it is not rgpu_, 8 hex", id="not-url-safe"),
    ],
)
def test_a_key_of_another_shape_is_sent_and_the_api_decides(run_cli, fake_api, value, words):
    # The documented key shape is an assumption: a key of another shape is sent, never refused
    # locally (real keys may differ); only when the API rejects it does the diagnosis say so.
    accepted = run(
        run_cli, "token", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url, key=value
    )
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stderr == ""
    fake_api.default = Reply(
        401, error_body("invalid_api_key", "Missing, invalid, revoked, or expired API key")
    )
    rejected = run(run_cli, "check", "--api-url", fake_api.url, "--namespace-id", NAMESPACE_ID,
                   key=value)  # fmt: skip
    assert rejected.returncode == 3, rejected.stderr
    assert "does not have the usual shape of a RemoteGPU API key" in rejected.stderr
    assert words in rejected.stderr
    assert value not in rejected.stderr
    assert sent_keys(fake_api) == [value, value]
