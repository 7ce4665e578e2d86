"""Every request passes the HTTP gate: httpx (and any other way to open an HTTP connection) is
used nowhere in the product but `rgpu_exec/http_gate.py`. A new command that builds its own
client, and so skips the byte cap, identity encoding, the deadline or the no-redirect rule,
fails this test."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "rgpu_exec"
GATE = SRC / "http_gate.py"
# Modules that open HTTP connections: only the gate may use them.
CLIENTS = frozenset({"httpx", "httpcore", "h11", "h2", "urllib3", "requests", "aiohttp"})
STDLIB_CLIENTS = frozenset({"http.client", "urllib.request"})


def _root(name: str) -> str:
    return name.split(".", maxsplit=1)[0]


def _is_client(name: str) -> bool:
    return _root(name) in CLIENTS or any(
        name == m or name.startswith(m + ".") for m in STDLIB_CLIENTS
    )


def bypasses(source: str) -> list[str]:
    """Every import or dynamic import of an HTTP client in `source`, however it is written:
    `import httpx`, `from httpx import Client`, `import urllib.request`, `__import__("httpx")`,
    `importlib.import_module("httpx")`, type-checking imports included."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if _is_client(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _is_client(node.module):
                found.append(f"from {node.module} import …")
            elif node.module in {"urllib", "http"}:
                found += [
                    f"from {node.module} import {a.name}"
                    for a in node.names
                    if _is_client(f"{node.module}.{a.name}")
                ]
        elif isinstance(node, ast.Call) and node.args:
            callee = node.func
            name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
            first = node.args[0]
            if (
                name in {"__import__", "import_module"}
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and _is_client(first.value)
            ):
                found.append(f"{name}({first.value!r})")
    return found


def test_no_module_but_the_gate_uses_an_http_client():
    offenders = {
        str(path.relative_to(SRC)): found
        for path in sorted(SRC.rglob("*.py"))
        if path != GATE and (found := bypasses(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, "every request must go through rgpu_exec.http_gate"


def test_the_gate_itself_is_where_httpx_is_used():
    assert "import httpx" in bypasses(GATE.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "planted",
    [
        pytest.param("import httpx\nhttpx.get('https://x.test')", id="import"),
        pytest.param("from httpx import Client\nClient().get('https://x.test')", id="from"),
        pytest.param(
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import httpx\n",
            id="type-checking",
        ),
        pytest.param("def f():\n    import httpx as h\n    return h\n", id="function-level"),
        pytest.param("m = __import__('httpx')", id="dunder-import"),
        pytest.param("import importlib\nm = importlib.import_module('httpx')", id="importlib"),
        pytest.param("import urllib.request\nurllib.request.urlopen('x')", id="urllib"),
        pytest.param("from urllib import request", id="from-urllib"),
        pytest.param("from http import client", id="http-client"),
        pytest.param("import httpcore", id="httpcore"),
    ],
)
def test_a_planted_bypass_is_caught(planted: str, tmp_path: Path):
    module = tmp_path / "new_command.py"
    module.write_text(planted, encoding="utf-8")
    assert bypasses(module.read_text(encoding="utf-8")), planted


def test_harmless_code_is_not_taken_for_a_bypass():
    source = "import json\nfrom urllib.parse import urlsplit\nfrom rgpu_exec import http_gate\n"
    assert bypasses(source) == []
