"""Every value `kubeconfig generate` writes into an exec stanza is one `token` accepts: what one
command takes, every command that reads it back takes (profile names: one validator,
`settings.valid_profile`). Each edge value is generated, and the stanza written is run as kubectl
would run it, in process: by the cache-hit path's reader and by the full command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import yaml

from rgpu_exec.cli import main
from rgpu_exec.errors import ExitCode
from rgpu_exec.hotpath import request

from conftest import API_KEY, NAMESPACE_ID
from exchange_answers import credential_body

GENERATE = [
    "kubeconfig", "generate", "--namespace-id", NAMESPACE_ID, "--server",
    "https://k8s.example:6443", "--exec-command", "rgpu-exec", "--no-verify",
]  # fmt: skip


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMOTEGPU_API_KEY", API_KEY)
    monkeypatch.setenv("RGPU_EXEC_DEADLINE", "2")


def generate(kubeconfig: Path, *flags: str) -> tuple[int, list[str] | None]:
    """Exit code of `generate`, and the exec args it wrote (None: nothing written)."""
    code = main([*GENERATE, "--kubeconfig", str(kubeconfig), *flags])
    if code != ExitCode.OK:
        assert not kubeconfig.exists()
        return code, None
    document: dict[str, Any] = yaml.safe_load(kubeconfig.read_text())
    (user,) = document["users"]
    return code, list(user["user"]["exec"]["args"])


def read_by_the_cache_hit_path(args: list[str]) -> request.ExecRequest | str | None:
    """What the cache-hit path makes of the args: a request, a refusal, or None (not parsed)."""
    assert args[0] == "token"
    flags = request.parse_token_flags(args[1:])
    if flags is None:
        return None
    return request.resolve(
        flags["namespace_id"],
        flags.get("api_url"),
        flags.get("profile"),
        {},
        flags.get("namespace_name"),
    )


PROFILES = [
    "-x",
    "-",
    "-profile",
    "a",
    "x" * 64,
    "x" * 65,
    "a.b_c-d",
    ".",
    "..",
    "0",
    "_",
    "a b",
    "é",
]


@pytest.mark.parametrize("profile", PROFILES)
def test_a_profile_that_generate_writes_is_one_that_token_accepts(sandbox, capsys, profile):
    code, args = generate(sandbox / "kubeconfig", "--namespace", "team-ml", f"--profile={profile}")

    token_accepts = request.resolve_profile(profile, {})[1] is None
    assert (code == ExitCode.OK) == token_accepts
    if args is None:
        assert code == ExitCode.USAGE
        assert "profile name" in capsys.readouterr().err
        return
    assert isinstance(read_by_the_cache_hit_path(args), request.ExecRequest)
    # The full command: past its flags and their checks to the key, which the profile's keyring
    # entry does not hold here (exit 3, not a usage error).
    capsys.readouterr()
    assert main(args) == ExitCode.API_KEY, capsys.readouterr().err


NAMES = ["a", "0", "team-ml", "a" * 63, "a" * 64, "-a", "a-", "all", "Team-ML", "team_ml", "-"]


@pytest.mark.parametrize("name", NAMES)
@respx.mock
def test_a_namespace_name_that_generate_writes_is_one_that_token_accepts(sandbox, capsys, name):
    route = respx.post(url__regex=r".*/exec-credential$").mock(
        return_value=httpx.Response(200, json=credential_body())
    )
    code, args = generate(sandbox / "kubeconfig", f"--namespace={name}")

    assert (code == ExitCode.OK) == (request.namespace_name_problem(name) is None)
    if args is None:
        return
    assert isinstance(read_by_the_cache_hit_path(args), request.ExecRequest)
    capsys.readouterr()
    assert main(args) == ExitCode.OK, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["kind"] == "ExecCredential"
    assert route.call_count == 1


URLS = [
    "http://127.0.0.1:8080",
    "http://localhost:8080/",
    "HTTPS://API.EXAMPLE.COM",
    "https://[::1]:8443",
    "https://api.example.com/base/",
    "https://api.example.com:443",
    "https://api.example.com",
    "http://api.example.com",
    "https://user@api.example.com",
    "https://api.example.com/?q=1",
    "-https://api.example.com",
]


@pytest.mark.parametrize("url", URLS)
@respx.mock
def test_an_api_url_that_generate_writes_is_one_that_token_accepts(sandbox, capsys, url):
    route = respx.post(url__regex=r".*/exec-credential$").mock(
        return_value=httpx.Response(200, json=credential_body())
    )
    code, args = generate(sandbox / "kubeconfig", "--namespace", "team-ml", f"--api-url={url}")

    assert (code == ExitCode.OK) == (request.resolve_api_url(url, {})[1] is None)
    if args is None:
        return
    assert isinstance(read_by_the_cache_hit_path(args), request.ExecRequest)
    capsys.readouterr()
    assert main(args) == ExitCode.OK, capsys.readouterr().err
    assert route.call_count == 1


@respx.mock
def test_a_namespace_id_in_capitals_is_written_as_token_takes_it(sandbox, capsys):
    respx.post(url__regex=r".*/exec-credential$").mock(
        return_value=httpx.Response(200, json=credential_body())
    )
    code, args = generate(sandbox / "kubeconfig", "--namespace", "team-ml")
    assert code == ExitCode.OK
    (sandbox / "kubeconfig").unlink()
    upper = [*GENERATE[:3], NAMESPACE_ID.upper(), *GENERATE[4:]]
    assert (
        main([*upper, "--kubeconfig", str(sandbox / "kubeconfig"), "--namespace", "team-ml"]) == 0
    )
    document = yaml.safe_load((sandbox / "kubeconfig").read_text())
    written = document["users"][0]["user"]["exec"]["args"]
    assert written == args
    capsys.readouterr()
    assert main(written) == ExitCode.OK


COMMANDS_WITH_A_PROFILE = [
    ["login"],
    ["login", "--insecure-storage"],
    ["logout"],
    ["whoami", "--offline"],
    ["check", "--namespace-id", NAMESPACE_ID],
    ["cache", "clear"],
    ["kubeconfig", "generate", "--namespace", "team-ml", *GENERATE[2:]],
    ["token", "--namespace-id", NAMESPACE_ID],
]


@pytest.mark.parametrize("command", COMMANDS_WITH_A_PROFILE, ids=" ".join)
def test_every_command_refuses_the_profile_names_token_refuses(sandbox, capsys, command):
    assert main([*command, "--profile=-x"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert f"profile name '-x' is not valid: use {request.PROFILE_RULE}." in err
    assert not (sandbox / "kubeconfig").exists()
