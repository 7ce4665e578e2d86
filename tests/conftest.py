"""Every test runs in a sandbox: its own HOME, cache dir, KUBECONFIG, keyring and environment.

Nothing here may reach the real user's files, keyring, kubeconfig or the network.

Quick or slow is decided by what a test does, not by its folder: a test that starts a process
(the installed commands, the emulator, kubectl, a Secret Service daemon) is `slow`, and
`make test-fast` leaves it out. A test is marked slow when it uses a fixture that starts one
(`SPAWNING_FIXTURES`), or by hand (`@pytest.mark.slow`) when it starts one itself. Every other
test runs with process creation disabled (`quick_tests_start_no_process`), so a quick test that
starts a process fails at once and names the fix. A test that proves a bound in real seconds
(a timeout as the network gives it) is marked slow by hand too; the quick loop proves the same
rule on the test's clock (`waits_on_the_clock`) or with a shortened bound.

A command's behaviour is tested in process: `run_cli` runs the command line as the installed
launcher would, in the test's process, and gives its exit code, stdout and stderr. `cli` and
`run_token` start the launcher as a process, for the tests where the process is the point.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, Protocol

import pytest
import respx
from hypothesis import settings as hypothesis_settings

from rgpu_emulator.testing import EmulatorProcess, own_parent

from exchange_answers import API, FakeApi

if TYPE_CHECKING:
    from emulator_support import Exchange

# No per-example time limit for property tests: on a loaded 2-core machine one example can take
# seconds, and speed is measured by the benchmark (bench/), never by a timed test.
hypothesis_settings.register_profile("rgpu-exec", deadline=None)
hypothesis_settings.load_profile("rgpu-exec")
# The quick loop (`make test-fast`: `--hypothesis-profile=quick`) tries a fifth of the examples;
# `make test`, CI's full suite and `make mutation` try them all.
QUICK_SHARE = 5
hypothesis_settings.register_profile(
    "quick", deadline=None, max_examples=hypothesis_settings().max_examples // QUICK_SHARE
)


def examples(full: int) -> int:
    """How many examples a property test with `full` of them tries under the profile chosen
    (`@settings(max_examples=examples(300))`): all of them, or a fifth in the quick loop."""
    full_count = hypothesis_settings.get_profile("rgpu-exec").max_examples
    share = max(full_count // hypothesis_settings().max_examples, 1)  # 1, or QUICK_SHARE
    return max(full // share, min(full, 10))


pytest_plugins = ["emulator_support"]

# Fixtures that start processes: the installed launcher (`rgpu_exec_bin` and what runs it), the
# emulator subprocess, kubectl, a Secret Service daemon. A test that uses one, directly or
# through another fixture, is slow.
# (`emulator` is slow through `emulator_process`; a module that runs the emulator in process
# overrides it with `emulator_in_process`, which starts none.)
SPAWNING_FIXTURES = frozenset({
    "rgpu_exec_bin", "cli", "run_token",
    "emulator_process", "start_emulator",
    "kubectl", "newest_kubectl", "secret_service",
})  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SPAWNING_FIXTURES or item.get_closest_marker("keyring"):
            item.add_marker(pytest.mark.slow)


def _version(kubectl: Any) -> tuple[int, ...]:
    return tuple(int(part) for part in kubectl.version.lstrip("v").split("-")[0].split(".")[:3])


@pytest.fixture
def newest_kubectl() -> Any:
    """The newest kubectl found (skipped when there is none), for the full end-to-end scenarios.

    Every kubectl found (`kubectl`, parametrized in emulator_support) runs the tests of what
    differs between versions: the exec info each sends, with and without the cluster, read on
    the cache-hit path, and the second ask after a rejected token. The full scenarios
    (namespaces, scopes, refresh, the generated and imported kubeconfigs, the exchange storm)
    run once, with the newest: what they add does not depend on kubectl's version."""
    from emulator_support import KUBECTLS  # a plugin of this conftest's: imported when loaded

    if not KUBECTLS:
        pytest.skip("no kubectl found")
    return max(KUBECTLS, key=_version)


