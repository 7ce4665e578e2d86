"""The failure gate of `token`, in process: every failure told in full once per burst of kubectl
reruns, then in one line; a refresh that fails other than by the API's verdict on the key or the
namespace falls back to the cached token while it lasts a command, and never after."""

from __future__ import annotations

import json

import httpx
import pytest

from rgpu_exec.errors import (
    ApiError,
    ApiKeyError,
    NamespaceAccessError,
    RecentFailureError,
    RgpuExecError,
    UsageError,
)
from rgpu_exec.hotpath import cache_hit, failures, token_cache
from rgpu_exec.usecases.token import FAILURE_DAMPING_SECONDS, TokenCommand, TokenRequest

from conftest import API_KEY, NAMESPACE_ID, key_identity
from exchange_answers import API, FORBIDDEN, REVOKED, credential_answer

# The API exchange's backoff waits on the test's clock, not in real time (conftest).
pytestmark = pytest.mark.usefixtures("waits_on_the_clock")

PATH = f"/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"
TOKEN_ARGV = ["token", "--namespace-id", NAMESPACE_ID]
NOT_FOUND = {"error": {"code": "namespace_not_found", "message": "Namespace not found"}}
# What a proxy or a captive portal answers in the API's place.
PROXY_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway"
    "</h1><p>The proxy server received an invalid response from an upstream server.</p>"
    "</body></html>"
)
LOGIN_PAGE = "<html><body><form action='/login'>Sign in to use the Wi-Fi</form></body></html>"


def run(command: TokenCommand) -> str:
    return command.run(TokenRequest(NAMESPACE_ID)).exec_credential


def token_of(output: str) -> str:
    return str(json.loads(output)["status"]["token"])


def told(command: TokenCommand) -> RgpuExecError:
    with pytest.raises(RgpuExecError) as caught:
        run(command)
    return caught.value


def assert_one_line_replay(replay: RgpuExecError, first: RgpuExecError) -> None:
    assert isinstance(replay, RecentFailureError)
    assert replay.exit_code == first.exit_code
    assert "\n" not in str(replay)
    assert str(replay).startswith(failures.summary(str(first)) + " [same failure")


# -- every failure is damped alike --------------------------------------------------------------


def test_a_quoted_key_is_explained_once_per_burst_then_in_one_line(
    api, command, environ, clock
) -> None:
    route = api.post(PATH).mock(return_value=credential_answer())
    environ["REMOTEGPU_API_KEY"] = f'"{API_KEY}"'  # a CI secret pasted with its quotes
    first = told(command)
    assert "quotes" in str(first)
    assert len(str(first)) > 160  # the full explanation, told once
    for _ in range(4):  # kubectl's reruns of the same command, through the full command
        assert_one_line_replay(told(command), first)
    # ...and on the hot path, which replays the record without starting the full command
    answered = cache_hit.serve(TOKEN_ARGV, environ, clock.now)
    assert answered is not None
    assert answered[0] == int(first.exit_code)
    assert answered[2].count("\n") == 1
    assert "[same failure" in answered[2]
    assert route.call_count == 0
    clock.now += FAILURE_DAMPING_SECONDS  # the next burst: told in full again
    assert str(told(command)) == str(first)


def test_a_missing_key_is_explained_once_per_burst_then_in_one_line(api, command, environ) -> None:
    del environ["REMOTEGPU_API_KEY"]  # the sandbox's keyring backend raises on every call
    first = told(command)
    assert isinstance(first, ApiKeyError)
    assert_one_line_replay(told(command), first)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        pytest.param({"KUBERNETES_EXEC_INFO": "[]"}, "KUBERNETES_EXEC_INFO", id="exec-info"),
        pytest.param({"RGPU_EXEC_DEADLINE": "soon"}, "RGPU_EXEC_DEADLINE", id="deadline"),
        pytest.param({"REMOTEGPU_API_URL": "ftp://x"}, "not an http(s) URL", id="url"),
    ],
)
def test_a_usage_error_found_before_the_request_is_known_is_explained_once_per_burst(
    api, command, environ, change, words
) -> None:
    environ.update(change)
    first = told(command)
    assert isinstance(first, UsageError)
    assert words in str(first)
    assert_one_line_replay(told(command), first)


