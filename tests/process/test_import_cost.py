"""What each path imports: the cache-hit path only the standard library, and none of its costly
parts; TAB completion, `--help`, a mistyped command, `kubeconfig list` and a cold `token` each
none of the modules on their list of what they must not load (import budgets).

Measured with `python -X importtime` on the installed programs, as kubectl and people run them.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import rgpu_exec

from conftest import NAMESPACE_ID, team_ml_kubeconfig

if TYPE_CHECKING:
    from emulator_support import Exchange

# Standard-library modules that cost a visible share of a bare interpreter's start-up.
COSTLY_STDLIB = {"re", "json", "hashlib", "argparse", "pathlib", "typing", "dataclasses", "enum", "logging", "ssl", "email", "tempfile", "random", "datetime"}  # fmt: skip
# As kubectl sends it: its JSON encoder ends the value with a newline.
V1_INFO = '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}\n'


def imported_modules(argv: list[str], env: dict[str, str], code: int = 0) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == code, result.stderr
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    return names


def test_cache_hit_imports_only_cheap_standard_library(
    run_token, emulated_exchange: Exchange, rgpu_exec_bin
) -> None:
    assert run_token().returncode == 0  # fill the cache
    env = emulated_exchange.env(KUBERNETES_EXEC_INFO=V1_INFO)
    argv = [rgpu_exec_bin, *emulated_exchange.args()]

    baseline = imported_modules(["-c", "pass"], env)
    on_hit = imported_modules(argv, env) - baseline

    assert emulated_exchange.count == 1, "the measured run was a cache hit"
    ours = {m for m in on_hit if m.split(".")[0] == "rgpu_exec"}
    expected = set(HOT_MODULES) - NOT_ON_A_USUAL_HIT
    assert ours == {"rgpu_exec", *(f"rgpu_exec.{m}" for m in expected)}
    third_party = {m for m in on_hit - ours if m.split(".")[0] not in sys.stdlib_module_names}
    assert third_party == set()
    assert on_hit & COSTLY_STDLIB == set()


def test_the_checker_sees_the_slow_path(
    emulated_exchange: Exchange, rgpu_exec_bin, sandbox: Path
) -> None:
    # The test above must be able to fail: a miss imports httpx and pydantic, and it sees them.
    env = emulated_exchange.env(RGPU_EXEC_CACHE_DIR=str(sandbox / "cold"))
    names = imported_modules([rgpu_exec_bin, *emulated_exchange.args()], env)
    assert emulated_exchange.count == 1, "the measured run was a miss"
    assert {"httpx", "pydantic", "json"} <= names


PACKAGE = Path(rgpu_exec.__file__).parent
# The whole hotpath/ folder, however it grows: every module in it is the cache-hit path's.
HOT_MODULES = sorted(
    "hotpath" if p.stem == "__init__" else f"hotpath.{p.stem}"
    for p in (PACKAGE / "hotpath").glob("*.py")
)


# Not loaded on a usual hit: the exec info scanner only for exec info kubectl does not usually
# send (spec.cluster, the Python client's: tests/process/test_exec_info_with_cluster_takes_the_
# hit_path.py checks that hit); the entry lock only on a miss; the failure record only when the
# entry is not fresh; the URL rules only on the full path (the cache holds nothing for a URL
# they refuse); a typed key's note only on the full path, when no key is kept.
NOT_ON_A_USUAL_HIT = {
    "hotpath.exec_info_scan",
    "hotpath.entry_lock",
    "hotpath.failures",
    "hotpath.url_rules",
    "hotpath.typed_key",  # the full path's, before a prompt (no hit needs it)
}


def test_the_hot_path_is_the_whole_hotpath_folder() -> None:
    assert {"hotpath", "hotpath.cache_hit", "hotpath.request", "hotpath.token_cache"} <= set(
        HOT_MODULES
    )


@pytest.mark.parametrize("module", [*HOT_MODULES, "__init__"])
def test_hot_modules_import_only_cheap_stdlib_statically(module: str) -> None:
    relative = "__init__.py" if module == "__init__" else module.replace(".", "/") + ".py"
    if module == "hotpath":
        relative = "hotpath/__init__.py"
    source = (PACKAGE / relative).read_text()
    tree = ast.parse(source)
    top_level = set()
    for node in tree.body:  # module level only: imports inside functions are the slow path's
        if isinstance(node, ast.Import):
            top_level |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            top_level.add(node.module.split(".")[0])
    allowed = {"__future__", "os", "sys", "stat", "time", "rgpu_exec"}
    assert top_level <= allowed


@pytest.mark.slow  # starts processes itself
@pytest.mark.parametrize(
    "module",
    sorted(
        "rgpu_exec."
        + ".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        for p in PACKAGE.rglob("*.py")
        if p.stem != "__main__"
    ),
)
def test_each_module_imports_alone(module: str) -> None:
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, timeout=60)


# Import budgets: what each path beyond the cache hit must not load. A module of ours is named by
# its prefix (`rgpu_exec.usecases.` is every use case); one creeping back fails its test.
THIRD_PARTY_HEAVY = {"pydantic", "pydantic_core", "httpx", "httpcore", "keyring", "ruamel", "yaml", "platformdirs", "certifi", "filelock"}  # fmt: skip
EVERY_SERVICE = ("rgpu_exec.api", "rgpu_exec.credentials", "rgpu_exec.cache.", "rgpu_exec.kubeconfig", "rgpu_exec.kube.", "rgpu_exec.usecases.")  # fmt: skip


def loaded(names: set[str], *prefixes: str) -> set[str]:
    """The modules of `names` that are, or are under, one of `prefixes` (a prefix ending in a
    dot names what is under it only)."""
    return {n for n in names for p in prefixes if (n == p.rstrip(".") and not p.endswith(".")) or n.startswith(p.rstrip(".") + ".")}  # fmt: skip


def test_the_budget_checker_sees_what_a_path_loads() -> None:
    # The budgets below must be able to fail: `loaded` finds a module and what is under it.
    names = {"rgpu_exec.usecases", "rgpu_exec.usecases.token", "rgpu_exec.apis", "ruamel.yaml"}
    assert loaded(names, "rgpu_exec.usecases.") == {"rgpu_exec.usecases.token"}
    assert loaded(names, "rgpu_exec.api", "ruamel") == {"ruamel.yaml"}


@pytest.mark.slow  # starts the installed program itself
def test_a_tab_completion_builds_no_parser_and_loads_no_command(sandbox: Path) -> None:
    program = str(Path(sys.executable).parent / "kubectl_complete-rgpu")
    names = imported_modules([program, "kubeconfig", ""], dict(os.environ))
    assert "rgpu_exec.completion.table" in names, "the measured run was a TAB"
    assert names & {"argparse", "dataclasses", "typing", "json", "logging", "pathlib"} == set()
    # A TAB goes through commands/ (commands.complete), which builds no parser.
    assert loaded(names, "rgpu_exec.commands", "rgpu_exec.cli_parser", *EVERY_SERVICE) == {
        "rgpu_exec.commands",
        "rgpu_exec.commands.complete",
        "rgpu_exec.usecases.completion",
    }
    assert {n.split(".")[0] for n in names} & THIRD_PARTY_HEAVY == set()


@pytest.mark.parametrize(("argv", "code"), [(["--help"], 0), (["tokn"], 2), (["--version"], 0)])
def test_help_and_a_mistyped_command_load_no_command_and_no_use_case(
    rgpu_exec_bin: str, argv: list[str], code: int
) -> None:
    names = imported_modules([rgpu_exec_bin, *argv], dict(os.environ), code)
    assert "rgpu_exec.cli_parser" in names, "the measured run built the parser"
    assert loaded(names, "rgpu_exec.commands.", *EVERY_SERVICE) == {"rgpu_exec.commands.usage"}
    assert names & {"dataclasses", "json", "logging", "pathlib", "ssl"} == set()
    assert {n.split(".")[0] for n in names} & THIRD_PARTY_HEAVY == set()


@pytest.mark.parametrize("argv", [["version"], ["--version", "-o", "json"]])
def test_version_loads_its_own_use_case_only_and_no_library(
    rgpu_exec_bin: str, argv: list[str]
) -> None:
    names = imported_modules([rgpu_exec_bin, *argv], dict(os.environ))
    assert "rgpu_exec.usecases.version" in names, "the measured run was `version`"
    assert loaded(names, *EVERY_SERVICE) == {"rgpu_exec.usecases.version"}
    assert {n.split(".")[0] for n in names} & THIRD_PARTY_HEAVY == set()
    assert names & {"ssl", "logging"} == set()


def test_kubeconfig_list_loads_no_http_no_validation_and_no_keyring(
    rgpu_exec_bin: str, sandbox: Path
) -> None:
    team_ml_kubeconfig(sandbox / "kubeconfig", ["token", "--namespace-id", NAMESPACE_ID])
    names = imported_modules([rgpu_exec_bin, "kubeconfig", "list"], dict(os.environ))
    assert "rgpu_exec.usecases.kubeconfig_list" in names, "the measured run listed"
    other_use_cases = loaded(names, "rgpu_exec.usecases.") - {"rgpu_exec.usecases.kubeconfig_list"}
    assert other_use_cases == set()
    assert loaded(names, "rgpu_exec.api", "rgpu_exec.credentials", "rgpu_exec.http_gate") == set()
    # It reads YAML (ruamel); PyYAML bounds the expansion of aliases, and this file has none.
    assert {n.split(".")[0] for n in names} & THIRD_PARTY_HEAVY == {"ruamel"}
    assert names & {"ssl", "logging"} == set()


def test_a_cold_token_loads_only_what_one_exchange_needs(
    emulated_exchange: Exchange, rgpu_exec_bin: str, sandbox: Path
) -> None:
    env = emulated_exchange.env(RGPU_EXEC_CACHE_DIR=str(sandbox / "cold"))
    names = imported_modules([rgpu_exec_bin, *emulated_exchange.args()], env)
    assert emulated_exchange.count == 1, "the measured run was a miss"
    assert "rgpu_exec.commands.token" in names, "the measured run parsed `token`"
    use_cases = {"rgpu_exec.usecases.token", "rgpu_exec.usecases.key_exchange", "rgpu_exec.usecases.token_failures", "rgpu_exec.usecases.token_storage"}  # fmt: skip
    assert loaded(names, "rgpu_exec.usecases.") == use_cases
    # The kubeconfig's files are read as text (is the API URL's host a cluster's server?),
    # never parsed unless one names that host: `files`, but no `view` or `listing`.
    assert loaded(names, "rgpu_exec.kubeconfig", "rgpu_exec.kube.", "rgpu_exec.commands.") <= {
        "rgpu_exec.commands.token",
        "rgpu_exec.commands.usage",
        "rgpu_exec.kubeconfig",
        "rgpu_exec.kubeconfig.files",
    }
    # The key comes from the environment: no keyring; no YAML (httpx imports certifi's module,
    # but plain http reads not its CA bundle).
    heavy = {n.split(".")[0] for n in names} & THIRD_PARTY_HEAVY
    assert heavy == {"pydantic", "pydantic_core", "httpx", "httpcore", "certifi"}


# Every command imports its use case inside `run`: a usage error loads none.
@pytest.mark.parametrize(
    "command",
    ["kubeconfig", "login", "logout", "whoami", "check", "doctor", "cache", "scope", "version", "token"],
)  # fmt: skip
def test_a_usage_error_in_a_command_loads_no_use_case(rgpu_exec_bin: str, command: str) -> None:
    names = imported_modules([rgpu_exec_bin, command, "--no-such-flag"], dict(os.environ), 2)
    assert f"rgpu_exec.commands.{'login' if command == 'logout' else command}" in names
    assert loaded(names, "rgpu_exec.usecases.") == set()