def _refuse(what: str) -> Callable[..., NoReturn]:
    def refuse(*args: object, **kwargs: object) -> NoReturn:
        pytest.fail(
            f"this test {what} but is not marked slow: run the command in process with run_cli "
            "where the process is not the point; else use a fixture that starts processes "
            "(rgpu_exec_bin, cli, run_token, emulator, start_emulator, kubectl), or mark it "
            "@pytest.mark.slow (see tests/conftest.py)",
            pytrace=False,
        )

    return refuse


@pytest.fixture(autouse=True)
def quick_tests_start_no_process(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a test not marked slow, starting a process or the emulator subprocess fails."""
    if request.node.get_closest_marker("slow"):
        return
    monkeypatch.setattr(subprocess, "Popen", _refuse("starts a subprocess"))
    monkeypatch.setattr(os, "system", _refuse("starts a subprocess"))
    monkeypatch.setattr(os, "posix_spawn", _refuse("starts a subprocess"))
    monkeypatch.setattr(os, "posix_spawnp", _refuse("starts a subprocess"))
    monkeypatch.setattr(EmulatorProcess, "start", _refuse("starts the emulator subprocess"))


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


Cli = Callable[..., "subprocess.CompletedProcess[Any]"]


def run_program(
    program: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: str | bytes | None = None,
    timeout: float = 60,
    new_parent: bool = False,
    python_flags: Sequence[str] = (),
    text: bool = True,
) -> subprocess.CompletedProcess[Any]:
    """`program args…` in the test's sandboxed environment updated with `env`.

    stdin: the text it reads (default: none, as kubectl gives it). new_parent: run by a shell of
    its own, a new parent process, as each kubectl command is (`own_parent`). python_flags: run
    the program (a Python script) with this interpreter and these flags (`-X importtime`). text=False: bytes out.
    """
    argv = [program, *args]
    if python_flags:
        argv = [sys.executable, *python_flags, *argv]
    return subprocess.run(
        own_parent(argv) if new_parent else argv,
        env={**os.environ, **(env or {})},
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=text,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def cli(rgpu_exec_bin: str) -> Cli:
    """Run the installed `rgpu-exec` with these arguments: `cli("cache", "list", env={…})`.
    See `run_program` for the options; the answer is the CompletedProcess."""

    def run(*args: str, **options: Any) -> subprocess.CompletedProcess[Any]:
        return run_program(rgpu_exec_bin, *args, **options)

    return run


class CliRun(NamedTuple):
    """What one in-process run of the command line gave: `code, out, err = run_cli([…])`, or
    `.returncode`, `.stdout` and `.stderr` as on a CompletedProcess."""

    returncode: int
    stdout: Any  # str, or bytes with text=False
    stderr: Any


class Ran(Protocol):
    """What a test reads of a run, in process (`CliRun`) or not (`CompletedProcess`)."""

    @property
    def returncode(self) -> int: ...
    @property
    def stdout(self) -> Any: ...
    @property
    def stderr(self) -> Any: ...


RunCli = Callable[..., CliRun]
# Made-up parent PIDs: above the kernel's largest (2**22), so no process has one (/proc/PID/comm
# does not exist: the parent is no shell, as the test process is none).
_parents = itertools.count(5_000_000)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    sys.stderr.write(f"{exc.code}\n")  # as the interpreter does for sys.exit("text")
    return 1


def _launcher(argv: list[str]) -> int | None:
    """What `scripts/rgpu-exec` does, in this process: the cache answers when it can, else the
    full command line runs."""
    from rgpu_exec import cli as full_command
    from rgpu_exec.hotpath import cache_hit

    code = cache_hit.main(argv)
    return full_command.main(argv) if code is None else code


def _program(name: str) -> Callable[[list[str]], int | None]:
    """The function behind an installed program: the launcher, or an entry point (by its name in
    the package's metadata, so a moved function is still found)."""
    if name == "rgpu-exec":
        return _launcher
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="console_scripts") if e.name == name]
    main: Callable[[list[str]], int | None] = entry.load()
    return main


