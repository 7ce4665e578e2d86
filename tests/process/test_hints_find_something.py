"""Hints that find something: where a message points the user at a next step, the step holds
what it needs (the file to import again, where kubectl looks for a kubeconfig, how a CI job
gives a working key), and the printed command runs as it stands."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from printed import printed_command
from rgpu_exec.kubeconfig.view import PluginCall
from rgpu_exec.usecases.doctor import cluster
from rgpu_exec.usecases.doctor.kube import PluginContext

from conftest import (
    API_KEY,
    NAMESPACE_ID,
    console_kubeconfig,
    rgpu_exec_user,
    write_kubeconfig,
)
from exchange_answers import Reply, error_body

if TYPE_CHECKING:
    from conftest import RunCli
    from exchange_answers import FakeApi

REVOKED = Reply(401, error_body("revoked_api_key", "Missing, invalid, revoked, or expired API key"))


def test_import_without_a_file_says_where_it_comes_from_and_that_dash_reads_stdin(
    run_cli: RunCli,
) -> None:
    result = run_cli(["kubeconfig", "import"])

    assert result.returncode == 2
    assert result.stdout == ""
    assert "the file downloaded from the console's namespace page" in result.stderr
    assert "or - to read it from stdin" in result.stderr


def test_list_without_a_kubeconfig_file_says_none_was_found_and_where_kubectl_looks(
    run_cli: RunCli, sandbox: Path
) -> None:
    result = run_cli(["kubeconfig", "list"])

    assert result.returncode == 0, result.stderr
    assert f"No kubeconfig file was found at {sandbox / 'kubeconfig'}" in result.stdout
    assert "no kubeconfig file uses" not in result.stdout.lower()


def test_list_of_a_file_without_ours_says_none_of_its_contexts_uses_rgpu_exec(
    run_cli: RunCli, sandbox: Path
) -> None:
    write_kubeconfig(sandbox / "kubeconfig", {"u": {}}, ["prod"], current=None)

    result = run_cli(["kubeconfig", "list"])
    one = run_cli(["kubeconfig", "list", "--context", "nope"])

    assert result.returncode == 0, result.stderr
    assert f"None of the contexts in {sandbox / 'kubeconfig'} uses rgpu-exec" in result.stdout
    assert one.returncode == 2
    assert f"context 'nope' is not in {sandbox / 'kubeconfig'}" in one.stderr


def test_a_context_asked_for_where_no_kubeconfig_exists_says_no_file_was_found(
    run_cli: RunCli, sandbox: Path
) -> None:
    result = run_cli(["kubeconfig", "list", "--context", "nope"])

    assert result.returncode == 2
    assert f"no kubeconfig file was found at {sandbox / 'kubeconfig'}" in result.stderr
    assert "not in no kubeconfig file" not in result.stderr


def test_a_revoked_key_without_a_keyring_is_told_how_to_give_a_working_one(
    run_token_in_process, fake_api: FakeApi
) -> None:
    # The sandbox's keyring backend is keyring.backends.fail: a CI runner's.
    fake_api.default = REVOKED

    result = run_token_in_process()

    assert result.returncode == 3
    assert "unset it to use the keyring" not in result.stderr
    assert "create a key with Kubernetes access in" in result.stderr
    assert "give it to REMOTEGPU_API_KEY (in CI: replace the secret it comes from)" in (
        result.stderr
    )
    assert "--no-verify" not in result.stderr


def test_a_revoked_key_with_a_usable_keyring_may_be_unset_for_it(
    run_token_in_process, fake_api: FakeApi, keyring_file: Path
) -> None:
    fake_api.default = REVOKED

    result = run_token_in_process()

    assert result.returncode == 3
    assert "which wins over the keyring" in result.stderr
    assert "or unset it to use the keyring" in result.stderr


def test_the_replace_hint_names_the_file_and_its_command_runs_as_printed(
    run_cli: RunCli, sandbox: Path, fake_api: FakeApi
) -> None:
    console = sandbox / "the console's file.yaml"  # a path a shell would split and trip on
    console.write_text(console_kubeconfig(fake_api.url))
    kubeconfig = sandbox / "kubeconfig"
    kubeconfig.write_text(console.read_text())
    env = {"REMOTEGPU_API_KEY": API_KEY}

    first = run_cli(["kubeconfig", "import", str(console), "--api-url", fake_api.url], env=env)
    fix = printed_command(first.stdout, "rgpu-exec kubeconfig import")
    again = run_cli(fix[1:], env=env)

    assert first.returncode == 0, first.stderr
    assert "still calls the API with curl" in first.stdout
    assert fix[3:5] == [str(console), "--replace"]
    assert again.returncode == 0, again.stderr
    contexts = [c["name"] for c in yaml.safe_load(kubeconfig.read_text())["contexts"]]
    assert contexts == ["rgpu-team-ml"], "the console's curl context was swapped out"


@pytest.mark.parametrize("quote", ['"', "'"])
def test_a_quoted_key_on_stdin_is_told_to_pipe_the_bare_key(run_cli: RunCli, quote: str) -> None:
    result = run_cli(["login", "--no-verify"], stdin=f"{quote}rgpu_{'a' * 40}{quote}\n")

    assert result.returncode == 2
    assert "rgpu-exec: the key read from stdin is wrapped in quotes" in result.stderr
    assert "Pipe in the key alone, exactly as the console showed it" in result.stderr
    assert "export REMOTEGPU_API_KEY" not in result.stderr, "stdin is not the environment"
    assert "nothing was sent" in result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--namespace-id", NAMESPACE_ID],
        ["token", "--namespace-id", NAMESPACE_ID],
        ["login", "--namespace-id", NAMESPACE_ID],
    ],
)
def test_an_api_url_holding_a_key_is_refused_before_any_request(
    run_cli: RunCli, fake_api: FakeApi, keyring_file: Path, argv: list[str]
) -> None:
    pasted = f"{fake_api.url}/{API_KEY}"  # the stub would see the key, were it asked

    result = run_cli([*argv, "--api-url", pasted], env={"REMOTEGPU_API_KEY": API_KEY},
        stdin=API_KEY,
    )  # fmt: skip

    assert result.returncode == 2
    assert fake_api.count == 0
    assert "the API URL (--api-url) holds what looks like an API key" in result.stderr
    assert API_KEY[13:] not in result.stdout + result.stderr


def test_doctor_lists_an_api_url_holding_a_key_as_a_problem_and_asks_it_nothing(
    run_cli: RunCli, fake_api: FakeApi, sandbox: Path
) -> None:
    pasted = f"{fake_api.url}/{API_KEY}"
    (sandbox / "bin").mkdir()  # no kubectl on PATH: it has no say here

    result = run_cli(["doctor", "-o", "json", "--api-url", pasted],
        env={"REMOTEGPU_API_KEY": API_KEY, "PATH": str(sandbox / "bin")},
    )  # fmt: skip

    found = json.loads(result.stdout)["findings"]
    (url,) = [f for f in found if f["topic"] == "settings"]
    assert url["status"] == "problem"
    assert url["detail"] == (
        "the API URL (--api-url) holds what looks like a key, so `rgpu-exec token` refuses it"
    )
    assert not [f for f in found if f["topic"] == "API"], "not probed"
    assert fake_api.count == 0
    assert API_KEY[13:] not in result.stdout + result.stderr


def test_doctor_shows_in_full_a_failure_kubectl_was_told_in_one_line(
    run_token_in_process, fake_api: FakeApi
) -> None:
    """kubectl's reruns of a failing plugin get a one-line replay of the failure; the doctor,
    which runs kubectl too, shows the whole message from the failure's record."""
    fake_api.default = REVOKED
    told = run_token_in_process().stderr.strip()
    replayed = run_token_in_process().stderr.strip()
    kubectl_said = f"{replayed}\nError: exec plugin: ... failed with exit code 3\n"
    call = PluginCall("rgpu-exec", NAMESPACE_ID, None, None)
    environ = {"RGPU_EXEC_CACHE_DIR": os.environ["RGPU_EXEC_CACHE_DIR"]}
    context = PluginContext("team-ml", call, environ, fake_api.url, True)

    found = cluster._failed(context, kubectl_said)

    assert "[same failure as" in replayed, "the one-line replay kubectl gets"
    assert "[same failure as" not in found.detail
    assert found.detail == (
        "context 'team-ml': kubectl ran rgpu-exec, which failed: "
        + " ".join(told.split()).removeprefix("rgpu-exec: ")
    )


