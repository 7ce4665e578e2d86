"""The output gate (`rgpu_exec.output`) is the only way to stdout and stderr: a scan of every
module of src/ finds any other write, and is shown to catch each kind of bypass planted."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rgpu_exec

SRC = Path(rgpu_exec.__file__).parent
# The named exceptions: the gate itself; the cache-hit path's one writer (a cached
# ExecCredential, or the message of a failure record, cleaned by the gate when it was written);
# and the redirect of stdout to /dev/null once its reader went away (it writes nothing).
ALLOWED = {
    ("rgpu_exec.output", None),
    ("rgpu_exec.hotpath.cache_hit", "main"),
    ("rgpu_exec.hotpath.exec_credential", "output_gone"),
}
STREAMS = {"stdout", "stderr", "__stdout__", "__stderr__"}
# Calls that write to a standard stream of their own accord.
WRITING_CALLS = {
    "print", "pprint", "print_help", "print_usage", "print_exc", "print_exception",
    "print_stack", "basicConfig", "StreamHandler", "getpass", "redirect_stdout",
    "redirect_stderr",
}  # fmt: skip
FD_CALLS = {"write", "writev", "fdopen", "open", "dup2"}
STANDARD_FDS = {1, 2}
STANDARD_FILES = {"/dev/stdout", "/dev/stderr", "/dev/fd/1", "/dev/fd/2"}


class _Scan(ast.NodeVisitor):
    def __init__(self) -> None:
        self.functions: list[str] = []
        self.found: list[tuple[str | None, int, str]] = []

    def _report(self, node: ast.AST, what: str) -> None:
        function = self.functions[-1] if self.functions else None
        self.found.append((function, getattr(node, "lineno", 0), what))

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        # The outermost function names the place: a nested helper belongs to it.
        self.functions.append(self.functions[0] if self.functions else node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815 - ast.NodeVisitor names it so

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in STREAMS and isinstance(node.value, ast.Name) and node.value.id == "sys":
            self._report(node, f"sys.{node.attr}")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "sys" and any(alias.name in STREAMS for alias in node.names):
            self._report(node, "from sys import a standard stream")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _called(node.func)
        if name in WRITING_CALLS:
            self._report(node, f"{name}()")
        elif name in FD_CALLS and node.args and _standard_stream(node.args[0]):
            self._report(node, f"{name}() of a standard stream")
        elif name == "exit" and (len(node.args) > 1 or _is_text(node.args[:1])):
            self._report(node, "exit() with a message")  # argparse's, or sys.exit("…")
        self.generic_visit(node)


def _called(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _standard_stream(arg: ast.expr) -> bool:
    if isinstance(arg, ast.Constant):
        return arg.value in STANDARD_FDS or arg.value in STANDARD_FILES
    return isinstance(arg, ast.Call) and _called(arg.func) == "fileno"


def _is_text(args: list[ast.expr]) -> bool:
    return bool(args) and (
        isinstance(args[0], ast.JoinedStr)
        or (isinstance(args[0], ast.Constant) and isinstance(args[0].value, str))
    )


def bypasses(source: str, module: str) -> list[str]:
    """Every direct write to stdout or stderr in `source`, but the named exceptions."""
    scan = _Scan()
    scan.visit(ast.parse(source))
    return [
        f"{module}:{line} {what} (in {function or 'the module'})"
        for function, line, what in scan.found
        if (module, None) not in ALLOWED and (module, function) not in ALLOWED
    ]


def modules() -> list[tuple[str, Path]]:
    """Every module of the package, listed from disk (a new one is scanned without editing
    this test)."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        found.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return found


def test_no_module_but_the_gate_writes_to_stdout_or_stderr():
    found = [hit for name, path in modules() for hit in bypasses(path.read_text(), name)]

    assert len(modules()) > 50  # the scan sees the whole package
    assert found == []


PLANTED = {
    "print": "print('hello')",
    "print-to-stderr": "import sys\nprint('x', file=sys.stderr)",
    "stdout-write": "import sys\nsys.stdout.write('x')",
    "stderr-write": "import sys\nsys.stderr.write('x')",
    "stream-passed-on": "import sys\nsink(sys.stdout)",
    "original-stream": "import sys\nsys.__stderr__.write('x')",
    "from-sys-import": "from sys import stderr\nstderr.write('x')",
    "os-write-fd-1": "import os\nos.write(1, b'x')",
    "os-write-fd-2": "import os\nos.write(2, b'x')",
    "fdopen-stdout": "import os\nos.fdopen(1, 'w').write('x')",
    "open-dev-stderr": "open('/dev/stderr', 'w').write('x')",
    "write-to-a-fileno": "import os, sys\nos.write(out.fileno(), b'x')",
    "argparse-help": "parser.print_help()",
    "argparse-usage": "parser.print_usage()",
    "argparse-exit-message": "parser.exit(2, 'bad')",
    "sys-exit-message": "import sys\nsys.exit('rgpu-exec: failed')",
    "sys-exit-f-string": "import sys\nsys.exit(f'rgpu-exec: {why}')",
    "logging-handler": "import logging\nlogging.StreamHandler()",
    "logging-basic-config": "import logging\nlogging.basicConfig()",
    "traceback": "import traceback\ntraceback.print_exc()",
    "pprint": "import pprint\npprint.pprint({})",
    "getpass-prompt": "import getpass\ngetpass.getpass('key: ')",
    "redirect": "import contextlib\ncontextlib.redirect_stdout(f)",
    "inside-a-function": "import sys\ndef f():\n    def g():\n        sys.stdout.write('x')\n",
}


@pytest.mark.parametrize("source", PLANTED.values(), ids=PLANTED.keys())
def test_the_scan_catches_a_planted_bypass(source):
    assert bypasses(source, "rgpu_exec.commands.planted") != []


def test_the_named_exceptions_are_exact_a_write_beside_them_is_caught():
    cache_hit = (SRC / "hotpath" / "cache_hit.py").read_text()
    planted = cache_hit + "\n\ndef planted():\n    sys.stderr.write('x')\n"

    assert bypasses(cache_hit, "rgpu_exec.hotpath.cache_hit") == []
    [found] = bypasses(planted, "rgpu_exec.hotpath.cache_hit")
    assert found.endswith(" sys.stderr (in planted)")
    assert bypasses("import sys\nsys.stdout.write('x')", "rgpu_exec.output") == []


def test_reading_a_standard_stream_or_exiting_with_a_code_is_no_write():
    quiet = "import sys\nsys.exit(main())\nsys.exit(2)\nos.write(fd, b'x')\nos.exit(0)\n"
    assert bypasses(quiet, "rgpu_exec.cli") == []
