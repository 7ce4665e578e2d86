"""Six wrong turns whose message now prints the command that fixes them, and the fix works as
printed (issue 25; the catalogue, tests/e2e/test_wrong_turns.py, runs each through a shell and
real kubectl): a key in a similarly named variable, a key file fixed with `chmod 600` while a
failure is damped, an API URL without its scheme, an https URL to a plain-http loopback API,
`KUBECONFIG=/dev/null`, and a static token beside exec.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

import pytest

from rgpu_exec.api.http_support import not_tls_error
from rgpu_exec.credentials.misplaced_key import copy_command, key_shaped_variables
from rgpu_exec.hotpath import failures

from conftest import API_KEY, CI_KEY, NAMESPACE_ID, RunCli, rgpu_exec_user, write_kubeconfig
from emulator_support import exchange_on

GENERATE = [
    "kubeconfig", "generate", "--namespace", "team-ml", "--namespace-id", NAMESPACE_ID,
    "--server", "https://k8s.example:6443", "--no-verify",
]  # fmt: skip


def printed_fix(text: str) -> str:
    """The command of the message's `fix: `…`` (the one the user pastes)."""
    found = re.search(r"fix: `([^`]+)`", text)
    assert found, text
    return found[1]


def export_and_rerun(fix: str) -> tuple[dict[str, str], list[str]]:
    """`export NAME=value && rgpu-exec ARGS…` as a shell reads it: the variable it sets, and
    the arguments it runs rgpu-exec with."""
    export, rerun = fix.split(" && ", 1)
    words, argv = shlex.split(export), shlex.split(rerun)
    assert words[0] == "export", fix
    assert argv[0] == "rgpu-exec", fix
    name, _, value = words[1].partition("=")
    return {name: value}, argv[1:]


# -- a key in a similarly named variable -------------------------------------------------------


def test_a_key_in_a_similarly_named_variable_is_named_and_the_printed_export_copies_it(
    run_cli: RunCli, fake_api
) -> None:
    argv = ["token", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url]
    missing = run_cli(argv, env={"RGPU_API_KEY": API_KEY})

    assert missing.returncode == 3
    assert "RGPU_API_KEY looks like it holds a RemoteGPU key" in missing.stderr
    fix = 'export REMOTEGPU_API_KEY="$RGPU_API_KEY"'
    assert f"`{fix}`" in missing.stderr
    assert API_KEY[13:] not in missing.stderr + missing.stdout, "never the value"
    assert fake_api.count == 0
    # What the shell does with the printed line: copies the value of the variable it names.
    named = re.fullmatch(r'export REMOTEGPU_API_KEY="\$(\w+)"', fix)
    assert named is not None
    environ = {"RGPU_API_KEY": API_KEY}
    copied = {"REMOTEGPU_API_KEY": environ[named[1]]}
    assert run_cli(argv, env={**environ, **copied}).returncode == 0


def test_only_key_shaped_values_under_shell_names_are_named_three_at_most() -> None:
    environ = {
        "REMOTEGPU_API_KEY": API_KEY,  # the variable read: never "misplaced"
        "RGPU_KEY": API_KEY,
        "REMOTE_GPU_API_KEY": CI_KEY,
        "A_KEY": API_KEY,
        "B_KEY": API_KEY,
        "QUOTED": f'"{API_KEY}"',  # would copy the quotes: not offered
        "NOT-A-SHELL-NAME": API_KEY,  # "$NOT-A-SHELL-NAME" is not what it says
        "OTHER": "rgpu_nothex_x",
        "PATH": "/usr/bin",
    }

    assert key_shaped_variables(environ) == ["A_KEY", "B_KEY", "REMOTE_GPU_API_KEY"]
    assert key_shaped_variables({"PATH": "/usr/bin"}) == []
    with pytest.raises(ValueError, match="not a shell variable name"):
        copy_command("X; rm -rf ~")


# -- a key file fixed while its refusal is damped ------------------------------------------------


