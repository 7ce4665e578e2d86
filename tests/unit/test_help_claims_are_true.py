"""What each command's `--help` says about itself is true: every exit code it lists is one the
command can return, every command lists the usage error's 2 (argparse refuses a bad flag on
every command), and a read-only command does not claim to write."""

from __future__ import annotations

import pytest

from rgpu_exec.completion.table import TREE
from rgpu_exec.errors import ExitCode

from conftest import team_ml_kubeconfig
from help_claims import exit_codes_in_help, listed_exit_codes

OK, USAGE, KEY, ACCESS, API, FOUND = (
    ExitCode.OK,
    ExitCode.USAGE,
    ExitCode.API_KEY,
    ExitCode.NAMESPACE_ACCESS,
    ExitCode.API,
    ExitCode.PROBLEMS_FOUND,
)
# What every command can end with, whatever it does: cli.main turns an unexpected exception
# into 1, a usage error (argparse's, or a UsageError) into 2, Ctrl-C into 130, a closed stdout
# into 141.
EVERY_COMMAND = frozenset({ExitCode.UNEXPECTED, USAGE, ExitCode.INTERRUPTED, ExitCode.OUTPUT_GONE})
# What each command's own code paths can end with besides those: the exit codes its use case
# decides (`exit_code` of its result) and the errors it lets through (errors.py's tree).
VERIFIES = frozenset({OK, KEY, ACCESS, API})  # one exchange: a key, a namespace, the API
CAN_RETURN: dict[str, frozenset[int]] = {
    "kubeconfig": VERIFIES,  # its subcommands' codes, listed together
    "kubeconfig generate": VERIFIES,
    "kubeconfig import": VERIFIES,
    "kubeconfig list": frozenset({OK}),
    "kubeconfig remove": frozenset({OK}),
    "login": VERIFIES,
    "logout": frozenset({OK}),
    "whoami": frozenset({OK, KEY}),  # WhoamiResult.exit_code: a key's problem, or the verdict
    "check": VERIFIES,  # CheckResult.exit_code: 4 for a namespace, 5 for the API
    "doctor": frozenset({OK, FOUND}),  # DoctorResult.exit_code; anything else is a finding
    "cache": frozenset({OK}),
    "cache list": frozenset({OK}),
    "cache clear": frozenset({OK}),
    "scope": frozenset({OK}),
    "scope validate": frozenset({OK}),
    "completion": frozenset({OK}),
    "version": frozenset({OK}),
    "token": VERIFIES,  # the exchange, or a failure replayed with its own code
}
# The top level's help lists the codes of every command.
CAN_RETURN[""] = frozenset().union(*CAN_RETURN.values())
COMMANDS = sorted(TREE)


def _words(command: str) -> list[str]:
    return command.split()


def test_the_table_of_what_a_command_can_return_names_every_command() -> None:
    assert set(CAN_RETURN) == set(TREE)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c or "rgpu-exec")
def test_every_exit_code_a_help_lists_is_one_the_command_can_return(run_cli, command) -> None:
    shown = run_cli([*_words(command), "--help"])
    listed = exit_codes_in_help(shown.stdout)
    assert shown.returncode == OK
    assert listed, "a --help without an exit codes block"
    assert listed <= {int(code) for code in ExitCode}
    assert listed <= CAN_RETURN[command] | EVERY_COMMAND


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c or "rgpu-exec")
def test_every_help_lists_the_usage_error_a_bad_flag_gives(run_cli, command) -> None:
    refused = run_cli([*_words(command), "--bogus"])
    assert refused.returncode == USAGE
    assert {OK, refused.returncode} <= listed_exit_codes(_words(command))


def test_doctor_lists_the_exit_code_of_a_bad_flag(run_cli) -> None:
    refused = run_cli(["doctor", "--bogus"])
    assert refused.returncode in listed_exit_codes(["doctor"]) == {OK, USAGE, FOUND}


def test_the_helper_reads_the_help_block_the_command_prints(run_cli) -> None:
    for command in (["token"], ["kubeconfig", "list"], []):
        assert listed_exit_codes(command) == exit_codes_in_help(
            run_cli([*command, "--help"]).stdout
        )


def test_the_helper_reads_codes_and_skips_continuation_lines() -> None:
    text = "usage: x\n\nexit codes:\n  0  done\n  2  bad flags,\n     3 more words\n  130  ^C\n"
    assert exit_codes_in_help(text) == {0, 2, 130}
    assert exit_codes_in_help("usage: x\n") == frozenset()


def test_kubeconfig_list_claims_to_write_nothing_and_writes_nothing(run_cli, sandbox) -> None:
    shown = run_cli(["kubeconfig", "list", "--help"]).stdout
    assert ".lock" not in shown.replace("takes no lock", "")
    assert "backup" not in shown.replace("no backup", "")
    kubeconfig = sandbox / "config"
    team_ml_kubeconfig(kubeconfig, ["token", "--namespace-id", "x"])
    before = sorted(p.name for p in sandbox.iterdir())
    listed = run_cli(["kubeconfig", "list", "--kubeconfig", str(kubeconfig)])
    assert listed.returncode == OK
    assert sorted(p.name for p in sandbox.iterdir()) == before
