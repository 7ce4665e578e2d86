"""Every test runs in a sandbox: its own HOME, cache dir, KUBECONFIG, keyring and environment.

Nothing here may reach the real user's files, keyring, kubeconfig or the network.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from rgpu_emulator.testing import own_parent

from stub_api import StubApi

# No per-example time limit for property tests: on a loaded 2-core machine one example can take
# seconds, and speed is measured by the benchmark (bench/), never by a timed test.
hypothesis_settings.register_profile("rgpu-exec", deadline=None)
hypothesis_settings.load_profile("rgpu-exec")

pytest_plugins = ["emulator_support"]

# Folders whose tests start the installed commands (and often the emulator and kubectl) as
# subprocesses: seconds each on 2 cores. `make test-fast` leaves them out; `make test` runs them.
_SLOW_FOLDERS = frozenset({"process", "e2e"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent.name in _SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)


# Variables a test must never inherit from the machine it runs on.
_STRIPPED_PREFIXES = ("REMOTEGPU_", "RGPU_EXEC_", "KUBERNETES_", "KUBECONFIG", "PYTHON_KEYRING")
_STRIPPED = {
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "all_proxy", "no_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "DBUS_SESSION_BUS_ADDRESS", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
    "XDG_RUNTIME_DIR", "KUBECACHEDIR",
}  # fmt: skip


@pytest.fixture(autouse=True)
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name in _STRIPPED or name.startswith(_STRIPPED_PREFIXES):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("RGPU_EXEC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    # No real keyring: the "fail" backend raises on every call, which rgpu-exec must survive.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def rgpu_exec_bin() -> str:
    """The installed `rgpu-exec` launcher of the interpreter running the tests."""
    path = Path(sys.executable).parent / "rgpu-exec"
    assert path.exists(), f"{path} is missing: run `make install` first"
    return str(path)


NAMESPACE_ID = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"
API_KEY = "rgpu_3f9a2c1b_Zk3Jq9xR2mVt7LpW4nHs8dYc1bGf6aEo"
CI_KEY = "rgpu_0c1d2e3f_CiKeyCiKeyCiKeyCiKeyCiKeyCiKey1234"  # another key, for a `ci` profile
TESTS = Path(__file__).parent  # where file_keyring.py lives


class FakeClock:
    """Fake monotonic time for the exchange (`Exchanger(monotonic=…, sleep=…)`): retries and
    Retry-After waits cost nothing, and each wait is recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def keyring_file(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file-backed keyring (`file_keyring.FileKeyring`) that the subprocesses share: empty
    until a test writes to it (or runs `login`). Modules may override it to preload keys."""
    path = sandbox / "keyring.json"
    monkeypatch.setenv("TEST_KEYRING_FILE", str(path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "file_keyring.FileKeyring")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    )
    return path


@pytest.fixture
def stub_api() -> Iterator[StubApi]:
    with StubApi() as stub:
        yield stub


@pytest.fixture
def run_token(
    rgpu_exec_bin: str, stub_api: StubApi
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed `rgpu-exec token` as kubectl would, against the stub API: each run the
    child of a process of its own, as each kubectl command is (`own_parent`)."""

    def run(
        *extra: str, env: dict[str, str] | None = None, key: str | None = API_KEY
    ) -> subprocess.CompletedProcess[str]:
        environ = dict(os.environ)
        if key is not None:
            environ["REMOTEGPU_API_KEY"] = key
        environ.update(env or {})
        argv = [rgpu_exec_bin, "token", "--namespace-id", NAMESPACE_ID, "--api-url", stub_api.url]
        return subprocess.run(
            own_parent([*argv, *extra]),
            env=environ,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )

    return run