def test_reimporting_a_file_takes_the_api_url_its_context_already_runs_and_says_so(
    run_cli: RunCli, sandbox: Path, fake_api: FakeApi
) -> None:
    console = sandbox / "console.yaml"
    console.write_text(console_kubeconfig(fake_api.url))  # not the default API
    (sandbox / "kubeconfig").write_text(console.read_text())
    env = {"REMOTEGPU_API_KEY": API_KEY}  # REMOTEGPU_API_URL unset
    first = run_cli(["kubeconfig", "import", str(console), "--api-url", fake_api.url], env=env)

    again = run_cli(["kubeconfig", "import", str(console), "--replace"], env=env)

    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr
    assert (
        f"verified with {fake_api.url} (the --api-url of context 'rgpu-team-ml', which "
        "already runs it)"
    ) in again.stdout


def test_a_file_naming_another_api_than_its_context_runs_is_still_refused(
    run_cli: RunCli, sandbox: Path, fake_api: FakeApi
) -> None:
    console = sandbox / "console.yaml"
    console.write_text(console_kubeconfig(fake_api.url))
    env = {"REMOTEGPU_API_KEY": API_KEY}
    assert run_cli(["kubeconfig", "import", str(console), "--api-url", fake_api.url],
        env=env).returncode == 0  # fmt: skip
    console.write_text(console_kubeconfig("https://api.elsewhere.example"))
    requests = fake_api.count

    again = run_cli(["kubeconfig", "import", str(console)], env=env)

    assert again.returncode == 2
    assert "the file asks for credentials from the API at https://api.elsewhere.example" in (
        again.stderr
    )
    assert fake_api.count == requests
    assert printed_command(again.stderr, "rgpu-exec kubeconfig import") == [
        *("rgpu-exec", "kubeconfig", "import", str(console)),
        *("--api-url", "https://api.elsewhere.example"),
    ]


