"""Fixtures for tests against the emulator (registered in conftest.py with `pytest_plugins`).

    emulator        the session's emulator subprocess, reset before each test, wrapped in a
                    `Harness`: the account API as the console calls it, the control plane, and
                    a kubeconfig whose exec stanza runs the installed `rgpu-exec`
    start_emulator  a fresh emulator subprocess with extra flags (stopped after the test)
    emulator_in_process
                    the same `Harness` over an emulator that runs in the test process, on its
                    own threads: for the tests of the emulator itself, which start no process,
                    and for in-process tests whose point is a real socket (a proxy, say)
    emulated_exchange
                    `rgpu-exec token`'s arguments against the emulator (`Exchange`): a namespace
                    team-ml and a key scoped to it; failures are scripted with the emulator's
                    fault injection (`harness.client.add_fault`). The launcher tests use it.
    kubectl         parametrized over every kubectl found: the dev extra's (beside the
                    interpreter, else on PATH) and any /usr/lib/google-cloud-sdk/bin/kubectl.1.*
At the end of the session, the kubectl versions exercised are listed with their outcomes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from rgpu_emulator.testing import V1, EmulatorClient, EmulatorProcess, Ready

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

RGPU_EXEC = Path(sys.executable).parent / "rgpu-exec"
KUBECTL_DIR = Path("/usr/lib/google-cloud-sdk/bin")  # kubectl.1.27, kubectl.1.28, ...
_outcomes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))


@dataclass(frozen=True)
class Kubectl:
    path: str
    version: str  # e.g. "v1.33.1"


def _client_version(path: str) -> str | None:
    try:
        result = subprocess.run(
            [path, "version", "--client", "-o", "json"],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        return str(json.loads(result.stdout)["clientVersion"]["gitVersion"])
    except (OSError, subprocess.SubprocessError, ValueError, KeyError):
        return None


def find_kubectls() -> list[Kubectl]:
    bundled = Path(sys.executable).parent / "kubectl"
    on_path = str(bundled) if bundled.exists() else shutil.which("kubectl")
    others = sorted(KUBECTL_DIR.glob("kubectl.1.*"), key=lambda p: int(p.suffix.lstrip(".") or 0))
    found: dict[str, Kubectl] = {}
    for path in [*([on_path] if on_path else []), *map(str, others)]:
        version = _client_version(path) if os.access(path, os.X_OK) else None
        if version:
            found.setdefault(version, Kubectl(path, version))
    return list(found.values())


KUBECTLS = find_kubectls()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "kubectl" in metafunc.fixturenames:
        params = [pytest.param(k, id=f"kubectl-{k.version}") for k in KUBECTLS] or [
            pytest.param(None, id="no-kubectl", marks=pytest.mark.skip(reason="no kubectl found"))
        ]
        metafunc.parametrize("kubectl", params)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # The version travels in the report, so that the counts add up under pytest-xdist too: there
    # the reports reach the controlling process, which prints the summary, and the items do not.
    callspec = getattr(item, "callspec", None)
    kubectl = callspec.params.get("kubectl") if callspec else None
    if isinstance(kubectl, Kubectl) and ("kubectl", kubectl.version) not in item.user_properties:
        item.user_properties.append(("kubectl", kubectl.version))
    return (yield)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for name, version in report.user_properties:
        if name == "kubectl" and (report.when == "call" or report.outcome != "passed"):
            _outcomes[str(version)][report.outcome] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _outcomes:
        return
    terminalreporter.section("kubectl versions exercised end to end")
    for version in sorted(_outcomes, key=lambda v: [int(x) for x in v.lstrip("v").split(".")[:3]]):
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(_outcomes[version].items()))
        terminalreporter.write_line(f"{version}: {counts}")


class Serving(Protocol):
    """An emulator that is up: a subprocess (`EmulatorProcess`) or one in this process."""

    @property
    def ready(self) -> Ready: ...
    @property
    def ready_file(self) -> Path: ...


@dataclass(frozen=True)
class InProcessEmulator:
    """`rgpu_emulator.server.Emulator` on its threads in this process, with the same ready
    document (and file) as the subprocess writes."""

    ready: Ready
    ready_file: Path


@dataclass
class Harness:
    """One test's view of an emulator: create things, count things, run kubectl against it."""

    process: Serving
    client: EmulatorClient
    workdir: Path

    @property
    def ready(self) -> Ready:
        return self.process.ready

    def namespace(self, name: str) -> dict[str, Any]:
        return self.client.create_namespace(name)

    def key(self, scopes: dict[str, Any], name: str = "test-key") -> dict[str, Any]:
        """A new API key (the create answer; the raw key is in `"key"`)."""
        return self.client.create_key(name, scopes)

    def namespace_key(self, *namespaces: dict[str, Any]) -> dict[str, Any]:
        return self.key({"kubernetes_exec": {"namespace_ids": [ns["id"] for ns in namespaces]}})

    @property
    def cluster(self) -> dict[str, str]:
        """The emulator's Kubernetes front, as a kubeconfig's cluster."""
        return {"server": self.ready.kube_server, "certificate-authority-data": self.ready.ca_data}

    def kubeconfig(
        self, *namespaces: dict[str, Any], api_version: str = V1, path: Path | None = None,
        command: str = str(RGPU_EXEC), wrap: Sequence[str] = (),
    ) -> Path:  # fmt: skip
        """A kubeconfig (at $KUBECONFIG unless `path`, mode 0600 as kubectl writes it) with a
        context per namespace, named after it, whose user runs `command wrap… token
        --namespace-id ID --namespace NAME --api-url URL`, as `kubeconfig generate` writes it
        (kubectl hands it the cluster). Built by the tests' one builder (conftest)."""
        from conftest import rgpu_exec_user, write_kubeconfig

        users, contexts = {}, {}
        for ns in namespaces:
            args = [*wrap, "token", "--namespace-id", ns["id"], "--namespace", ns["name"],
                    "--api-url", self.ready.api_url]  # fmt: skip
            users[f"rgpu-{ns['name']}"] = rgpu_exec_user(
                command, args=args, apiVersion=api_version, provideClusterInfo=True,
                interactiveMode="Never" if api_version == V1 else None,
            )  # fmt: skip
            contexts[ns["name"]] = {"user": f"rgpu-{ns['name']}", "namespace": ns["name"]}
        path = path or Path(os.environ["KUBECONFIG"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.chmod(0o600)
        return write_kubeconfig(
            path, users, contexts, clusters={"remotegpu-emulator": self.cluster}
        )

    def plugin_env(self, api_key: str, **extra: str) -> dict[str, str]:
        """The test's (sandboxed) environment plus the raw key, as kubectl hands it to rgpu-exec."""
        return {**os.environ, "REMOTEGPU_API_KEY": api_key, **extra}

    def exchanges(self) -> int:
        return self.client.exchanges()


@dataclass(frozen=True)
class Exchange:
    """A namespace (team-ml) and a key scoped to it, on an emulator: what `rgpu-exec token` is
    run with against it, and what the emulator saw."""

    harness: Harness
    namespace_id: str
    key: str

    @property
    def url(self) -> str:
        return self.harness.ready.api_url

    def args(self, *extra: str) -> list[str]:
        """`token --namespace-id … --api-url … extra…`, as the kubeconfig's exec stanza says."""
        return ["token", "--namespace-id", self.namespace_id, "--api-url", self.url, *extra]

    def env(self, **extra: str) -> dict[str, str]:
        """The test's (sandboxed) environment with the key, as kubectl hands it to rgpu-exec."""
        return self.harness.plugin_env(self.key, **extra)

    @property
    def count(self) -> int:
        """The exchanges the emulator answered since the test began."""
        return self.harness.exchanges()

    def asked(self, status: int | None = None) -> int:
        """The exchange requests the emulator answered (with this status only, if given: a
        keyless probe gets 401), keyed or not, from this process or any other."""
        answers = self.harness.client.call("GET", "/_emulator/requests").json()["items"]
        return sum(
            1 for a in answers
            if a["path"].endswith("/exec-credential") and status in {None, a["status"]}
        )  # fmt: skip

    def issued(self, token: str) -> bool:
        """Whether the emulator issued this token (for this namespace)."""
        found = self.harness.client.lookup_token(token)
        return found is not None and found.get("namespace_id") == self.namespace_id


def exchange_on(harness: Harness) -> Exchange:
    namespace = harness.namespace("team-ml")
    return Exchange(harness, namespace["id"], harness.namespace_key(namespace)["key"])


@pytest.fixture
def emulated_exchange(emulator: Harness) -> Exchange:
    """`Exchange` on the session's emulator (a subprocess)."""
    return exchange_on(emulator)


def run(
    argv: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout,
        check=False,
    )  # fmt: skip


@pytest.fixture(scope="session")
def emulator_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    process = EmulatorProcess(tmp_path_factory.mktemp("emulator"))
    process.start()
    try:
        yield process
    finally:
        assert process.stop() == 0


@pytest.fixture
def emulator(emulator_process: EmulatorProcess, tmp_path: Path) -> Iterator[Harness]:
    client = EmulatorClient(emulator_process.ready)
    client.reset()
    try:
        yield Harness(emulator_process, client, tmp_path)
    finally:
        client.close()


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessEmulator]:
    from rgpu_emulator.server import Emulator

    emulator = Emulator()
    workdir = tmp_path_factory.mktemp("emulator-in-process")
    ca_file, ready_file = workdir / "ca.pem", workdir / "emulator-ready.json"
    emulator.ca.cert_pem.write_to_path(str(ca_file))
    emulator.start()
    try:
        ready_file.write_text(json.dumps(emulator.ready_document(str(ca_file))) + "\n")
        yield InProcessEmulator(Ready.parse(ready_file.read_text()), ready_file)
    finally:
        emulator.stop()


@pytest.fixture
def emulator_in_process(emulator_server: InProcessEmulator, tmp_path: Path) -> Iterator[Harness]:
    client = EmulatorClient(emulator_server.ready)
    client.reset()
    try:
        yield Harness(emulator_server, client, tmp_path)
    finally:
        client.close()


@pytest.fixture
def start_emulator(tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    started: list[tuple[Harness, EmulatorProcess]] = []

    def start(*args: str) -> Harness:
        process = EmulatorProcess(tmp_path / f"emulator-{len(started)}", *args)
        process.start()
        harness = Harness(process, EmulatorClient(process.ready), tmp_path)
        started.append((harness, process))
        return harness

    yield start
    for harness, process in started:
        harness.client.close()
        process.stop()
