"""A key typed at the prompt is asked for once per kubectl command, even when the command runs the
plugin twice (gcloud's kubectl dispatcher asks the server for its version, then execs the
versioned kubectl in the same process: both runs have the same parent), and is kept nowhere.

In process: `os.getppid` stands for the kubectl process; the prompt is a fake terminal.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rgpu_exec.cache import files as cache_files
from rgpu_exec.hotpath import token_cache, typed_key
from rgpu_exec.usecases.token import TokenCommand, TokenRequest

from conftest import API_KEY, KUBECTL_PID, NAMESPACE_ID
from exchange_answers import API, credential_answer

PATH = f"/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"
KUBECTL, NEXT_KUBECTL = KUBECTL_PID, 4343
# As kubectl sends it for a stanza with `interactiveMode: IfAvailable` on a terminal, and
# `provideClusterInfo: true` (the cluster the token goes to).
EXEC_INFO = json.dumps({
    "kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1",
    "spec": {"interactive": True, "cluster": {"server": "https://k8s.example.test"}},
})  # fmt: skip


@pytest.fixture
def prompts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A terminal where the user types the key whenever asked; the prompts shown."""
    shown: list[str] = []

    def typed(prompt: str) -> str:
        shown.append(prompt)
        return API_KEY

    monkeypatch.setattr("rgpu_exec.credentials.api_key._terminal_available", lambda: True)
    monkeypatch.setattr("rgpu_exec.credentials.api_key.read_hidden", typed)
    return shown


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> list[bool | None]:
    """What the cluster says of the cached token when asked (True: it accepts it); each ask
    is recorded in `asked` (the list's tail)."""
    says: list[bool | None] = [True]

    def accepts(_self: TokenCommand, _entry: token_cache.Entry) -> bool | None:
        says.append(says[0])
        return says[0]

    monkeypatch.setattr(TokenCommand, "_cluster_accepts", accepts)
    return says


@pytest.fixture
def environ(sandbox: Path) -> dict[str, str]:
    return {
        **os.environ,
        "REMOTEGPU_API_URL": API,
        "RGPU_EXEC_DEADLINE": "0.5",
        "KUBERNETES_EXEC_INFO": EXEC_INFO,
    }


def token(environ, clock, warnings) -> str:
    output = TokenCommand(environ, clock=clock, warn=warnings.append).run(
        TokenRequest(NAMESPACE_ID)
    )
    return str(json.loads(output.exec_credential)["status"]["token"])


def test_a_second_run_for_the_same_kubectl_process_is_not_asked_for_the_key(
    api, parent, prompts, cluster, environ, clock, warnings
) -> None:
    route = api.post(PATH).mock(side_effect=[credential_answer("tok-1")])
    assert token(environ, clock, warnings) == "tok-1"
    clock.now += 1  # the versioned kubectl, exec'd in the dispatcher's process
    assert token(environ, clock, warnings) == "tok-1"
    assert len(prompts) == 1
    assert route.call_count == 1
    assert cluster[1:] == [True], "asked the cluster once, as any second ask does"
    assert len(warnings) == 1
    assert warnings[0].startswith("rgpu-exec: the key you typed works;")


def test_the_key_is_kept_nowhere(api, parent, prompts, cluster, environ, clock, sandbox) -> None:
    api.post(PATH).mock(side_effect=[credential_answer("tok-1")])
    token(environ, clock, [])
    token(environ, clock, [])
    written = [p for p in sandbox.rglob("*") if p.is_file()]
    assert any(p.suffix == token_cache.TYPED_SUFFIX for p in written)
    for path in written:
        assert API_KEY.encode() not in path.read_bytes(), path
        assert API_KEY[14:22].encode() not in path.read_bytes(), path  # nor a piece of it
    assert not any(API_KEY in value for value in os.environ.values())