V0_INFO = '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1"}'
QUOTED = f"'{API_KEY}'"
EVERY_FAILURE = [
    # (change to the environment, the exchange's answer (None: never asked), the flags' ID)
    pytest.param({"KUBERNETES_EXEC_INFO": "{"}, None, NAMESPACE_ID, id="malformed-exec-info"),
    pytest.param({"KUBERNETES_EXEC_INFO": V0_INFO}, None, NAMESPACE_ID, id="exec-info-version"),
    pytest.param({}, None, "team-ml", id="namespace-id"),
    pytest.param({"RGPU_EXEC_PROFILE": "a/b"}, None, NAMESPACE_ID, id="profile"),
    pytest.param({"RGPU_EXEC_DEADLINE": "-1"}, None, NAMESPACE_ID, id="deadline"),
    pytest.param({"REMOTEGPU_API_URL": "http://10.0.0.1"}, None, NAMESPACE_ID, id="url"),
    pytest.param({"REMOTEGPU_API_KEY": QUOTED}, None, NAMESPACE_ID, id="quoted-key"),
    pytest.param({"REMOTEGPU_API_KEY": "rgpu_3f9a 2c1b"}, None, NAMESPACE_ID, id="space-in-key"),
    pytest.param({"REMOTEGPU_API_KEY": ""}, None, NAMESPACE_ID, id="empty-key-no-keyring"),
    pytest.param({}, httpx.Response(401, json=REVOKED), NAMESPACE_ID, id="revoked-key"),
    pytest.param({}, httpx.Response(403, json=FORBIDDEN), NAMESPACE_ID, id="forbidden"),
    pytest.param({}, httpx.Response(404, json=NOT_FOUND), NAMESPACE_ID, id="no-namespace"),
    pytest.param({}, httpx.Response(404, html=PROXY_PAGE), NAMESPACE_ID, id="not-the-api"),
    pytest.param({}, httpx.Response(401, html=LOGIN_PAGE), NAMESPACE_ID, id="401-not-the-apis"),
    pytest.param({}, httpx.Response(503), NAMESPACE_ID, id="5xx"),
    pytest.param({}, httpx.Response(302, headers={"location": "/"}), NAMESPACE_ID, id="redirect"),
    pytest.param({}, httpx.Response(200, html=LOGIN_PAGE), NAMESPACE_ID, id="html-page"),
    pytest.param({}, httpx.ConnectError("refused"), NAMESPACE_ID, id="no-connection"),
]


@pytest.mark.parametrize(("change", "answer", "namespace_id"), EVERY_FAILURE)
def test_every_failure_of_token_is_told_in_full_once_per_burst_then_in_one_line(
    api, command, environ, clock, change, answer, namespace_id
) -> None:
    # The gate's bypass test: a failure path of `token` that goes around `TokenCommand.run`'s
    # gate is told in full on each of kubectl's reruns, and fails here.
    environ.update(change)
    route = api.post(PATH).mock(side_effect=[answer] * 20 if answer is not None else None)
    flags = TokenRequest(namespace_id)
    with pytest.raises(RgpuExecError) as caught:
        command.run(flags)
    first = caught.value
    assert not isinstance(first, RecentFailureError)
    asked = route.call_count
    for _ in range(4):  # the rest of the burst: one line each, the API not asked again
        with pytest.raises(RgpuExecError) as again:
            command.run(flags)
        assert_one_line_replay(again.value, first)
    assert route.call_count == asked
    clock.now += FAILURE_DAMPING_SECONDS  # the next burst is told in full again
    with pytest.raises(RgpuExecError) as later:
        command.run(flags)
    assert not isinstance(later.value, RecentFailureError)
    assert (type(later.value), later.value.exit_code) == (type(first), first.exit_code)