def _reset_process_state() -> None:
    """Forget what one run leaves in this process that a process of its own would not keep: the
    keys the output gate knows, the log handlers, the keyring backend chosen from the
    environment, and the entry locks it holds (closing them, as an exit would)."""
    from rgpu_exec import output
    from rgpu_exec.hotpath import entry_lock

    output.forget_all()
    logger = logging.getLogger("rgpu_exec")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)
    if "keyring.core" in sys.modules:
        # chosen again from the environment, as in a new process
        sys.modules["keyring.core"]._keyring_backend = None  # type: ignore[attr-defined]
    held = entry_lock._dealt_with
    for release in [r for r in held.values() if r is not None]:
        release()
    held.clear()


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunCli]:
    """Run the command line in this process, as the installed `rgpu-exec` launcher would:
    `run_cli(["cache", "list"], env={…}, stdin="…")` returns (exit code, stdout, stderr).

    The environment is the test's sandbox updated with `env`, for this run only. stdin: the text
    (or bytes) it reads, none by default (not a terminal). The runs of a test share one parent
    process, which is no shell (`os.getppid` gives a number no process has); new_parent=True: a
    parent of its own, as each kubectl command has. program: another installed program of the
    package (`kubectl-rgpu`, `kubectl_complete-rgpu`), run as its entry point. text=False: bytes
    out. What the command writes passes the output gate to `sys.stdout` and `sys.stderr`, which
    are captured here; what a run leaves behind in the process is forgotten after it.
    """
    from rgpu_exec.cli_parser import Parser

    test_parent = next(_parents)

    def run(
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        stdin: str | bytes | None = None,
        new_parent: bool = False,
        program: str = "rgpu-exec",
        text: bool = True,
    ) -> CliRun:
        assert not isinstance(argv, str), "run_cli takes a list of arguments"
        data = stdin.encode() if isinstance(stdin, str) else (stdin or b"")
        out, err = io.BytesIO(), io.BytesIO()
        stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
        stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace")
        stderr.reconfigure(write_through=True)
        parser_state = (
            Parser.document_form,
            Parser.typed,
            Parser.root,
        )
        _reset_process_state()
        with monkeypatch.context() as patch:
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            parent = next(_parents) if new_parent else test_parent
            patch.setattr(os, "getppid", lambda: parent)
            patch.setattr(sys, "argv", [program, *argv])
            patch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
            patch.setattr(sys, "stdout", stdout)
            patch.setattr(sys, "stderr", stderr)
            try:
                code = _program(program)(list(argv))
            except SystemExit as exc:
                code = _exit_code(exc)
            finally:
                stdout.flush()
                stderr.flush()
                _reset_process_state()
                (
                    Parser.document_form,
                    Parser.typed,
                    Parser.root,
                ) = parser_state
        code = int(code or 0)  # an exit status: an entry point's None is 0, as sys.exit(None)
        if text:
            return CliRun(code, out.getvalue().decode(), err.getvalue().decode())
        return CliRun(code, out.getvalue(), err.getvalue())

    yield run
    _reset_process_state()


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """The HTTP edge, mocked with respx at `exchange_answers.API`: routes not called are fine."""
    with respx.mock(base_url=API, assert_all_called=False) as router:
        yield router


NAMESPACE_ID = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"
API_KEY = "rgpu_3f9a2c1b_Zk3Jq9xR2mVt7LpW4nHs8dYc1bGf6aEo"
CI_KEY = "rgpu_0c1d2e3f_CiKeyCiKeyCiKeyCiKeyCiKeyCiKey1234"  # another key, for a `ci` profile


def key_identity(key: str = API_KEY, environ: Mapping[str, str] | None = None) -> str:
    """A key's fingerprint as rgpu-exec names its cache entries in this environment (the test's
    sandbox by default): keyed with the user's secret, made here if need be."""
    from rgpu_exec.cache import identity_key
    from rgpu_exec.hotpath import settings, token_cache

    where = settings.config_dir(os.environ if environ is None else environ)
    assert where is not None
    return token_cache.key_identity(key, identity_key.ensure_secret(where))


TESTS = Path(__file__).parent  # where file_keyring.py lives