def test_a_fixed_key_file_takes_effect_at_once_and_an_unchanged_one_stays_damped(
    run_cli: RunCli, fake_api, sandbox: Path
) -> None:
    assert run_cli(["login", "--no-verify", "--insecure-storage"], stdin=API_KEY).returncode == 0
    key_file = sandbox / "home" / ".config" / "rgpu-exec" / "api-keys"
    key_file.chmod(0o644)
    argv = ["token", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url]

    refused = run_cli(argv, new_parent=True)
    again = run_cli(argv, new_parent=True)
    key_file.chmod(0o600)  # the printed fix
    fixed = run_cli(argv, new_parent=True)

    assert refused.returncode == 2
    assert f"chmod 600 {key_file}" in refused.stderr
    assert again.returncode == 2
    assert "same failure as" in again.stderr, "kubectl's reruns are still damped"
    assert fixed.returncode == 0, fixed.stderr
    assert fake_api.count == 1


def test_the_key_file_state_changes_with_the_file_not_with_its_neighbours(sandbox: Path) -> None:
    environ = {"HOME": str(sandbox / "home"), "XDG_CONFIG_HOME": str(sandbox / "config")}
    directory = sandbox / "config" / "rgpu-exec"
    absent = failures.key_file_state(environ)
    directory.mkdir(parents=True, mode=0o700)
    key_file = directory / "api-keys"
    key_file.write_text("rgpu-exec-api-keys 1\n")
    key_file.chmod(0o644)
    loose = failures.key_file_state(environ)
    (directory / "api-keys.lock").write_text("")  # a lock, the fingerprint secret …
    beside = failures.key_file_state(environ)
    key_file.chmod(0o600)
    fixed = failures.key_file_state(environ)

    assert len({absent, loose, fixed}) == 3
    assert beside == loose
    assert API_KEY not in fixed


# -- an API URL without its scheme ---------------------------------------------------------------


def test_a_url_without_its_scheme_in_the_environment_prints_the_export_and_the_rerun(
    run_cli: RunCli, sandbox: Path
) -> None:
    refused = run_cli(GENERATE, env={"REMOTEGPU_API_URL": "127.0.0.1:8080"})

    assert refused.returncode == 2
    assert "Did you mean http://127.0.0.1:8080?" in refused.stderr
    assert refused.stderr.count("export REMOTEGPU_API_URL=") == 1, "one fix, printed once"
    env, argv = export_and_rerun(printed_fix(refused.stderr))
    assert env == {"REMOTEGPU_API_URL": "http://127.0.0.1:8080"}
    assert argv == GENERATE
    assert run_cli(argv, env=env).returncode == 0
    assert "http://127.0.0.1:8080" in Path(os.environ["KUBECONFIG"]).read_text()


def test_a_url_without_its_scheme_given_as_a_flag_is_answered_with_the_flag() -> None:
    from rgpu_exec.hotpath import request

    problem = request.api_url_problem("api.remotegpu.ai", flag=True)

    assert problem is not None
    assert "`--api-url https://api.remotegpu.ai`" in problem
    assert "export" not in problem


def test_token_with_a_url_without_its_scheme_says_what_to_export_and_no_rerun_of_itself(
    run_cli: RunCli,
) -> None:
    ran = run_cli(["token", "--namespace-id", NAMESPACE_ID],
                  env={"REMOTEGPU_API_URL": "localhost:9", "REMOTEGPU_API_KEY": API_KEY})  # fmt: skip

    assert ran.returncode == 2
    assert "`export REMOTEGPU_API_URL=http://localhost:9`" in ran.stderr
    assert "rgpu-exec token" not in ran.stderr, "kubectl runs token: the user reruns kubectl"


# -- an https URL to a plain-http API ------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "command", "rerun"),
    [
        pytest.param("REMOTEGPU_API_URL", "`export REMOTEGPU_API_URL=http://127.0.0.1:8080`",
                     ("REMOTEGPU_API_URL", "http://127.0.0.1:8080"), id="env"),
        pytest.param("--api-url", "`--api-url http://127.0.0.1:8080`", None, id="flag"),
        pytest.param("the --api-url in your kubeconfig's exec args", None, None, id="kubeconfig"),
    ],
)  # fmt: skip
def test_an_https_url_to_a_loopback_plain_http_api_prints_what_sets_it_as_it_was_given(
    source: str, command: str | None, rerun: tuple[str, str] | None
) -> None:
    failure = not_tls_error("https://127.0.0.1:8080", source, local=True)

    assert "does not speak TLS" in failure.message
    if command is None:
        assert "`" not in failure.message
    else:
        assert command in failure.message
    assert failure.rerun_with == rerun


