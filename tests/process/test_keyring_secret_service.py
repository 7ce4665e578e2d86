"""login → token (keyring key) → token (cache, keyring unreachable) → logout, on a real Secret Service.

A private D-Bus session (`dbus-run-session`) runs an unlocked gnome-keyring daemon with its own
HOME; every rgpu-exec step is a separate process on that bus, with keyring's backend detection
left to do its job. Skipped with the reason when the daemon cannot start; with CI=true it fails
instead, because CI installs gnome-keyring and dbus for exactly this test.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from conftest import API_KEY

if TYPE_CHECKING:
    from collections.abc import Iterator

    from emulator_support import Exchange

# One Secret Service daemon at a time, under pytest-xdist too.
pytestmark = [pytest.mark.keyring, pytest.mark.xdist_group("secret-service")]

OTHER_NAMESPACE = "0b7e9c2a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"
START_TIMEOUT = 20.0
# Starts an unlocked daemon (creating the login keyring with this password), prints the bus
# address, then holds the session open until its stdin closes.
SESSION_SCRIPT = """
printf %s "$TEST_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 1
echo "$DBUS_SESSION_BUS_ADDRESS"
exec cat >/dev/null
"""
HAS_KEY = (
    "import keyring, os, sys; "
    "value = keyring.get_password('rgpu-exec', 'default'); "
    "sys.exit(0 if value == os.environ['EXPECTED_KEY'] else 3 if value is None else 4)"
)


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the Secret Service test must run in CI: {reason}")
    pytest.skip(f"no Secret Service for this test: {reason}")


@pytest.fixture
def secret_service(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a private D-Bus session whose gnome-keyring is unlocked."""
    tools = {name: shutil.which(name) for name in ("dbus-run-session", "gnome-keyring-daemon")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        unavailable(f"{' and '.join(missing)} not installed (Debian: gnome-keyring, dbus)")
    home = tmp_path / "keyring-home"
    runtime = home / "run"
    runtime.mkdir(parents=True, mode=0o700)
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "TEST_KEYRING_PASSWORD": "test-only-password",
    }
    env.pop("PYTHON_KEYRING_BACKEND", None)  # let keyring find the Secret Service itself
    session = subprocess.Popen(
        [str(tools["dbus-run-session"]), "--", "sh", "-c", SESSION_SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert session.stdout is not None
    assert session.stdin is not None
    with selectors.DefaultSelector() as selector:
        selector.register(session.stdout, selectors.EVENT_READ)
        ready = selector.select(START_TIMEOUT)
    address = session.stdout.readline().strip() if ready else ""
    if not address:
        session.kill()
        _, err = session.communicate(timeout=10)
        unavailable(
            f"gnome-keyring-daemon did not start ({' '.join(err.split())[-300:] or 'no output'})"
        )
    env["DBUS_SESSION_BUS_ADDRESS"] = address
    try:
        yield env
    finally:
        session.stdin.close()  # ends the session: the bus goes, and the daemon with it
        try:
            session.wait(timeout=10)
        except subprocess.TimeoutExpired:
            session.kill()
            session.wait()
        session.stdout.close()
        if session.stderr is not None:
            session.stderr.close()


def run(env: dict[str, str], *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), input=stdin, capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_login_token_cache_logout_on_a_real_secret_service(
    secret_service: dict[str, str],
    rgpu_exec_bin: str,
    emulated_exchange: Exchange,
    sandbox: Path,
    tmp_path: Path,
) -> None:
    env = secret_service
    api = emulated_exchange
    token = [rgpu_exec_bin, "token", "--api-url", api.url, "--namespace-id"]
    keyring_holds_key = [sys.executable, "-c", HAS_KEY]
    checker_env = {**env, "EXPECTED_KEY": api.key}

    login = run(env, rgpu_exec_bin, "login", stdin=api.key + "\n")
    assert login.returncode == 0, login.stderr
    assert "SecretService" in login.stdout
    assert api.key[:13] + "…" in login.stdout
    assert api.key not in login.stdout + login.stderr
    assert run(checker_env, *keyring_holds_key).returncode == 0

    first = run(env, *token, api.namespace_id)
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    assert api.count == 1  # the emulator issues a token to its key only: the keyring's was sent
    assert api.issued(json.loads(first.stdout)["status"]["token"])

    # The keyring made unreachable: no bus at that address, and keyring's failing backend.
    no_keyring = {
        **env,
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path / 'no-bus'}",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    second = run(no_keyring, *token, api.namespace_id)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert second.stderr == ""
    assert api.count == 1
    # The control: without the cache, that same environment finds no key at all.
    uncached = run(no_keyring, *token, OTHER_NAMESPACE)
    assert uncached.returncode == 3
    assert "no RemoteGPU API key found" in uncached.stderr

    logout = run(env, rgpu_exec_bin, "logout")
    assert logout.returncode == 0, logout.stderr
    assert "deleted the API key of profile 'default' from the OS keyring" in logout.stdout
    assert "removed 1 cached token" in logout.stdout
    assert run(checker_env, *keyring_holds_key).returncode == 3
    assert not list((sandbox / "cache").glob("*.token"))

    after = run(env, *token, api.namespace_id)
    assert after.returncode == 3
    assert api.count == 1


def test_whoami_lists_the_profiles_a_secret_service_holds(
    secret_service: dict[str, str], rgpu_exec_bin: str
) -> None:
    env = secret_service
    for profile in ("default", "ci"):
        stored = run(env, rgpu_exec_bin, "login", "--profile", profile, stdin=API_KEY + "\n")
        assert stored.returncode == 0, stored.stderr

    table = run(env, rgpu_exec_bin, "whoami")
    document = json.loads(run(env, rgpu_exec_bin, "whoami", "-o", "json").stdout)

    assert table.returncode == 0, table.stderr
    assert "keyring  SecretService Keyring: profiles 'ci', 'default'" in table.stdout
    assert document["keyring"]["profiles"] == ["ci", "default"]
    assert document["key"] == {"prefix": "rgpu_3f9a2c1b", "source": "keyring", "profile": "default"}
    assert API_KEY not in table.stdout + json.dumps(document)