def test_a_new_kubectl_command_is_asked_for_the_key_again(
    api, parent, prompts, cluster, environ, clock, warnings
) -> None:
    route = api.post(PATH).mock(side_effect=[credential_answer("tok-1")])
    token(environ, clock, warnings)
    parent[0] = NEXT_KUBECTL
    assert token(environ, clock, warnings) == "tok-1"  # its cached token: no exchange
    assert len(prompts) == 2
    assert route.call_count == 1
    assert cluster[1:] == []


def test_a_token_the_cluster_rejects_is_replaced_after_the_key_is_asked_for_again(
    api, parent, prompts, cluster, environ, clock, warnings
) -> None:
    route = api.post(PATH).mock(
        side_effect=[credential_answer("tok-1"), credential_answer("tok-2")]
    )
    token(environ, clock, warnings)
    cluster[0] = False
    assert token(environ, clock, warnings) == "tok-2"
    assert len(prompts) == 2
    assert route.call_count == 2
    assert warnings[1] == (
        "rgpu-exec: the key you typed is asked for again in this kubectl command: the cluster no "
        "longer accepts the token it got, and a new one needs the key. Not to be asked at all, "
        "keep it: `rgpu-exec login --insecure-storage` (a file only you can read; no keyring is "
        "usable here), or export REMOTEGPU_API_KEY."
    )
    # The next kubectl command gets the new token (after typing the key: nothing keeps it).
    parent[0] = NEXT_KUBECTL
    assert token(environ, clock, warnings) == "tok-2"


def test_when_the_cluster_cannot_be_asked_the_second_prompt_says_why_and_how_to_avoid_it(
    api, parent, prompts, cluster, environ, clock, warnings
) -> None:
    api.post(PATH).mock(side_effect=[credential_answer("tok-1"), credential_answer("tok-2")])
    token(environ, clock, warnings)
    cluster[0] = None  # no cluster info, unreachable, or no Kubernetes answer
    assert token(environ, clock, warnings) == "tok-2"
    assert len(prompts) == 2
    (again,) = [w for w in warnings if "asked for again" in w]
    assert "a kubectl dispatcher, such as gcloud's, runs this plugin twice" in again
    assert "the cluster could not be asked which" in again
    assert "`rgpu-exec login --insecure-storage`" in again


def test_a_token_too_close_to_its_expiry_is_replaced_without_asking_the_cluster(
    api, parent, prompts, cluster, environ, clock, warnings
) -> None:
    # The Python client asks again for a later expiry once less than 5 minutes are left.
    api.post(PATH).mock(
        side_effect=[credential_answer("tok-1", lifetime=240), credential_answer("tok-2")]
    )
    token(environ, clock, warnings)
    assert token(environ, clock, warnings) == "tok-2"
    assert cluster[1:] == [], "the expiry alone decides"
    assert len(prompts) == 2
    assert "the token it got expires within minutes, and a later one needs the key" in (warnings[1])


def test_the_note_serves_only_within_its_window(
    api, parent, prompts, cluster, environ, clock, warnings
) -> None:
    route = api.post(PATH).mock(side_effect=[credential_answer("tok-1")])
    token(environ, clock, warnings)
    clock.now += typed_key.TYPED_WINDOW
    assert token(environ, clock, warnings) == "tok-1"  # typed again: its cached token
    assert len(prompts) == 2
    assert route.call_count == 1
    assert not [w for w in warnings if "asked for again" in w], "no key was typed in it"


def test_another_profile_or_namespace_is_not_answered_by_the_note(
    api, parent, prompts, cluster, environ, clock, warnings
) -> None:
    other = "0b7e9c2a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"
    api.post(PATH).mock(side_effect=[credential_answer("tok-1")])
    api.post(f"/v1/kubernetes/namespaces/{other}/exec-credential").mock(
        side_effect=[credential_answer("tok-other")]
    )
    token(environ, clock, warnings)
    command = TokenCommand(environ, clock=clock, warn=warnings.append)
    assert "tok-other" in command.run(TokenRequest(other)).exec_credential
    assert len(prompts) == 2


