"""Every file rgpu-exec writes goes through the write gate: `hotpath/private_files.py` (the
cache's files and the key file, `write_atomically`) and `kubeconfig/files.py` (kubeconfig files,
their lock and backup), which both apply `private_files.write_target_problem`. An AST scan of
the package finds any other write (a rename, a file opened for writing, `Path.write_text`, a
temp file); a planted bypass shows the scan can fail."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "rgpu_exec"
GATES = {"hotpath/private_files.py", "kubeconfig/files.py"}
# Writes that are not files rgpu-exec keeps, each with why it needs no gate.
ALLOWED = {
    ("hotpath/entry_lock.py", "os.open"): "an empty lock file, O_NOFOLLOW, in the checked cache",
    ("hotpath/second_ask.py", "os.open"): "appends to a .served record only after read_private_fd "
    "found it a regular private file of ours (never creates one: that is write_atomically)",
    ("hotpath/exec_credential.py", "os.open"): "os.devnull put under stdout when its reader left",
    ("credentials/api_key.py", "os.open"): "/dev/tty, for the prompt",
    ("credentials/prompt.py", "os.open"): "/dev/tty, for the prompt",
}
_WRITE_FLAGS = {"O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC"}
_ALWAYS = {
    "os.replace", "os.rename", "os.renames", "os.link", "os.symlink", "os.truncate",
    "os.mknod", "os.mkfifo", "shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.move",
    "tempfile.mkstemp", "tempfile.NamedTemporaryFile", "tempfile.TemporaryFile",
}  # fmt: skip
_PATH_WRITES = {"write_text", "write_bytes", "touch", "rename", "symlink_to", "hardlink_to"}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return "?"


def _flag_names(node: ast.AST, constants: dict[str, ast.expr]) -> set[str]:
    """The O_* names an os.open flags expression uses, module-level constants followed."""
    found: set[str] = set()
    for part in ast.walk(node):
        if isinstance(part, ast.Attribute):
            found.add(part.attr)
        elif isinstance(part, ast.Name):
            found.add(part.id)
            if part.id in constants:
                found |= _flag_names(constants[part.id], constants)
        elif isinstance(part, ast.Constant) and isinstance(part.value, str):
            found.add(part.value)  # getattr(os, "O_APPEND", 0)
    return found


def _mode(call: ast.Call, position: int) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == "mode" and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    given = call.args[position] if len(call.args) > position else None
    return str(given.value) if isinstance(given, ast.Constant) else None


def writes(source: str) -> list[tuple[int, str]]:
    """(line, what) for every call in `source` that writes a file."""
    tree = ast.parse(source)
    constants = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else name
        what = None
        if name in _ALWAYS:
            what = name
        elif name == "os.open" and len(node.args) > 1:
            if _flag_names(node.args[1], constants) & _WRITE_FLAGS:
                what = "os.open"
        elif name in {"open", "io.open", "os.fdopen"} or attr == "open":
            mode = _mode(node, 0 if attr == "open" and name not in {"open", "io.open"} else 1)
            if mode is not None and set(mode) & set("wax+"):
                what = f"{name}(mode {mode!r})"
        elif attr in _PATH_WRITES:
            what = f".{attr}"
        elif attr == "replace" and len(node.args) == 1 and not node.keywords:
            what = ".replace (Path.replace)"  # str.replace takes two arguments
        if what is not None:
            found.append((node.lineno, what))
    return found


def bypasses() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if module in GATES:
            continue
        for line, what in writes(path.read_text(encoding="utf-8")):
            if (module, what) not in ALLOWED:
                found.append(f"{module}:{line}: {what}")
    return found


def test_no_module_writes_a_file_around_the_write_gate():
    assert bypasses() == [], (
        "write files through private_files.write_atomically or kubeconfig.files.write (the "
        "write gate), or add the module to ALLOWED with why it needs no gate"
    )


def test_the_gates_themselves_are_found_writing():
    gates = {m: writes((PACKAGE / m).read_text(encoding="utf-8")) for m in GATES}
    assert all(gates.values()), "the scan does not see the gates' own writes: it cannot fail"


@pytest.mark.parametrize(
    "planted",
    [
        "import os\nos.replace(tmp, path)\n",
        "import os\nos.rename(a, b)\n",
        "from pathlib import Path\nPath(p).write_text(text)\n",
        "from pathlib import Path\nPath(p).write_bytes(data)\n",
        "from pathlib import Path\nPath(p).replace(q)\n",
        "open(path, 'w').write(text)\n",
        "open(path, mode='a')\n",
        "from pathlib import Path\nwith Path(p).open('w') as f:\n    f.write(text)\n",
        "import os\nfd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o600)\n",
        "import os\n_FLAGS = os.O_RDWR | os.O_APPEND\nfd = os.open(p, _FLAGS)\n",
        "import os\nwith os.fdopen(fd, 'w') as f:\n    pass\n",
        "import tempfile\ntempfile.mkstemp(dir=d)\n",
        "import shutil\nshutil.copy(a, b)\n",
    ],
)
def test_a_planted_write_is_found(planted: str):
    assert writes(planted), f"the scan missed: {planted!r}"


@pytest.mark.parametrize(
    "harmless",
    [
        "text = text.replace('a', 'b')\n",
        "import os\nfd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)\n",
        "with open(path, 'rb') as f:\n    f.read()\n",
        "from pathlib import Path\nPath(p).read_text()\n",
    ],
)
def test_a_read_is_not_taken_for_a_write(harmless: str):
    assert writes(harmless) == []


def test_every_allowed_write_is_still_there():
    seen = {
        (module, what)
        for module, _ in ALLOWED
        for _, what in writes((PACKAGE / module).read_text(encoding="utf-8"))
    }
    assert set(ALLOWED) <= seen, "an allowance no write needs any more: remove it"
