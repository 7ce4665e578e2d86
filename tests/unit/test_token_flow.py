"""The token flow in-process: key sources, stale fallback, damping, skew, cache trouble."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from rgpu_exec.cache import files as cache_files
from rgpu_exec.errors import (
    ApiError,
    ApiKeyError,
    NamespaceAccessError,
    RecentFailureError,
    UsageError,
)
from rgpu_exec.hotpath import cache_hit, failures, token_cache
from rgpu_exec.usecases.token import FAILURE_DAMPING_SECONDS, TokenCommand, TokenRequest

from conftest import API_KEY, NAMESPACE_ID, key_identity
from exchange_answers import FORBIDDEN, REVOKED, credential_answer
from file_keyring import calls

PATH = f"/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"
# As kubectl sends them: its JSON encoder ends the value with a newline.
V1BETA1_INFO = '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}\n'
INTERACTIVE_INFO = '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}\n'


def status(output: str) -> dict[str, str]:
    decoded = json.loads(output)
    assert decoded["kind"] == "ExecCredential"
    return decoded["status"]  # type: ignore[no-any-return]


def run(command: TokenCommand) -> str:
    return command.run(TokenRequest(NAMESPACE_ID)).exec_credential


def test_fresh_token_is_served_from_cache(api, command) -> None:
    route = api.post(PATH).mock(
        side_effect=[credential_answer("tok-1"), credential_answer("tok-2")]
    )
    assert status(run(command))["token"] == "tok-1"
    assert status(run(command))["token"] == "tok-1"
    assert route.call_count == 1


def test_inside_the_margin_the_token_is_refreshed(api, command, clock) -> None:
    route = api.post(PATH).mock(
        side_effect=[credential_answer("tok-1"), credential_answer("tok-2")]
    )
    run(command)
    clock.now += 900 - 89  # less than 10 % of the lifetime left
    assert status(run(command))["token"] == "tok-2"
    assert route.call_count == 2


def test_clock_skew_neither_serves_expired_nor_discards_fresh(api, command, clock) -> None:
    # The server's clock is an hour ahead: the token still lives 15 minutes on ours.
    api.post(PATH).mock(
        side_effect=[credential_answer("tok-1", server_skew=3600), credential_answer("tok-2")]
    )
    first = status(run(command))
    expiry = datetime.strptime(first["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    told = expiry.replace(tzinfo=timezone.utc).timestamp() - clock.now
    assert 860 < told <= 870, "15 minutes on our clock, less the 30 s slack"
    clock.now += 600
    assert status(run(command))["token"] == "tok-1"


def test_stale_but_valid_token_is_served_when_refresh_hits_a_5xx(
    api, command, waits_on_the_clock, warnings
) -> None:
    clock = waits_on_the_clock
    route = api.post(PATH).mock(
        side_effect=[credential_answer("tok-1"), *[httpx.Response(503)] * 50]
    )
    run(command)
    clock.now += 850  # inside the margin, 50 s before expiry
    assert status(run(command))["token"] == "tok-1"
    assert len(warnings) == 1
    assert "could not refresh the token" in warnings[0]
    assert "HTTP 503" in warnings[0]
    calls_after_first_fallback = route.call_count
    # kubectl's next commands within the damping window: served quietly, API not asked again.
    clock.now += 1
    answered = cache_hit.serve(
        ["token", "--namespace-id", NAMESPACE_ID], command.environ, clock.now
    )
    assert answered is not None
    assert answered[0] == 0
    assert status(answered[1])["token"] == "tok-1"
    assert answered[2] == ""
    assert status(run(command))["token"] == "tok-1"
    assert route.call_count == calls_after_first_fallback
    assert len(warnings) == 1
    # While the API is failing, it is asked again only every 30 s, or after a quarter of the time
    # the token may still be handed over, if sooner: here (50 - 10) / 4 = 10 s.
    clock.now += 8
    assert status(run(command))["token"] == "tok-1"
    assert route.call_count == calls_after_first_fallback
    clock.now += 2
    assert status(run(command))["token"] == "tok-1"
    assert route.call_count > calls_after_first_fallback


def test_a_revoked_key_inside_the_margin_is_an_error_not_a_fallback(api, command, clock) -> None:
    api.post(PATH).mock(side_effect=[credential_answer("tok-1"), httpx.Response(401, json=REVOKED)])
    run(command)
    clock.now += 850
    with pytest.raises(ApiKeyError):
        run(command)


def test_expired_token_is_never_served(api, command, clock) -> None:
    api.post(PATH).mock(side_effect=[credential_answer("tok-1"), *[httpx.Response(503)] * 50])
    run(command)
    clock.now += 901
    with pytest.raises(ApiError):
        run(command)


def test_failures_are_damped_for_a_few_seconds(api, command, clock) -> None:
    route = api.post(PATH).mock(return_value=httpx.Response(403, json=FORBIDDEN))
    with pytest.raises(NamespaceAccessError) as first:
        run(command)
    for _ in range(3):
        with pytest.raises(RecentFailureError) as again:
            run(command)
        assert again.value.exit_code == 4
        assert str(again.value).startswith(failures.summary(str(first.value)) + " [same failure")
        assert "\n" not in str(again.value)
    assert route.call_count == 1
    answered = cache_hit.serve(
        ["token", "--namespace-id", NAMESPACE_ID], command.environ, clock.now
    )
    assert answered is not None
    assert answered[0] == 4
    clock.now += FAILURE_DAMPING_SECONDS
    with pytest.raises(NamespaceAccessError):
        run(command)
    assert route.call_count == 2, "after the window, the API is asked again"


def test_answers_in_v1beta1_when_asked(api, command, environ, monkeypatch) -> None:
    api.post(PATH).mock(return_value=credential_answer())
    environ["KUBERNETES_EXEC_INFO"] = V1BETA1_INFO
    output = run(command)
    assert json.loads(output)["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    # and the fast path gives byte-identical output on the following hit: the next kubectl's
    # (the same process asking again would mean the cluster rejected it, see second_ask)
    next_kubectl = os.getppid() + 1
    monkeypatch.setattr(os, "getppid", lambda: next_kubectl)
    hit = cache_hit.serve(["token", "--namespace-id", NAMESPACE_ID], environ, command.clock())
    assert hit is not None
    assert hit[1] == output


@pytest.fixture
def file_keyring(sandbox: Path, monkeypatch: pytest.MonkeyPatch, environ) -> Iterator[Path]:
    import keyring

    from file_keyring import FileKeyring

    path = sandbox / "keyring.json"
    monkeypatch.setenv("TEST_KEYRING_FILE", str(path))
    environ["TEST_KEYRING_FILE"] = str(path)
    previous = keyring.get_keyring()
    keyring.set_keyring(FileKeyring())
    yield path
    keyring.set_keyring(previous)


def test_env_key_wins_over_the_keyring(api, command, file_keyring) -> None:
    import keyring

    keyring.set_password("rgpu-exec", "default", "rgpu_aaaaaaaa_fromthekeyringfromthekeyring12")
    route = api.post(PATH).mock(return_value=credential_answer())
    run(command)
    assert route.calls.last.request.headers["x-api-key"] == API_KEY
    assert not any(c.startswith("get") for c in calls(file_keyring))


def test_keyring_key_is_used_and_a_hit_never_calls_the_keyring(
    api, command, environ, file_keyring
) -> None:
    import keyring

    stored = "rgpu_aaaaaaaa_fromthekeyringfromthekeyring12"
    keyring.set_password("rgpu-exec", "ci", stored)
    del environ["REMOTEGPU_API_KEY"]
    environ["RGPU_EXEC_PROFILE"] = "ci"
    route = api.post(PATH).mock(return_value=credential_answer())
    run(command)
    assert route.calls.last.request.headers["x-api-key"] == stored
    gets = [c for c in calls(file_keyring) if c.startswith("get")]
    assert gets == ["get rgpu-exec ci"]
    run(command)  # a hit, through the full command
    hit = cache_hit.serve(["token", "--namespace-id", NAMESPACE_ID], environ, command.clock())
    assert hit is not None
    assert hit[0] == 0
    assert [c for c in calls(file_keyring) if c.startswith("get")] == gets
    assert route.call_count == 1


def test_a_broken_keyring_means_no_key(api, command, environ) -> None:
    del environ["REMOTEGPU_API_KEY"]  # the sandbox's keyring backend raises on every call
    with pytest.raises(ApiKeyError, match="no RemoteGPU API key found"):
        run(command)


def test_interactive_runs_prompt_for_a_missing_key(api, environ, clock, monkeypatch) -> None:
    monkeypatch.setattr("rgpu_exec.credentials.api_key._terminal_available", lambda: True)
    del environ["REMOTEGPU_API_KEY"]
    environ["KUBERNETES_EXEC_INFO"] = INTERACTIVE_INFO
    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return API_KEY + "\n"

    monkeypatch.setattr("rgpu_exec.credentials.api_key.read_hidden", fake_getpass)
    route = api.post(PATH).mock(return_value=credential_answer())
    warnings: list[str] = []
    command = TokenCommand(environ, clock=clock, warn=warnings.append)
    assert status(run(command))["token"] == "tok-1"
    assert route.calls.last.request.headers["x-api-key"] == API_KEY
    assert len(prompts) == 1
    assert API_KEY not in prompts[0]
    assert "120 s" in prompts[0]  # the wait is bounded, and says so
    # After the typed key worked: how to stop being asked in every new kubectl command.
    assert warnings == [
        (
            "rgpu-exec: the key you typed works; kubectl will ask for it again in each new command "
            "until you keep it: `rgpu-exec login --insecure-storage` (a file only you can read; no "
            "keyring is usable here), or export REMOTEGPU_API_KEY."
        )
    ]


def test_a_prompt_nobody_answers_gives_up_after_its_time_limit(
    api, environ, clock, monkeypatch
) -> None:
    monkeypatch.setattr("rgpu_exec.credentials.api_key._terminal_available", lambda: True)
    del environ["REMOTEGPU_API_KEY"]
    environ["KUBERNETES_EXEC_INFO"] = INTERACTIVE_INFO

    def nobody(_prompt: str) -> str:
        raise TimeoutError

    monkeypatch.setattr("rgpu_exec.credentials.api_key.read_hidden", nobody)
    command = TokenCommand(environ, clock=clock, warn=lambda _: None)
    with pytest.raises(ApiKeyError, match=r"no API key was typed within 120 s\. Store one"):
        run(command)


def test_the_hidden_read_waits_at_most_its_time_limit() -> None:
    import os
    import time

    from rgpu_exec.credentials import prompt

    read, write = os.pipe()
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            prompt._read_line(read, time.monotonic() + 0.2)
        assert time.monotonic() - started < 2
        os.write(write, b"typed\n")
        assert prompt._read_line(read, time.monotonic() + 1) == "typed"
    finally:
        os.close(read)
        os.close(write)


def test_a_key_typed_at_the_prompt_is_cached_under_its_fingerprint_not_the_profile(
    api, environ, clock, monkeypatch, sandbox
) -> None:
    # Two different keys typed for the same profile: each gets its own token, never the other's.
    monkeypatch.setattr("rgpu_exec.credentials.api_key._terminal_available", lambda: True)
    del environ["REMOTEGPU_API_KEY"]
    environ["KUBERNETES_EXEC_INFO"] = INTERACTIVE_INFO
    other_key = API_KEY[:-4] + "ZZZZ"
    typed = iter([API_KEY, other_key, API_KEY])
    monkeypatch.setattr("rgpu_exec.credentials.api_key.read_hidden", lambda _prompt: next(typed))

    def issue(request: httpx.Request) -> httpx.Response:
        return credential_answer(
            "tok-first" if request.headers["x-api-key"] == API_KEY else "tok-second"
        )

    route = api.post(PATH).mock(side_effect=issue)
    command = TokenCommand(environ, clock=clock, warn=lambda _: None)
    assert status(run(command))["token"] == "tok-first"
    assert status(run(command))["token"] == "tok-second"
    assert status(run(command))["token"] == "tok-first"  # its own cached token: no exchange
    assert route.call_count == 2
    directory = environ["RGPU_EXEC_CACHE_DIR"]
    identities = {e.key.identity for _, e in cache_files.iter_entries(directory) if e}
    assert identities == {key_identity(API_KEY, environ), key_identity(other_key, environ)}


def test_non_interactive_runs_never_prompt(api, command, environ, monkeypatch) -> None:
    del environ["REMOTEGPU_API_KEY"]

    def forbidden(prompt: str) -> str:
        raise AssertionError("prompted")

    monkeypatch.setattr("rgpu_exec.credentials.api_key.read_hidden", forbidden)
    with pytest.raises(ApiKeyError):
        run(command)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        pytest.param(
            {"REMOTEGPU_API_KEY": "rgpu_3f9a 2c1b_x"},
            "REMOTEGPU_API_KEY contains",
            id="space-in-key",
        ),
        pytest.param({"REMOTEGPU_API_URL": "ftp://x"}, "not an http(s) URL", id="url-scheme"),
        pytest.param({"REMOTEGPU_API_URL": "http://10.0.0.1"}, "plain http", id="url-clear"),
        pytest.param({"RGPU_EXEC_DEADLINE": "soon"}, "RGPU_EXEC_DEADLINE", id="deadline"),
        pytest.param({"RGPU_EXEC_PROFILE": "a/b"}, "profile name", id="profile"),
        pytest.param({"KUBERNETES_EXEC_INFO": "[]"}, "KUBERNETES_EXEC_INFO", id="exec-info"),
    ],
)
def test_malformed_environment_is_a_usage_error(api, command, environ, change, words) -> None:
    route = api.post(PATH).mock(return_value=credential_answer())
    environ.update(change)
    with pytest.raises(UsageError) as caught:
        run(command)
    assert words in str(caught.value)
    assert "3f9a 2c1b_x" not in str(caught.value)
    assert route.call_count == 0


def test_a_malformed_namespace_id_is_a_usage_error(command) -> None:
    with pytest.raises(UsageError, match="not a namespace ID"):
        command.run(TokenRequest("team-ml"))


def test_an_insecure_cache_dir_is_not_used_but_kubectl_still_gets_a_token(
    api, command, environ, warnings, sandbox
) -> None:
    cache = sandbox / "cache"
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    api.post(PATH).mock(return_value=credential_answer())
    assert status(run(command))["token"] == "tok-1"
    assert len(warnings) == 1
    assert "writable by other users" in warnings[0]
    assert list(cache.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only permissions")
def test_a_read_only_cache_still_prints_the_token(api, command, warnings, sandbox) -> None:
    cache = sandbox / "cache"
    cache.mkdir(mode=0o500)
    api.post(PATH).mock(return_value=credential_answer())
    assert status(run(command))["token"] == "tok-1"
    assert len(warnings) == 1


def test_a_cache_write_failure_still_prints_the_token(api, command, warnings, monkeypatch) -> None:
    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(token_cache, "write_entry", disk_full)
    api.post(PATH).mock(return_value=credential_answer())
    assert status(run(command))["token"] == "tok-1"
    assert len(warnings) == 1
    assert "No space left on device" in warnings[0]


@pytest.mark.parametrize(
    ("terminal", "answer"),
    [
        pytest.param(True, EOFError, id="ctrl-d"),
        pytest.param(True, "   ", id="empty"),
        pytest.param(False, AssertionError("no terminal: must not prompt"), id="no-terminal"),
    ],
)
def test_no_key_at_the_prompt_is_exit_3(api, environ, clock, monkeypatch, terminal, answer) -> None:
    monkeypatch.setattr("rgpu_exec.credentials.api_key._terminal_available", lambda: terminal)
    del environ["REMOTEGPU_API_KEY"]
    environ["KUBERNETES_EXEC_INFO"] = INTERACTIVE_INFO

    def fake_getpass(prompt: str) -> str:
        if isinstance(answer, BaseException) or answer is EOFError:
            raise answer
        return str(answer)

    monkeypatch.setattr("rgpu_exec.credentials.api_key.read_hidden", fake_getpass)
    command = TokenCommand(environ, clock=clock, warn=lambda _: None)
    with pytest.raises(ApiKeyError, match="no RemoteGPU API key found"):
        run(command)