def test_doctor_asks_nothing_of_a_contexts_api_url_holding_a_key(
    run_cli: RunCli, fake_api: FakeApi, sandbox: Path
) -> None:
    pasted = f"{fake_api.url}/{API_KEY}"
    user = rgpu_exec_user(str(Path(sys.executable).parent / "rgpu-exec"))  # found, so runnable
    user["exec"]["args"] += ["--api-url", pasted]
    write_kubeconfig(sandbox / "kubeconfig", {"rgpu-team-ml": user})
    (sandbox / "bin").mkdir()  # no kubectl: the cluster is not asked

    result = run_cli(["doctor", "-o", "json"],
        env={"REMOTEGPU_API_KEY": API_KEY, "PATH": str(sandbox / "bin")},
    )  # fmt: skip

    assert result.returncode == 6, result.stderr
    (api,) = [f for f in json.loads(result.stdout)["findings"] if f["topic"] == "API"]
    assert api["status"] == "problem"
    assert "holds what looks like an API key" in api["detail"]
    assert fake_api.count == 0
    assert API_KEY[13:] not in result.stdout + result.stderr


def test_a_failed_verification_of_generate_names_the_api_it_asked_and_why_that_one(
    run_cli: RunCli, fake_api: FakeApi
) -> None:
    fake_api.default = REVOKED
    generate = ["kubeconfig", "generate", "--namespace", "team-ml", "--namespace-id", NAMESPACE_ID,
        "--server", "https://k8s.example:6443"]  # fmt: skip

    result = run_cli([*generate, "--api-url", fake_api.url], env={"REMOTEGPU_API_KEY": API_KEY})

    assert result.returncode == 3
    assert "verification failed, so nothing was written" in result.stderr
    assert f"(The API asked: {fake_api.url}, --api-url.)" in result.stderr


def test_a_fix_for_a_context_whose_name_a_shell_would_split_runs_as_printed(
    run_cli: RunCli, sandbox: Path
) -> None:
    name = "team ml; $(id)"  # a shell would split it and run the rest
    user = rgpu_exec_user()
    user["exec"]["args"] += ["--namespace", "team-ml"]
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://k8s.example"}}],
        "contexts": [{"name": name, "context": {"cluster": "c", "user": "u",
                                                "namespace": "team-vision"}}],
        "users": [{"name": "u", "user": user}],
    }  # fmt: skip
    (sandbox / "kubeconfig").write_text(json.dumps(document))

    listed = run_cli(["kubeconfig", "list"])

    assert listed.returncode == 0, listed.stderr
    fix = printed_command(listed.stdout, "kubectl config set-context")
    assert fix == ["kubectl", "config", "set-context", name, "--namespace", "team-ml"]