def test_only_the_same_failure_is_told_in_one_line(api, command, environ) -> None:
    environ["KUBERNETES_EXEC_INFO"] = "[]"
    first = told(command)
    environ["KUBERNETES_EXEC_INFO"] = '{"kind": "ExecCredential"}'  # another mistake
    second = told(command)
    assert not isinstance(second, RecentFailureError)
    assert str(second) != str(first)


def test_a_url_that_is_not_the_apis_is_damped_and_not_asked_again(api, command) -> None:
    route = api.post(PATH).mock(return_value=httpx.Response(404, text="no such page"))
    first = told(command)
    assert isinstance(first, UsageError)
    assert_one_line_replay(told(command), first)
    assert route.call_count == 1


# -- the stale fallback: what is and is not the API's verdict -----------------------------------

FALLS_BACK = [
    pytest.param(httpx.Response(503), id="5xx"),
    pytest.param(httpx.ConnectError("refused"), id="network-error"),
    pytest.param(httpx.ReadTimeout("stalled"), id="stall"),
    pytest.param(httpx.RemoteProtocolError("peer closed mid-body"), id="dropped-mid-body"),
    pytest.param(httpx.Response(200, text="not json {{{"), id="malformed"),
    pytest.param(httpx.Response(200, text='{"apiVersion": "client.authen'), id="truncated"),
    pytest.param(httpx.Response(200, content=b""), id="empty"),
    pytest.param(httpx.Response(200, json={"hello": "world"}), id="wrong-shape"),
    pytest.param(httpx.Response(200, html=LOGIN_PAGE), id="captive-portal-page"),
    pytest.param(httpx.Response(502, html=PROXY_PAGE), id="proxy-error-page"),
    # A 401, 403 or 404 without the API's error body is not the API's word on the key: the API
    # always answers in its error shape; a proxy or a portal in between does not.
    pytest.param(httpx.Response(401, html=LOGIN_PAGE), id="401-without-the-apis-shape"),
    pytest.param(httpx.Response(403, html=PROXY_PAGE), id="403-without-the-apis-shape"),
    pytest.param(httpx.Response(404, html=PROXY_PAGE), id="404-without-the-apis-shape"),
]


@pytest.mark.parametrize("failure", FALLS_BACK)
def test_a_refresh_that_is_not_the_apis_verdict_falls_back_to_the_valid_cached_token(
    api, command, environ, clock, warnings, failure
) -> None:
    route = api.post(PATH).mock(side_effect=[credential_answer("tok-1"), *[failure] * 20])
    run(command)
    clock.now += 850  # inside the refresh margin, 50 s before expiry
    assert token_of(run(command)) == "tok-1"
    assert len(warnings) == 1
    assert "could not refresh the token" in warnings[0]
    asked = route.call_count
    # kubectl's next commands: the hot path serves the token silently, the API is not asked
    clock.now += 1
    answered = cache_hit.serve(TOKEN_ARGV, environ, clock.now)
    assert answered is not None
    assert (answered[0], token_of(answered[1]), answered[2]) == (0, "tok-1", "")
    assert token_of(run(command)) == "tok-1"
    assert route.call_count == asked
    assert len(warnings) == 1


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        pytest.param(httpx.Response(401, json=REVOKED), ApiKeyError, id="401-revoked"),
        pytest.param(httpx.Response(403, json=FORBIDDEN), NamespaceAccessError, id="403"),
        pytest.param(httpx.Response(404, json=NOT_FOUND), NamespaceAccessError, id="404"),
    ],
)
def test_the_apis_verdict_in_its_error_shape_never_falls_back(
    api, command, environ, clock, answer, error
) -> None:
    api.post(PATH).mock(side_effect=[credential_answer("tok-1"), *[answer] * 5])
    run(command)
    clock.now += 850
    first = told(command)
    assert isinstance(first, error)
    # the reruns, on both paths: the verdict again in one line, never the token
    assert_one_line_replay(told(command), first)
    answered = cache_hit.serve(TOKEN_ARGV, environ, clock.now)
    assert answered is not None
    assert answered[0] == int(first.exit_code)
    assert answered[1] == ""


