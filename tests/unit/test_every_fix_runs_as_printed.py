"""Every fix works as printed: a command rgpu-exec tells people to run is one they can paste and
run as it stands. `fixes.command` is its one owner (argv parts, each shown and shell-quoted);
these tests hold the source to it: no command written with a hole in it (`…`, `<ID>`, `NAME`),
no value put into a command except through `fixes.command`, and one writer of `fix:` lines."""

from __future__ import annotations

import ast
import functools
import re
import shlex
from pathlib import Path

import pytest

from rgpu_exec import fixes, terminal

SOURCE = Path(__file__).resolve().parents[2] / "src" / "rgpu_exec"
VALUE = "\x00"  # where an f-string puts a value
QUOTED = re.compile(r"`([^`]*)`")
# The programs a message names as a command to run (text in backticks that starts otherwise is
# a YAML line or a flag, such as `interactiveMode: Never`).
PROGRAMS = frozenset({"rgpu-exec", "kubectl", "export", "unset", "rm", "chmod", "mkdir", "command"})


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        kinds = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        if isinstance(node, kinds) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


@functools.cache
def _texts(path: Path) -> list[tuple[int, str]]:
    """Every string the module writes (docstrings aside), values as VALUE."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip |= {id(part) for part in node.values}
    texts = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                str(p.value) if isinstance(p, ast.Constant) else VALUE for p in node.values
            )
            texts.append((node.lineno, text))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append((node.lineno, node.value))
    return texts


@functools.cache
def _commands() -> list[tuple[str, str]]:
    """(where, command text) for every command quoted in a message of the source."""
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        for line, text in _texts(path):
            for quoted in QUOTED.findall(text):
                first = quoted.split(" ", 1)[0].split(VALUE, 1)[0]
                if first in PROGRAMS:
                    found.append((f"{path.relative_to(SOURCE)}:{line}", quoted))
    return found


def test_the_scan_finds_the_commands_of_the_messages() -> None:
    """The scan below cannot pass by finding nothing: the source's messages name commands."""
    commands = {text for _, text in _commands()}
    assert len(commands) > 20
    assert "rgpu-exec kubeconfig list" in commands


def test_no_command_in_a_message_has_a_placeholder() -> None:
    holes = [
        f"{where}: `{text}` ({fixes.placeholder(text)!r})"
        for where, text in _commands()
        if VALUE not in text and fixes.placeholder(text) is not None
    ]
    assert not holes, "a fix must run as printed; say where to find a value instead:\n" + (
        "\n".join(holes)
    )


def test_nothing_quoted_in_a_message_has_an_ellipsis_or_an_angle_placeholder() -> None:
    """Not a command either (a flag, a YAML line): `--namespace-id <namespace UUID>` is a hole
    the user must fill in without being told where from."""
    holes = []
    for path in sorted(SOURCE.rglob("*.py")):
        for line, text in _texts(path):
            quoted = [q.replace(VALUE, "x") for q in QUOTED.findall(text)]
            holes += [
                f"{path.relative_to(SOURCE)}:{line}: `{q}`"
                for q in quoted
                if re.search(r"…|\.\.\.|<[A-Za-z]", q) and fixes.placeholder(q)
            ]
    assert not holes, "say where to find the value instead:\n" + "\n".join(holes)


def test_every_value_in_a_command_is_quoted_by_the_fix_owner() -> None:
    """A value put into backticks by an f-string is neither quoted nor shown: a context named
    `a b` or `x; rm -rf ~` would print a command that does something else."""
    unquoted = [f"{where}: `{text}`" for where, text in _commands() if VALUE in text]
    assert not unquoted, "build commands with fixes.command(*argv):\n" + "\n".join(unquoted)


def test_only_the_doctor_and_the_cache_directory_rule_print_fix_lines() -> None:
    """The writers of `fix:`: the doctor's list (each finding's fix), and `To fix: ` followed
    by the cache directory's fix; and the CLI's rerun of a command a setting fixes (`cache_directory_fix`, built with `fixes.command`)."""
    writers = {}
    for path in SOURCE.rglob("*.py"):
        said = [text for _, text in _texts(path) if "fix:" in text]
        if said:
            writers[str(path.relative_to(SOURCE))] = said
    assert sorted(writers) == [
        "cli.py",
        "commands/cache.py",
        "commands/doctor.py",
        "usecases/cache_admin.py",
    ]
    # cli.py: a failure a setting fixes, run again under it (`_with_rerun`), built by the owner.
    assert writers["cli.py"] == [f"{VALUE} fix: {VALUE}"]
    assert "fixes.sequence(" in (SOURCE / "cli.py").read_text()
    for name in ("commands/cache.py", "usecases/cache_admin.py"):
        assert all(f"To fix: {VALUE}." in text for text in writers[name])
    # cache.py says `found.fix`: the listing's `fix`, which is that rule too.
    assert (SOURCE / "usecases/cache_admin.py").read_text().count("cache_directory_fix(") == 2


@pytest.mark.parametrize(
    "value",
    ["team cv", "x; rm -rf ~", "$(id)", "it's", "tab\there", "esc\x1b[8mhidden", "-n", ""],
)
def test_a_fix_quotes_and_shows_every_value_so_it_runs_as_printed(value: str) -> None:
    printed = fixes.command("kubectl", "config", "set-context", value, "--namespace", "team-ml")

    assert printed.startswith("`")
    assert printed.endswith("`")
    assert printed.isprintable()
    words = shlex.split(printed[1:-1])
    expected = ["kubectl", "config", "set-context", terminal.shown(value), "--namespace", "team-ml"]
    assert words == expected


@pytest.mark.parametrize(
    ("command", "hole"),
    [
        ("rgpu-exec kubeconfig generate --namespace team-cv …", "…"),
        ("rgpu-exec token --namespace-id <ID>", "<ID>"),
        ("--namespace-id <namespace UUID>", "<namespace UUID>"),
        ("rgpu-exec kubeconfig import FILE --replace", "FILE"),
        ("rgpu-exec kubeconfig generate ... --server x", "..."),
        ("rgpu-exec login --profile 'unbalanced", "rgpu-exec login --profile 'unbalanced"),
    ],
)
def test_a_placeholder_is_found(command: str, hole: str) -> None:
    assert fixes.placeholder(command) == hole


@pytest.mark.parametrize(
    "command",
    [
        "rgpu-exec login --profile ci",
        "export KUBECONFIG=/home/u/.kube/config",
        "unset REMOTEGPU_API_KEY",
        "kubectl config set-context 'team cv' --namespace team-ml",
        "rgpu-exec kubeconfig list",
    ],
)
def test_a_command_that_runs_as_it_stands_has_no_placeholder(command: str) -> None:
    assert fixes.placeholder(command) is None
