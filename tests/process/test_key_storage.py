"""Where a key is kept when there is no keyring: the key file of `login --insecure-storage`
(used by `token` after the environment and the keyring, shown by `whoami`, removed by `logout`,
refused when others can read it), and one rule for a plaintext keyring backend."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from conftest import API_KEY, NAMESPACE_ID, TESTS

# The API exchange's backoff waits on the test's clock, not in real time (conftest).
pytestmark = pytest.mark.usefixtures("waits_on_the_clock")


@pytest.fixture
def key_file(sandbox: Path) -> Path:
    return sandbox / "home" / ".config" / "rgpu-exec" / "api-keys"


def test_insecure_storage_is_used_by_token_shown_by_whoami_and_removed_by_logout(
    run_cli, fake_api, key_file
):
    token = ["token", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url]
    refused = run_cli(["login", "--no-verify"], stdin=API_KEY)  # no keyring here
    assert refused.returncode == 2
    assert "--insecure-storage" in refused.stderr
    assert not key_file.exists()

    login = run_cli(["login", "--no-verify", "--insecure-storage"], stdin=API_KEY)

    assert login.returncode == 0, login.stderr
    assert f"in the key file {key_file} (plain text, 0600)" in login.stdout
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert API_KEY not in login.stdout + login.stderr
    got = run_cli([*token])
    assert got.returncode == 0, got.stderr
    assert fake_api.count == 1
    whoami = run_cli(["whoami", "-o", "json"])
    document = json.loads(whoami.stdout)
    assert document["key"] == {"prefix": API_KEY[:13], "source": "file", "profile": "default"}
    assert document["key_file"] == {"path": str(key_file), "profiles": ["default"], "problem": None}
    table = run_cli(["whoami"]).stdout
    assert "from the key file, profile 'default'" in table
    assert API_KEY not in table

    logout = run_cli(["logout"])

    assert logout.returncode == 0, logout.stderr
    assert f"deleted the API key of profile 'default' from the key file {key_file}" in (
        logout.stdout
    )
    assert not key_file.exists()
    assert run_cli(["whoami"]).returncode == 3


def test_the_environment_and_then_the_keyring_come_before_the_key_file(
    run_cli, key_file, keyring_file
):
    other = "rgpu_0c1d2e3f_" + "A" * 32
    assert run_cli(["login", "--no-verify", "--insecure-storage"], stdin=other).returncode == 0
    keyring_file.write_text(json.dumps({"rgpu-exec/default": API_KEY}))

    from_keyring = json.loads(run_cli(["whoami", "-o", "json"]).stdout)["key"]
    from_env = json.loads(
        run_cli(["whoami", "-o", "json"], env={"REMOTEGPU_API_KEY": other}).stdout
    )["key"]

    assert (from_keyring["source"], from_keyring["prefix"]) == ("keyring", API_KEY[:13])
    assert (from_env["source"], from_env["prefix"]) == ("env", other[:13])


def test_a_key_file_others_can_read_is_refused_with_what_to_do(run_cli, key_file):
    assert run_cli(["login", "--no-verify", "--insecure-storage"], stdin=API_KEY).returncode == 0
    key_file.chmod(0o644)

    token = run_cli(["token", "--namespace-id", NAMESPACE_ID])
    whoami = run_cli(["whoami"])

    assert token.returncode == whoami.returncode == 2
    assert token.stderr.startswith(
        f"rgpu-exec: the key file {key_file} can be read or written by other users (mode 0644), "
        "so rgpu-exec does not use it."
    )
    assert f"chmod 600 {key_file}" in token.stderr
    assert "refused" in whoami.stdout
    assert API_KEY not in token.stderr + whoami.stdout


def test_a_plaintext_keyring_chosen_once_is_one_rule_for_token_whoami_and_logout(
    run_cli, fake_api, sandbox, monkeypatch
):
    """A plaintext backend chosen in keyring's own config (not named in PYTHON_KEYRING_BACKEND
    now): a key already there is used, shown and deleted; only storing a new one is refused."""
    store = sandbox / "keyring.json"
    store.write_text(json.dumps({"rgpu-exec/default": API_KEY}))
    config = sandbox / "home" / ".config" / "python_keyring"
    config.mkdir(parents=True)
    (config / "keyringrc.cfg").write_text(
        "[backend]\ndefault-keyring=file_keyring.PlaintextFileKeyring\n"
    )
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    monkeypatch.setenv("TEST_KEYRING_FILE", str(store))
    monkeypatch.setenv("PYTHONPATH", str(TESTS))

    whoami = run_cli(["whoami"])
    token = run_cli(["token", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url])
    login = run_cli(["login", "--no-verify"], stdin=API_KEY)
    logout = run_cli(["logout"])

    assert whoami.returncode == 0, whoami.stderr
    assert "from keyring profile 'default'" in whoami.stdout
    assert "none usable" not in whoami.stdout
    assert "keys there are used, but `rgpu-exec login` stores no new one" in whoami.stdout
    assert token.returncode == 0, token.stderr
    assert login.returncode == 2
    assert "stores keys in plain text" in login.stderr
    assert logout.returncode == 0, logout.stderr
    assert "deleted the API key of profile 'default' from the OS keyring" in logout.stdout
    assert json.loads(store.read_text()) == {}


@pytest.mark.slow  # the doctor runs the kubectl on PATH
def test_doctor_finds_the_key_in_the_key_file_as_token_does(run_cli, fake_api, key_file):
    # A headless machine set up as the README says: no keyring, the key in the key file. The
    # doctor must not call that set-up broken (it used to say "no key", exit 6).
    assert run_cli(["login", "--no-verify", "--insecure-storage"], stdin=API_KEY).returncode == 0

    doctor = run_cli(["doctor", "-o", "json"], env={"REMOTEGPU_API_URL": fake_api.url})

    findings = json.loads(doctor.stdout)["findings"]
    keys = [f for f in findings if f["topic"] == "API key"]
    assert [f["status"] for f in keys] == ["ok", "ok"], keys
    assert "(from the key file" in keys[1]["detail"] or "key file" in keys[0]["detail"]
    (keyring,) = [f for f in findings if f["topic"] == "keyring"]
    assert keyring["status"] == "note"
    assert doctor.returncode == 0, doctor.stdout