# -- a token too close to its expiry is never handed over ---------------------------------------


def test_the_least_life_for_a_command_is_bounded_by_the_tokens_lifetime() -> None:
    assert failures.command_life(900) == failures.COMMAND_LIFE == 10.0
    assert failures.command_life(40) == 10.0
    assert failures.command_life(20) == 5.0  # a very short token keeps a fallback window
    assert failures.command_life(0) == 0.0


def test_a_token_with_too_little_life_is_not_handed_over_and_the_real_failure_is_told(
    api, command, environ, clock, warnings
) -> None:
    route = api.post(PATH).mock(
        side_effect=[credential_answer("tok-1"), *[httpx.Response(503)] * 20]
    )
    run(command)
    clock.now += 900 - failures.COMMAND_LIFE + 1  # 9 s left: less than a command needs
    first = told(command)
    assert isinstance(first, ApiError)
    assert "HTTP 503" in str(first)  # the real failure, not the cluster's "Unauthorized"
    assert warnings == []
    assert route.call_count > 1
    # kubectl's reruns get it again in one line, never the token
    answered = cache_hit.serve(TOKEN_ARGV, environ, clock.now)
    assert answered is not None
    assert (answered[0], answered[1]) == (5, "")
    assert_one_line_replay(told(command), first)


def test_the_fallback_stops_before_the_token_is_too_short_for_a_command(
    api, command, environ, clock, warnings
) -> None:
    route = api.post(PATH).mock(
        side_effect=[credential_answer("tok-1"), *[httpx.Response(503)] * 40]
    )
    issued = clock.now
    run(command)
    clock.now += 880  # 20 s left: served, while it lasts a command
    assert token_of(run(command)) == "tok-1"
    directory = environ["RGPU_EXEC_CACHE_DIR"]
    key = token_cache.CacheKey(API, NAMESPACE_ID, key_identity(API_KEY, environ))
    record = failures.read_failure(directory, key.stem, clock.now)
    assert record is not None
    assert record.fallback
    # asked again after a quarter of the time it may still be handed over (at least 1 s): a
    # fault of a few answers is ridden out before the token is too short for a command
    assert record.until == pytest.approx(clock.now + (20 - failures.COMMAND_LIFE) / 4)
    for _ in range(4):  # 17.5, 15.6, 14.2 and 13.2 s left: asked again, still served
        clock.now = record.until
        assert cache_hit.lookup(directory, key, clock.now)[1] is None
        assert token_of(run(command)) == "tok-1"
        record = failures.read_failure(directory, key.stem, clock.now)
        assert record is not None
    clock.now = issued + 900 - failures.COMMAND_LIFE + 0.5  # 9.5 s left: never handed over
    assert cache_hit.lookup(directory, key, clock.now)[1] is None
    asked = route.call_count
    assert isinstance(told(command), ApiError)
    assert route.call_count > asked


def test_the_hot_path_never_serves_a_token_too_short_for_a_command(sandbox, clock) -> None:
    directory = str(sandbox / "cache")
    key = token_cache.CacheKey(API, NAMESPACE_ID, key_identity(API_KEY))
    now = clock.now
    entry = token_cache.Entry(key, now - 895, now + 5, "tok-1")
    token_cache.write_entry(directory, entry)
    record = failures.Failure(
        now - 11, now + 30, 5, True, "rgpu-exec: the API failed.", key=key, fallback=True
    )
    failures.write_failure(directory, key.stem, record)
    _, found = cache_hit.lookup(directory, key, now)
    assert isinstance(found, failures.Failure)
    _, found = cache_hit.lookup(directory, key, now - 10)  # 15 s left then: served
    assert isinstance(found, token_cache.Entry)
