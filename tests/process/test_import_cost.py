"""The cache-hit path imports only the standard library, and none of its costly parts.

Measured with `python -X importtime` on the installed launcher, as kubectl runs it.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rgpu_exec

from conftest import API_KEY, NAMESPACE_ID

# Standard-library modules that cost a visible share of a bare interpreter's start-up.
COSTLY_STDLIB = {"re", "json", "hashlib", "argparse", "pathlib", "typing", "dataclasses", "enum", "logging", "ssl", "email", "tempfile", "random", "datetime"}  # fmt: skip
# As kubectl sends it: its JSON encoder ends the value with a newline.
V1_INFO = '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}\n'


def imported_modules(argv: list[str], env: dict[str, str]) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    return names


def test_cache_hit_imports_only_cheap_standard_library(run_token, stub_api, rgpu_exec_bin) -> None:
    assert run_token().returncode == 0  # fill the cache
    env = dict(os.environ, REMOTEGPU_API_KEY=API_KEY, KUBERNETES_EXEC_INFO=V1_INFO)
    argv = [rgpu_exec_bin, "token", "--namespace-id", NAMESPACE_ID, "--api-url", stub_api.url]

    baseline = imported_modules(["-c", "pass"], env)
    on_hit = imported_modules(argv, env) - baseline

    assert stub_api.count == 1, "the measured run was a cache hit"
    ours = {m for m in on_hit if m.split(".")[0] == "rgpu_exec"}
    expected = set(HOT_MODULES) - NOT_ON_A_USUAL_HIT
    assert ours == {"rgpu_exec", *(f"rgpu_exec.{m}" for m in expected)}
    third_party = {m for m in on_hit - ours if m.split(".")[0] not in sys.stdlib_module_names}
    assert third_party == set()
    assert on_hit & COSTLY_STDLIB == set()


def test_the_checker_sees_the_slow_path(stub_api, rgpu_exec_bin, sandbox: Path) -> None:
    # The test above must be able to fail: a miss imports httpx and pydantic, and it sees them.
    env = dict(os.environ, REMOTEGPU_API_KEY=API_KEY, RGPU_EXEC_CACHE_DIR=str(sandbox / "cold"))
    argv = [rgpu_exec_bin, "token", "--namespace-id", NAMESPACE_ID, "--api-url", stub_api.url]
    names = imported_modules(argv, env)
    assert stub_api.count == 1, "the measured run was a miss"
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
# they refuse).
NOT_ON_A_USUAL_HIT = {
    "hotpath.exec_info_scan",
    "hotpath.entry_lock",
    "hotpath.failures",
    "hotpath.url_rules",
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