def test_login_or_cache_clear_removes_the_note(
    api, parent, prompts, cluster, environ, clock
) -> None:
    api.post(PATH).mock(side_effect=[credential_answer("tok-1")])
    token(environ, clock, [])
    directory = environ["RGPU_EXEC_CACHE_DIR"]
    assert any(Path(directory).glob("*.typed"))
    cache_files.purge(directory, [])  # what login, logout and `cache clear` call
    assert not any(Path(directory).glob("*.typed"))


@pytest.mark.parametrize(
    "text",
    [
        "rgpu-exec-typed 1\nclient 4242\nidentity profile:default\nat {now}\n",
        "rgpu-exec-typed 1\nclient 4343\nidentity key-hmac:{hex}\nat {now}\n",
        "rgpu-exec-typed 1\nclient 4242\nidentity key-hmac:{hex}\nat {later}\n",
        "rgpu-exec-typed 1\nclient 4242\nidentity key-hmac:{hex}\nat soon\n",
        "rgpu-exec-typed 2\nclient 4242\nidentity key-hmac:{hex}\nat {now}\n",
        "rgpu-exec-typed 1\nidentity key-hmac:{hex}\nclient 4242\nat {now}\n",
        "rgpu-exec-typed 1\nclient 4242\nidentity key-hmac:{hex}\nat {now}\nextra\n",
        "rgpu-exec-typed 1\nclient 4242\nidentity key-hmac:{hex}\nat {now}\nextra",
        "rgpu-exec-typed 1\nclient 4242\nidentity key-hmac:{not_hex}\nat {now}\n",
        "rgpu-exec-typed 1\nclient 4242\nidentity key-hmac:{hex}0\nat {now}\n",
    ],
    ids=[
        "not-a-fingerprint",
        "other-client",
        "future",
        "no-time",
        "magic",
        "order",
        "longer",
        "unended",
        "not-hex",
        "too-long",
    ],
)
def test_a_note_not_exactly_as_written_grants_nothing(tmp_path: Path, text: str) -> None:
    stem = "a" * 64
    path = Path(token_cache.file_path(str(tmp_path), stem, token_cache.TYPED_SUFFIX))
    path.write_text(text.format(now=100.0, later=100.5, hex="b" * 64, not_hex="z" * 64))
    path.chmod(0o600)
    assert typed_key.granted(str(tmp_path), stem, KUBECTL, 100.0) is None
    typed_key.note(str(tmp_path), stem, KUBECTL, "key-hmac:" + "z" * 64, 100.0)  # refused
    assert typed_key.granted(str(tmp_path), stem, KUBECTL, 100.0) is None
    typed_key.note(str(tmp_path), stem, KUBECTL, "key-hmac:" + "b" * 64, 100.0)
    assert typed_key.granted(str(tmp_path), stem, KUBECTL, 100.0) == "key-hmac:" + "b" * 64
    assert typed_key.granted(str(tmp_path), stem, KUBECTL, 99.5) is None  # before it was written


def test_a_fake_dispatcher_running_the_launcher_twice_is_asked_once(
    run_cli, api, prompts, cluster, sandbox
) -> None:
    # The launcher as kubectl runs it, twice from one parent (run_cli's runs share one), as
    # gcloud's dispatcher and then the versioned kubectl it execs do; then a new command.
    route = api.post(PATH).mock(side_effect=[credential_answer("tok-1")])
    env = {"REMOTEGPU_API_URL": API, "KUBERNETES_EXEC_INFO": EXEC_INFO}
    argv = ["token", "--namespace-id", NAMESPACE_ID, "--namespace", "team-ml"]
    first, second = run_cli(argv, env=env), run_cli(argv, env=env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert json.loads(first.stdout)["status"] == json.loads(second.stdout)["status"]
    assert len(prompts) == 1
    assert second.stderr == ""  # all is well: kubectl shows the plugin's stderr
    assert route.call_count == 1
    assert run_cli(argv, env=env, new_parent=True).returncode == 0
    assert len(prompts) == 2, "each new kubectl command asks for the key again"