def test_a_plain_http_fix_is_never_printed_for_a_host_that_is_not_loopback() -> None:
    failure = not_tls_error("https://10.0.0.1:8080", "REMOTEGPU_API_URL", local=False)

    assert "http://10.0.0.1" not in failure.message, "the key never travels in clear"
    assert failure.rerun_with is None


def test_generate_against_a_plain_http_api_named_https_prints_the_rerun_that_works(
    run_cli: RunCli, emulator_in_process
) -> None:
    # A real plain-http API on a socket (the emulator, in this process): the https handshake
    # must meet an answer that is not TLS.
    exchange = exchange_on(emulator_in_process)
    wrong = exchange.url.replace("http://", "https://")
    argv = ["kubeconfig", "generate", "--namespace", "team-ml", "--namespace-id",
            exchange.namespace_id, "--server", "https://k8s.example:6443"]  # fmt: skip
    key = {"REMOTEGPU_API_KEY": exchange.key}

    failed = run_cli(argv, env={"REMOTEGPU_API_URL": wrong, **key})

    # Exit 2 (was 5): the URL is wrong, not the network; the README's exit codes say so.
    assert failed.returncode == 2
    assert "nothing was written" in failed.stderr
    assert failed.stderr.count("export REMOTEGPU_API_URL=") == 1, "one fix, printed once"
    env, rerun = export_and_rerun(printed_fix(failed.stderr))
    assert env == {"REMOTEGPU_API_URL": exchange.url}
    assert rerun == argv
    assert run_cli([*rerun, "--no-verify"], env={**env, **key}).returncode == 0


# -- KUBECONFIG=/dev/null ------------------------------------------------------------------------


@pytest.mark.parametrize("listed", [False, True], ids=["alone", "in-a-list"])
def test_kubeconfig_dev_null_is_refused_with_the_command_run_again_under_a_regular_file(
    run_cli: RunCli, sandbox: Path, listed: bool
) -> None:
    mine = sandbox / "mine.yaml"
    value = f"/dev/null{os.pathsep}{mine}" if listed else "/dev/null"

    refused = run_cli(GENERATE, env={"KUBECONFIG": value})

    assert refused.returncode == 2
    assert "/dev/null is a device" in refused.stderr
    env, argv = export_and_rerun(printed_fix(refused.stderr))
    expected = mine if listed else sandbox / "home" / ".kube" / "config"
    assert env == {"KUBECONFIG": str(expected)}
    assert argv == GENERATE
    assert run_cli(argv, env=env).returncode == 0
    assert "rgpu-team-ml" in expected.read_text()


def test_kubeconfig_flag_dev_null_gets_no_export_of_kubeconfig(run_cli: RunCli) -> None:
    refused = run_cli([*GENERATE, "--kubeconfig", "/dev/null"])

    assert refused.returncode == 2
    assert "export KUBECONFIG" not in refused.stderr


# -- a static token beside exec ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "fix"),
    [
        pytest.param("team", "`kubectl config unset users.team.token --kubeconfig {path}`",
                     id="command"),
        pytest.param("team.ml", "delete `token` from user 'team.ml'", id="dotted-name-prose"),
    ],
)  # fmt: skip
def test_doctor_prints_the_kubectl_command_that_unsets_a_static_token(
    run_cli: RunCli, sandbox: Path, user: str, fix: str
) -> None:
    path = write_kubeconfig(sandbox / "kubeconfig", {user: {**rgpu_exec_user(), "token": "x"}})
    bin_dir = sandbox / "bin-without-kubectl"  # no kubectl to ask: the doctor starts no process
    bin_dir.mkdir()
    (bin_dir / "rgpu-exec").symlink_to(Path(sys.executable).parent / "rgpu-exec")
    env = {"PATH": str(bin_dir), "REMOTEGPU_API_URL": "http://127.0.0.1:9"}

    ran = run_cli(["doctor", "--problems-only"], env=env)

    assert "static `token` sits beside exec" in ran.stdout
    assert fix.format(path=shlex.quote(str(path))) in " ".join(ran.stdout.split())


def test_a_dry_run_under_kubeconfig_dev_null_still_shows_its_diff(run_cli: RunCli) -> None:
    shown = run_cli([*GENERATE, "--dry-run"], env={"KUBECONFIG": "/dev/null"})

    assert shown.returncode == 0, shown.stderr
    assert "rgpu-team-ml" in shown.stdout
    assert "fix:" not in shown.stderr