class Clock:
    """The one fake clock of the tests: it stands still until a test moves it (`clock.now += 60`)
    or the code under test sleeps (`clock.sleep`: costs nothing, each wait recorded in
    `sleeps`, and the time moves on by it).

    `now` is wall-clock time, what `clock()` answers (`TokenCommand(clock=…)`, the cache-hit
    path's `now`); `monotonic()` counts from 0 at the clock's start
    (`Exchanger(monotonic=…, sleep=…)`). Moving one moves the other.
    """

    def __init__(self) -> None:
        self.start = self.now = datetime.now(timezone.utc).timestamp()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now - self.start

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    """A fresh `Clock` for the test."""
    return Clock()


@pytest.fixture
def waits_on_the_clock(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The waits of the runs in this test (`run_cli`) pass on `clock`, not in real time: the API
    exchange's backoff and deadline (`Exchanger(monotonic=…, sleep=…)`) and the wait for a
    kubeconfig's lock (`files.locked(clock=…, sleep=…)`). A bound of seconds is then asserted on
    the clock at no cost; the network's own timeouts stay real."""
    from rgpu_exec.api import exchange
    from rgpu_exec.kubeconfig import files

    def on_the_clock(make: Callable[..., Any], **waits: object) -> Callable[..., Any]:
        return lambda *args, **kwargs: make(*args, **{**waits, **kwargs})

    monkeypatch.setattr(
        exchange,
        "Exchanger",
        on_the_clock(exchange.Exchanger, monotonic=clock.monotonic, sleep=clock.sleep),
    )
    monkeypatch.setattr(
        files, "locked", on_the_clock(files.locked, clock=clock.monotonic, sleep=clock.sleep)
    )
    return clock


# The client process a test's in-process runs report (`os.getppid`), as kubectl's PID would be.
KUBECTL_PID = 4242


@pytest.fixture
def parent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The client process (kubectl) of the runs in this test: set `parent[0]` to change it."""
    current = [KUBECTL_PID]
    monkeypatch.setattr(os, "getppid", lambda: current[0])
    return current


# The `token` use case run in process against the respx API (`api`): its environment, the
# warnings it gives, and the command itself. A test file may define its own `environ`.
@pytest.fixture
def environ() -> dict[str, str]:
    return {
        **os.environ,
        "REMOTEGPU_API_KEY": API_KEY,
        "REMOTEGPU_API_URL": API,
        "RGPU_EXEC_DEADLINE": "0.5",
    }


@pytest.fixture
def warnings() -> list[str]:
    return []


@pytest.fixture
def command(environ: dict[str, str], clock: Clock, warnings: list[str]) -> Any:
    from rgpu_exec.usecases.token import TokenCommand

    return TokenCommand(environ, clock=clock, warn=warnings.append)


def rgpu_exec_user(
    command: str = "rgpu-exec",
    namespace_id: str = NAMESPACE_ID,
    args: Sequence[str] | None = None,
    **exec_fields: Any,
) -> dict[str, Any]:
    """A kubeconfig user whose exec stanza runs `command token --namespace-id namespace_id`, as
    `kubeconfig generate` writes it (`args`: other arguments; `exec_fields`: more fields of the
    stanza, or other values of its own, e.g. `installHint`; a field given None is left out)."""
    args = ["token", "--namespace-id", namespace_id] if args is None else list(args)
    exec_ = {"apiVersion": "client.authentication.k8s.io/v1", "interactiveMode": "Never",
             "command": command, "args": args, **exec_fields}  # fmt: skip
    return {"exec": {name: value for name, value in exec_.items() if value is not None}}


_FIRST = "the first context"


def kubeconfig_document(
    users: Mapping[str, Mapping[str, Any]],
    contexts: Mapping[str, Mapping[str, Any]] | Sequence[str] | None = None,
    *,
    clusters: Mapping[str, Mapping[str, Any]] | None = None,
    server: str = "https://k8s.example",
    current: str | None = _FIRST,
) -> dict[str, Any]:
    """The one kubeconfig builder of the tests (`write_kubeconfig` writes what it builds).

    users: name -> the user (`rgpu_exec_user()`, `{}` for none). contexts: name -> the context
    (its `user`, and `cluster` and `namespace` if any), or only names (each of the first user);
    by default one per user, named after it.
    clusters: name -> the cluster; by default one, `rgpu`, at `server`, which a context without
    a cluster uses. current: the current context; by default the first, None for none."""
    clusters = clusters or {"rgpu": {"server": server}}
    default_cluster = next(iter(clusters))
    if contexts is None:
        contexts = {name: {"user": name} for name in users}
    elif not isinstance(contexts, Mapping):
        contexts = {name: {"user": next(iter(users))} for name in contexts}
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": dict(c)} for n, c in clusters.items()],
        "contexts": [
            {"name": n, "context": {"cluster": default_cluster, **c}} for n, c in contexts.items()
        ],
        "users": [{"name": n, "user": dict(u)} for n, u in users.items()],
    }
    if current == _FIRST:
        current = next(iter(contexts), None)
    if current is not None:
        document["current-context"] = current
    return document


def write_kubeconfig(
    path: Path, users: Mapping[str, Mapping[str, Any]], *args: Any, **options: Any
) -> Path:
    """Write `kubeconfig_document(users, …)` at `path` (JSON, which is YAML), and return it."""
    path.write_text(json.dumps(kubeconfig_document(users, *args, **options)))
    return path


def team_ml_kubeconfig(path: Path, exec_args: Sequence[str], namespace: str = "team-ml") -> Path:
    """One context, `rgpu-team-ml`, as `kubeconfig generate` writes it for team-ml, whose exec
    stanza runs `rgpu-exec exec_args…`; `namespace`: the context's namespace, as if switched."""
    name = "rgpu-team-ml"
    return write_kubeconfig(
        path,
        {name: rgpu_exec_user(args=exec_args)},
        {name: {"cluster": name, "user": name, "namespace": namespace}},
        clusters={name: {"server": "https://k8s.example"}},
    )


def console_kubeconfig(
    api_url: str = "https://api.remotegpu.ai",
    server: str = "https://k8s.example:6443",
    cluster_line: str = "",
) -> str:
    """The console's download for namespace team-ml (`NAMESPACE_ID`): its curl stanza asks
    `api_url`; `cluster_line` is one more line of the cluster (a CA setting, say)."""
    extra = f"\n    {cluster_line}" if cluster_line else ""
    url = f"{api_url}/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"
    return f"""\
apiVersion: v1
kind: Config
clusters:
- name: remotegpu
  cluster:
    server: {server}{extra}
contexts:
- name: remotegpu-team-ml
  context: {{cluster: remotegpu, user: remotegpu, namespace: team-ml}}
current-context: remotegpu-team-ml
users:
- name: remotegpu
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      interactiveMode: Never
      command: sh
      args: ["-c", "curl -fsS -X POST -H \\"x-api-key: $REMOTEGPU_API_KEY\\" {url}"]
"""


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
def fake_api() -> Iterator[FakeApi]:
    """The exchange endpoint at `exchange_answers.FAKE_API`, scripted (`FakeApi`, over respx)."""
    with FakeApi().serving() as fake:
        yield fake


@pytest.fixture
def run_token(
    cli: Cli, emulated_exchange: Exchange
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed `rgpu-exec token` as kubectl would, against the emulator (its namespace
    team-ml, with its key unless `key`): each run the child of a process of its own, as each
    kubectl command is (`own_parent`)."""

    def run(
        *extra: str, env: dict[str, str] | None = None, key: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        environ = {"REMOTEGPU_API_KEY": key or emulated_exchange.key}
        environ.update(env or {})
        return cli(*emulated_exchange.args(*extra), env=environ, new_parent=True)

    return run


@pytest.fixture
def run_token_in_process(run_cli: RunCli, fake_api: FakeApi) -> Callable[..., CliRun]:
    """`rgpu-exec token` as kubectl runs it, in this process (`run_cli`), against the fake API
    (`fake_api`): each run with a parent of its own, as each kubectl command has."""

    def run(*extra: str, env: dict[str, str] | None = None, key: str | None = API_KEY) -> CliRun:
        environ = {} if key is None else {"REMOTEGPU_API_KEY": key}
        environ.update(env or {})
        argv = ["token", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url, *extra]
        return run_cli(argv, env=environ, new_parent=True)

    return run
