"""The top-level command line: its help, mistyped commands, and RGPU_EXEC_LOG."""

from __future__ import annotations

import argparse
import json

import pytest

from rgpu_exec.cli import build_parser

from conftest import API_KEY, NAMESPACE_ID, CliRun, RunCli


def run_env(run_cli: RunCli, *args: str, **env: str) -> CliRun:
    """`rgpu-exec args…` with these variables set."""
    return run_cli([*args], env=env)


def test_top_level_help_lists_user_commands_first_and_token_last_with_examples(run_cli):
    result = run_env(run_cli, "--help")

    assert result.returncode == 0
    listed = [
        line.split()[0]
        for line in result.stdout.split("commands:", 1)[1].split("examples:", 1)[0].splitlines()
        if line.startswith("    ") and not line.startswith("      ")
    ]
    assert listed[0] == "kubeconfig"
    assert listed[-1] == "token"
    assert {"login", "whoami", "check", "doctor", "cache"} <= set(listed)
    examples = result.stdout.split("examples:", 1)[1]
    assert "rgpu-exec kubeconfig import" in examples
    assert "rgpu-exec whoami" in examples
    assert "exit codes:" in examples


@pytest.mark.parametrize(
    ("args", "typed", "guess", "help_of"),
    [
        pytest.param(["chek"], "chek", "check", "rgpu-exec", id="top-level"),
        pytest.param(["kubeconfig", "lsit"], "lsit", "list", "rgpu-exec kubeconfig", id="nested"),
        pytest.param(["cache", "clean"], "clean", "clear", "rgpu-exec cache", id="cache"),
    ],
)
def test_a_mistyped_command_gets_a_did_you_mean(run_cli, args, typed, guess, help_of):
    result = run_env(run_cli, *args)

    assert result.returncode == 2
    assert result.stderr.startswith(f"rgpu-exec: unknown command {typed!r} (commands: ")
    assert result.stderr.rstrip().endswith(f"did you mean {guess!r}? See `{help_of} --help`.")


def test_an_unknown_log_level_gets_the_same_warning_on_a_hit_and_on_a_miss(run_cli, fake_api):
    """One rule whatever the cache holds: the command runs, and says once that nothing is
    logged (kubectl must not work for 15 minutes and then fail)."""
    token = [
        "token", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url,
    ]  # fmt: skip
    warning = (
        "rgpu-exec: warning: RGPU_EXEC_LOG='1' is not a log level, so nothing is logged: set it "
        "to debug (each step) or info, or unset it.\n"
    )

    miss = run_env(run_cli, *token, RGPU_EXEC_LOG="1", REMOTEGPU_API_KEY=API_KEY)
    hit = run_env(run_cli, *token, RGPU_EXEC_LOG="1", REMOTEGPU_API_KEY=API_KEY)
    whoami = run_env(run_cli, "whoami", "--offline", RGPU_EXEC_LOG="1", REMOTEGPU_API_KEY=API_KEY)
    debug = run_env(run_cli, *token, RGPU_EXEC_LOG="DEBUG", REMOTEGPU_API_KEY=API_KEY)

    assert (miss.returncode, miss.stderr) == (0, warning)
    assert (hit.returncode, hit.stderr) == (0, warning)
    assert hit.stdout == miss.stdout
    assert fake_api.count == 1  # the second run was a cache hit
    assert (whoami.returncode, whoami.stderr) == (0, warning)
    assert debug.returncode == 0, debug.stderr
    assert "rgpu-exec: DEBUG:" in debug.stderr


def all_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from all_parsers(sub, (*path, name))


def test_every_command_with_output_takes_the_same_values_and_contexts_are_context():
    with_output, context_flags = [], set()
    for path, parser in all_parsers(build_parser(prog="rgpu-exec")):
        for action in parser._actions:
            if "-o" in action.option_strings:
                with_output.append(path)
                assert action.option_strings == ["-o", "--output"], path
                assert tuple(action.choices or ()) == ("table", "json", "yaml"), path
            context_flags |= {o for o in action.option_strings if "context" in o}

    assert {
        ("check",), ("doctor",), ("cache", "list"), ("scope", "validate"),
        ("kubeconfig", "list"), ("whoami",),
    } <= set(with_output)  # fmt: skip
    assert context_flags == {"--context", "--set-current-context"}


def test_each_command_lists_only_its_own_exit_codes():
    """Only `doctor` gives exit 6; no other command's help lists it (the top level lists all)."""
    for path, parser in all_parsers(build_parser(prog="rgpu-exec")):
        codes = (parser.epilog or "").partition("exit codes:")[2]
        listed = {line.split()[0] for line in codes.splitlines() if line[:3].strip().isdigit()}
        if path and path != ("doctor",):
            assert "6" not in listed, path
    assert "  6  " in (build_parser(prog="rgpu-exec").epilog or "")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["check", "-o", "json", "--bogus"], id="check-unknown-flag"),
        pytest.param(["whoami", "-o", "json", "--context", "nope"], id="whoami-no-such-context"),
        pytest.param(["kubeconfig", "list", "--output=json"], id="list-malformed-kubeconfig"),
        pytest.param(["cache", "list", "-ojson", "extra"], id="cache-list-stray-argument"),
        pytest.param(["check", "-o", "json", "--namespace-id", "nope"], id="check-bad-id"),
    ],
)
def test_every_json_command_prints_one_document_on_a_usage_error(run_cli, sandbox, args):
    (sandbox / "kubeconfig").write_text("a: [")  # KUBECONFIG points here (see conftest)
    result = run_cli([*args], env={"REMOTEGPU_API_KEY": API_KEY})

    assert result.returncode == 2
    document = json.loads(result.stdout)  # exactly one document
    assert document["ok"] is False
    assert document["error"]["exit_code"] == 2
    assert result.stderr.startswith("rgpu-exec: ")
    assert document["error"]["message"] == result.stderr.strip().removeprefix("rgpu-exec: ")
