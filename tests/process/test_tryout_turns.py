"""Wrong turns a new user's try-out found: each ends in the cause and a next step that holds
what it needs, and a printed command runs as it stands."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

import pytest

from printed import printed_command

from conftest import API_KEY, NAMESPACE_ID

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import RunCli
    from exchange_answers import FakeApi

_ANOTHER_ID = "c64885bb-1111-4222-8333-444455556666"  # not the help's example, shown in full


def test_an_empty_login_on_stdin_prints_a_rerun_that_repeats_the_users_flags(
    run_cli: RunCli, fake_api: FakeApi, sandbox: Path
) -> None:
    flags = ["--insecure-storage", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url]

    empty = run_cli(["login", *flags], stdin="")
    again = printed_command(empty.stderr, "rgpu-exec login")
    rerun = run_cli(again[1:], stdin=API_KEY + "\n")

    assert empty.returncode == 2
    assert sorted(again[2:]) == sorted(["--profile", "default", *flags])
    assert rerun.returncode == 0, rerun.stderr
    assert f"verified with {fake_api.url}" in rerun.stdout
    assert API_KEY not in empty.stderr + rerun.stdout + rerun.stderr


def test_a_mistyped_flag_next_to_a_missing_required_one_is_named_first(run_cli: RunCli) -> None:
    argv = ["kubeconfig", "generate", "--namspace", "team-ml", "--namespace-id", NAMESPACE_ID]

    refused = run_cli([*argv, "--server", "https://k8s.example:6443"])

    assert refused.returncode == 2
    assert refused.stderr.startswith(
        "rgpu-exec: unrecognized arguments: --namspace; did you mean --namespace?"
    )
    assert "required: --namespace" in refused.stderr  # argparse's finding is still said


def test_a_flag_typed_in_the_wrong_case_is_guessed_as_the_same_flag(run_cli: RunCli) -> None:
    refused = run_cli(["token", "--namespace-ID", NAMESPACE_ID])

    assert refused.returncode == 2
    assert refused.stderr.startswith(
        "rgpu-exec: unrecognized arguments: --namespace-ID; did you mean --namespace-id?"
    )
    assert NAMESPACE_ID not in refused.stderr


@pytest.mark.parametrize(
    ("value", "how"),
    [(_ANOTHER_ID[:-1], "cut short"), (_ANOTHER_ID + "a", "with an extra character")],
    ids=["short", "long"],
)
def test_a_namespace_id_one_character_off_is_guessed_as_one_and_not_as_a_name(
    run_cli: RunCli, value: str, how: str
) -> None:
    refused = run_cli(["check", "--namespace-id", value])

    assert refused.returncode == 2
    assert f"(a guess: it looks like a namespace ID {how}, " in refused.stderr
    assert "namespace name" not in refused.stderr
    assert "copy the whole ID from the console's namespace page" in refused.stderr
    assert value not in refused.stderr


@pytest.mark.parametrize(
    ("argv", "commands"),
    [
        ([], "(kubeconfig, login, logout, whoami, check, doctor, cache, scope, completion"),
        (["kubeconfig"], "(generate, import, list, remove)"),
        (["cache"], "(list, clear)"),
        (["scope"], "(validate)"),
    ],
    ids=["bare", "kubeconfig", "cache", "scope"],
)
def test_a_command_group_alone_says_to_name_a_command_after_its_help(
    run_cli: RunCli, argv: list[str], commands: str
) -> None:
    result = run_cli(argv)

    assert result.returncode == 2
    assert result.stderr.startswith("usage: ")
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"rgpu-exec: name a command {commands}")
    assert last.endswith(f"See `{shlex.join(['rgpu-exec', *argv, '--help'])}`.")


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["help"], []),
        (["kubeconfig", "help"], ["kubeconfig"]),
        (["help", "whoami"], ["whoami"]),
        (["kubeconfig", "help", "generate"], ["kubeconfig", "generate"]),
        (["help", "kubeconfig", "generate"], ["kubeconfig", "generate"]),
        (["help", "bogus"], []),
    ],
    ids=["top", "group", "top-command", "group-command", "top-group-command", "top-unknown"],
)
def test_help_as_a_command_points_at_the_help_flag(
    run_cli: RunCli, argv: list[str], meant: list[str]
) -> None:
    result = run_cli(argv)
    see = shlex.join(["rgpu-exec", *meant, "--help"])

    assert result.returncode == 2
    assert result.stderr == (
        f"rgpu-exec: there is no help command: the help is the --help flag. See `{see}`.\n"
    )
    assert run_cli(printed_command(result.stderr, "rgpu-exec")[1:]).returncode == 0


@pytest.mark.parametrize(
    ("argv", "fix"),
    [
        (["-o", "json", "whoami"], "rgpu-exec whoami -o json"),
        (["--output", "yaml", "kubeconfig", "list"], "rgpu-exec kubeconfig list --output yaml"),
        (["-ojson", "whoami"], "rgpu-exec whoami -o json"),
        (["-o=yaml", "whoami"], "rgpu-exec whoami -o yaml"),
        (["--output=json", "kubeconfig", "list"], "rgpu-exec kubeconfig list --output json"),
        (["kubeconfig", "-o", "json", "list"], "rgpu-exec kubeconfig list -o json"),
        (["cache", "--output=yaml", "list"], "rgpu-exec cache list --output yaml"),
        (["--profile", "ci", "whoami"], "rgpu-exec whoami --profile ci"),
        (["--profile=ci", "whoami", "--offline"], "rgpu-exec whoami --offline --profile ci"),
    ],
    ids=[
        "whoami", "kubeconfig-list", "one-word", "one-word-equals", "long-equals",
        "inside-a-group", "inside-a-group-equals", "kubectl-habit", "kubectl-habit-with-a-flag",
    ],
)  # fmt: skip
def test_an_output_flag_before_the_command_is_told_to_go_after_it(
    run_cli: RunCli, argv: list[str], fix: str
) -> None:
    result = run_cli(argv)
    rerun = run_cli(printed_command(result.stderr, "rgpu-exec")[1:])
    flag = fix.split()[-2]  # the flag moved, as the fix names it

    assert result.returncode == 2
    assert result.stderr.startswith(f"rgpu-exec: {flag} goes after the command: `{fix}`")
    assert "unknown command" not in result.stderr
    assert rerun.returncode != 2, rerun.stderr  # no usage error: the flag is taken


def test_a_flag_whose_value_cannot_be_shown_is_told_where_it_goes_in_words(
    run_cli: RunCli, sandbox: Path
) -> None:
    result = run_cli(["--kubeconfig", str(sandbox / "no-such-file"), "kubeconfig", "list"])

    assert result.returncode == 2
    assert result.stderr.startswith(
        "rgpu-exec: --kubeconfig goes after the command (rgpu-exec kubeconfig list), not before it."
    )
    assert str(sandbox) not in result.stderr  # a value is never shown back


def test_a_file_given_before_the_command_is_moved_after_it_in_a_command_that_works(
    run_cli: RunCli, sandbox: Path
) -> None:
    kubeconfig = sandbox / "my kubeconfig"  # a path, with a space: quoted in the command
    kubeconfig.write_text("{}")
    result = run_cli(["kubeconfig", "--kubeconfig", str(kubeconfig), "list"])
    command = printed_command(result.stderr, "rgpu-exec")

    assert result.returncode == 2
    assert command == ["rgpu-exec", "kubeconfig", "list", "--kubeconfig", str(kubeconfig)]
    assert run_cli(command[1:]).returncode == 0


def test_an_output_flag_before_a_command_with_a_value_shows_no_value(run_cli: RunCli) -> None:
    result = run_cli(["-o", "json", "whoami", "--context", f"x_{API_KEY}"])

    assert "`rgpu-exec whoami -o json` (with the other arguments you gave after it)" in (
        result.stderr
    )
    assert API_KEY not in result.stdout + result.stderr


def test_a_context_that_is_already_current_is_not_told_to_become_the_default(
    run_cli: RunCli, sandbox: Path
) -> None:
    kubeconfig = sandbox / "kc"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncurrent-context: rgpu-team-ml\n")
    generate = ["kubeconfig", "generate", "--namespace", "team-ml", "--namespace-id"]
    server = ["--server", "https://k8s.example:6443", "--kubeconfig", str(kubeconfig)]

    result = run_cli([*generate, NAMESPACE_ID, *server, "--no-verify"])

    assert result.returncode == 0, result.stderr
    assert "use-context" not in result.stdout
    assert "'rgpu-team-ml' is kubectl's current context: use it with `kubectl" in result.stdout
    assert printed_command(result.stdout, "kubectl")[-2:] == ["get", "pods"]


def test_a_context_that_is_not_current_is_still_offered_use_context(
    run_cli: RunCli, sandbox: Path
) -> None:
    kubeconfig = sandbox / "kc"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncurrent-context: prod\n")
    generate = ["kubeconfig", "generate", "--namespace", "team-ml", "--namespace-id"]
    server = ["--server", "https://k8s.example:6443", "--kubeconfig", str(kubeconfig)]

    result = run_cli([*generate, NAMESPACE_ID, *server, "--no-verify"])

    assert result.returncode == 0, result.stderr
    assert "config use-context rgpu-team-ml`" in result.stdout


def test_whoami_with_a_kubeconfig_that_does_not_exist_says_so(
    run_cli: RunCli, sandbox: Path
) -> None:
    missing = sandbox / "nonexistent" / "kc"

    result = run_cli(["whoami", "--kubeconfig", str(missing)], env={"REMOTEGPU_API_KEY": API_KEY})
    listed = run_cli(["kubeconfig", "list", "--kubeconfig", str(missing)])

    assert result.returncode == 2
    assert f"rgpu-exec: the kubeconfig {missing} (--kubeconfig) does not exist" in result.stderr
    assert result.stderr == listed.stderr  # one owner says it, for every command


def test_list_of_a_kubeconfig_that_is_a_device_says_it_is_a_device(run_cli: RunCli) -> None:
    result = run_cli(["kubeconfig", "list"], env={"KUBECONFIG": "/dev/null"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "The kubeconfig /dev/null is a device, not a regular file, so rgpu-exec never replaces "
        "it: kubectl finds no context in it."
    )
    assert "No kubeconfig file was found" not in result.stdout


def test_cache_list_of_a_context_not_in_the_kubeconfig_says_so_as_whoami_does(
    run_cli: RunCli, sandbox: Path
) -> None:
    kubeconfig = sandbox / "kc"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncurrent-context: prod\n")
    flags = ["--context", "nosuch", "--kubeconfig", str(kubeconfig)]

    cached = run_cli(["cache", "list", *flags])
    whoami = run_cli(["whoami", *flags], env={"REMOTEGPU_API_KEY": API_KEY})

    assert cached.returncode == whoami.returncode == 2
    assert cached.stderr.startswith("rgpu-exec: context 'nosuch' is not in the kubeconfig")
    assert cached.stderr == whoami.stderr


@pytest.mark.parametrize("form", ["table", "json"])
def test_scope_validate_with_nothing_on_stdin_says_no_payload_was_given(
    run_cli: RunCli, form: str
) -> None:
    result = run_cli(["scope", "validate", "-o", form], stdin="")

    assert result.returncode == 2
    assert "rgpu-exec: no scope payload (stdin was empty)" in result.stderr
    assert "not valid JSON" not in result.stdout + result.stderr


def test_whoami_says_a_valid_key_is_valid_once(
    run_cli: RunCli, fake_api: FakeApi, keyring_file: Path
) -> None:
    env = {"REMOTEGPU_API_KEY": API_KEY, "REMOTEGPU_API_URL": fake_api.url}

    result = run_cli(["whoami"], env=env)

    assert result.returncode == 0, result.stderr
    assert "valid    yes: the API accepts it" in result.stdout
    assert "valid: the API accepts it" not in result.stdout


def test_a_key_typed_or_piped_wrong_is_said_in_lower_case_after_the_prefix(
    run_cli: RunCli,
) -> None:
    result = run_cli(["login", "--no-verify"], stdin="rgpu_3f9a2c1b abc\n")

    assert result.returncode == 2
    assert result.stderr.startswith("rgpu-exec: the key read from stdin ")
