"""`rgpu-exec whoami`: which key would be used now, from where, and the keyring's profiles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import API_KEY, CI_KEY, NAMESPACE_ID, CliRun, RunCli
from exchange_answers import Reply, error_body

# The API exchange's backoff waits on the test's clock, not in real time (conftest).
pytestmark = pytest.mark.usefixtures("waits_on_the_clock")


@pytest.fixture
def keyring_file(keyring_file: Path) -> Path:
    """The shared file-backed keyring, holding CI_KEY for profile `ci`."""
    keyring_file.write_text(json.dumps({"rgpu-exec/ci": CI_KEY}))
    return keyring_file


def whoami(run_cli: RunCli, *args: str, **env: str) -> CliRun:
    return run_cli(["whoami", *args], env=env)


def as_json(result: CliRun) -> dict[str, Any]:
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    return document


def write_context(path: Path, *args: str, env: list[dict[str, str]] | None = None) -> None:
    exec_: dict[str, Any] = {
        "command": "rgpu-exec",
        "args": ["token", "--namespace-id", NAMESPACE_ID, *args],
    }
    if env is not None:
        exec_["env"] = env
    path.write_text(
        json.dumps(
            {
                "current-context": "rgpu-team-ml",
                "contexts": [
                    {
                        "name": "rgpu-team-ml",
                        "context": {"cluster": "c", "user": "u", "namespace": "team-ml"},
                    },
                    {"name": "other", "context": {"cluster": "c", "user": "plain"}},
                ],
                "users": [
                    {"name": "u", "user": {"exec": exec_}},
                    {"name": "plain", "user": {"token": "static"}},
                ],
            }
        )
    )


def test_whoami_names_the_environment_key_by_prefix_only(run_cli, keyring_file):
    result = whoami(run_cli, REMOTEGPU_API_KEY=API_KEY)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "key      rgpu_3f9a2c1b… from REMOTEGPU_API_KEY"
    assert lines[1].startswith("valid    not verified: cannot reach the RemoteGPU API")
    assert lines[2] == "profile  default (the default)"
    assert API_KEY not in result.stdout + result.stderr


def test_whoami_asks_the_api_whether_the_key_is_valid_unless_offline(
    run_cli, keyring_file, fake_api
):
    env = {"REMOTEGPU_API_KEY": API_KEY, "REMOTEGPU_API_URL": fake_api.url}
    valid = whoami(run_cli, "-o", "json", **env)
    fake_api.default = Reply(
        401, error_body("revoked_api_key", "Missing, invalid, revoked, or expired API key")
    )
    revoked = whoami(run_cli, **env)
    offline = whoami(run_cli, "--offline", **env)

    assert valid.returncode == 0, valid.stderr
    assert as_json(valid)["valid"] == "valid"
    assert revoked.returncode == 3
    assert (
        "valid    REJECTED: the RemoteGPU API rejected the API key rgpu_3f9a2c1b…: the key has been revoked"
        in revoked.stdout
    )
    assert offline.returncode == 0
    assert "valid    not asked (--offline)" in offline.stdout
    # One exchange each, for a namespace no account has: no token was ever issued to whoami.
    assert [r["path"] for r in fake_api.requests] == [
        "/v1/kubernetes/namespaces/00000000-0000-0000-0000-000000000000/exec-credential"
    ] * 2


def test_whoami_with_a_profile_shows_that_profiles_key_even_with_an_env_key(run_cli, keyring_file):
    result = whoami(run_cli, "--profile", "ci", "-o", "json", REMOTEGPU_API_KEY=API_KEY)

    assert result.returncode == 0, result.stderr
    document = as_json(result)
    assert document["key"] == {"prefix": "rgpu_0c1d2e3f", "source": "keyring", "profile": "ci"}
    assert (document["profile"], document["profile_source"]) == ("ci", "--profile")
    assert CI_KEY not in result.stdout


def test_whoami_follows_the_current_context_its_profile_and_its_exec_env(
    run_cli, keyring_file, sandbox
):
    write_context(sandbox / "kubeconfig", "--profile", "ci", "--api-url", "https://api.test")
    by_profile = whoami(run_cli, REMOTEGPU_API_KEY=API_KEY)
    write_context(sandbox / "kubeconfig", env=[{"name": "REMOTEGPU_API_KEY", "value": API_KEY}])
    by_env = whoami(run_cli, "--context", "rgpu-team-ml", "-o", "json")

    assert by_profile.returncode == 0, by_profile.stderr
    assert "key      rgpu_0c1d2e3f… from keyring profile 'ci'" in by_profile.stdout
    assert "profile  ci (--profile in the exec args of context 'rgpu-team-ml')" in by_profile.stdout
    assert (
        "context  rgpu-team-ml (the current context), tokens for namespace team-ml "
        f"({NAMESPACE_ID[:8]}…)"
    ) in by_profile.stdout
    assert "API URL  https://api.test" in by_profile.stdout
    document = as_json(by_env)
    assert document["key"]["source"] == "env"
    assert (document["context"], document["namespace_id"]) == ("rgpu-team-ml", NAMESPACE_ID)


def test_whoami_says_when_no_key_would_be_found_and_exits_3(run_cli, keyring_file):
    result = whoami(run_cli, "-o", "json")

    assert result.returncode == 3
    document = as_json(result)
    assert document["key"] is None
    assert "no RemoteGPU API key found (profile 'default')" in document["problem"]


def test_whoami_says_when_the_backend_cannot_list_its_profiles(run_cli, keyring_file):
    result = whoami(run_cli, "--profile", "ci")

    (line,) = [line for line in result.stdout.splitlines() if line.startswith("keyring")]
    assert "cannot list its profiles" in line
    assert as_json(whoami(run_cli, "-o", "json", "--profile", "ci"))["keyring"]["profiles"] is None


def test_whoami_of_a_context_that_does_not_run_rgpu_exec_is_a_usage_error(
    run_cli, keyring_file, sandbox
):
    write_context(sandbox / "kubeconfig")

    plain = whoami(run_cli, "--context", "other")
    missing = whoami(run_cli, "--context", "nope")
    both = whoami(run_cli, "--context", "other", "--profile", "ci")

    assert plain.returncode == missing.returncode == both.returncode == 2
    assert "context 'other' does not run rgpu-exec" in plain.stderr
    assert "context 'nope' is not in the kubeconfig" in missing.stderr
    assert "not allowed with argument" in both.stderr


def test_whoami_refuses_a_malformed_env_key_without_showing_it(run_cli, keyring_file):
    value = f"'{API_KEY}'"

    result = whoami(run_cli, REMOTEGPU_API_KEY=value)

    assert result.returncode == 2
    assert "REMOTEGPU_API_KEY (rgpu_3f9a2c1b…) is wrapped in quotes" in result.stdout
    assert API_KEY not in result.stdout + result.stderr


def test_without_a_usable_keyring_it_says_so_not_that_profiles_cannot_be_listed(run_cli):
    # The fail backend: what keyring picks with no Secret Service, KWallet or other store.
    no_keyring = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    result = whoami(run_cli, **no_keyring, REMOTEGPU_API_KEY=API_KEY)
    document = as_json(whoami(run_cli, "-o", "json", **no_keyring, REMOTEGPU_API_KEY=API_KEY))

    assert result.returncode == 0, result.stderr
    keyring_line = next(line for line in result.stdout.splitlines() if line.startswith("keyring"))
    assert "none usable: no keyring backend is usable on this machine" in keyring_line
    assert "cannot list" not in keyring_line
    assert document["keyring"]["usable"] is False
    assert document["keyring"]["problem"].startswith("no keyring backend is usable")


def test_whoami_names_no_backend_where_no_keyring_can_hold_a_key(run_cli):
    # The sandbox's backend is keyring.backends.fail: it holds nothing, and has no name to show.
    document = as_json(whoami(run_cli, "--offline", "-o", "json", REMOTEGPU_API_KEY=API_KEY))

    assert document["keyring"]["backend"] == "none"
    assert document["keyring"]["usable"] is False
    assert "no keyring backend is usable" in document["keyring"]["problem"]
