"""The same client asking again for the fresh token it was given gets a new one, at most once per
entry per window; any other client, or a run without exec info, gets the cached token.

In process: `os.getppid` stands for the client (kubectl, or a Python client) that runs the plugin.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from rgpu_exec.cache import files as cache_files
from rgpu_exec.errors import ApiKeyError
from rgpu_exec.hotpath import cache_hit, second_ask, token_cache
from rgpu_exec.usecases import cache_admin
from rgpu_exec.usecases.token import TokenCommand, TokenRequest

from conftest import API_KEY, KUBECTL_PID, NAMESPACE_ID, key_identity
from exchange_answers import API, KUBECTL_EXEC_INFO, REVOKED, credential_answer

# The API exchange's backoff waits on the test's clock, not in real time (conftest).
pytestmark = pytest.mark.usefixtures("waits_on_the_clock")

PATH = f"/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"
KUBECTL, OTHER_KUBECTL = KUBECTL_PID, 4343
KEY = token_cache.CacheKey(API, NAMESPACE_ID, token_cache.key_identity(API_KEY, bytes(32)))


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    """conftest's, with the exec info kubectl sends."""
    return {**environ, "KUBERNETES_EXEC_INFO": KUBECTL_EXEC_INFO}


def token(environ, clock, warnings) -> str:
    """One plugin run through the full command, as after a hand-over."""
    output = (
        TokenCommand(environ, clock=clock, warn=warnings.append)
        .run(TokenRequest(NAMESPACE_ID))
        .exec_credential
    )
    return str(json.loads(output)["status"]["token"])


def hit(environ, clock) -> tuple[int, str, str] | None:
    return cache_hit.serve(["token", "--namespace-id", NAMESPACE_ID], environ, clock.now)


def test_the_same_client_asking_again_gets_a_new_token(api, parent, environ, clock, warnings):
    route = api.post(PATH).mock(
        side_effect=[credential_answer("tok-1"), credential_answer("tok-2")]
    )
    assert token(environ, clock, warnings) == "tok-1"
    clock.now += 5
    assert hit(environ, clock) is None, "the hit path hands over: the cluster rejected tok-1"
    assert token(environ, clock, warnings) == "tok-2"
    assert route.call_count == 2
    assert warnings == []
    # The next kubectl gets the new token from the cache, on the hit path.
    parent[0] = OTHER_KUBECTL
    answered = hit(environ, clock)
    assert answered is not None
    assert json.loads(answered[1])["status"]["token"] == "tok-2"


def test_other_clients_and_runs_without_exec_info_get_the_cached_token(
    api, parent, environ, clock, warnings
):
    route = api.post(PATH).mock(
        side_effect=[credential_answer("tok-1"), credential_answer("tok-2")]
    )
    assert token(environ, clock, warnings) == "tok-1"
    for client in range(5000, 5040):  # more clients than are remembered: no harm either
        parent[0] = client
        answered = hit(environ, clock)
        assert answered is not None
        assert json.loads(answered[1])["status"]["token"] == "tok-1"
    parent[0] = KUBECTL
    by_hand = {k: v for k, v in environ.items() if k != "KUBERNETES_EXEC_INFO"}
    for _ in range(3):  # a script or a person, twice from one shell: no exec protocol, no judging
        assert token(by_hand, clock, warnings) == "tok-1"
        assert hit(by_hand, clock) is not None
    assert route.call_count == 1


def test_at_most_one_forced_exchange_per_entry_per_window(api, parent, environ, clock, warnings):
    route = api.post(PATH).mock(side_effect=[credential_answer(f"tok-{n}") for n in range(1, 5)])
    assert token(environ, clock, warnings) == "tok-1"
    assert token(environ, clock, warnings) == "tok-2"  # forced
    # A cluster that rejects every token: the client asks again and again within the window.
    for _ in range(5):
        clock.now += second_ask.FORCE_WINDOW / 10
        answered = hit(environ, clock)
        assert answered is not None
        assert json.loads(answered[1])["status"]["token"] == "tok-2"
        assert token(environ, clock, warnings) == "tok-2"
    assert route.call_count == 2
    clock.now += second_ask.FORCE_WINDOW / 2
    assert hit(environ, clock) is None
    assert token(environ, clock, warnings) == "tok-3"
    assert route.call_count == 3


def test_the_rule_judges_only_fresh_tokens(api, parent, environ, clock, warnings):
    route = api.post(PATH).mock(
        side_effect=[credential_answer("tok-1"), credential_answer("tok-2")]
    )
    assert token(environ, clock, warnings) == "tok-1"
    clock.now += 900 - 89  # inside the refresh margin: an ordinary refresh
    assert token(environ, clock, warnings) == "tok-2"
    clock.now += 1
    assert hit(environ, clock) is None, "the same client asks again for tok-2"
    assert route.call_count == 2


def test_a_forced_refresh_that_fails_on_the_network_keeps_the_cached_token(
    api, parent, environ, clock, warnings
):
    route = api.post(PATH).mock(
        side_effect=[credential_answer("tok-1"), *[httpx.Response(503)] * 20]
    )
    assert token(environ, clock, warnings) == "tok-1"
    assert token(environ, clock, warnings) == "tok-1"
    assert len(warnings) == 1
    assert "could not refresh the token" in warnings[0]
    calls = route.call_count
    assert token(environ, clock, warnings) == "tok-1", "within the window: no second attempt"
    assert route.call_count == calls


def test_a_forced_refresh_refused_for_the_key_says_why(api, parent, environ, clock, warnings):
    api.post(PATH).mock(side_effect=[credential_answer("tok-1"), httpx.Response(401, json=REVOKED)])
    assert token(environ, clock, warnings) == "tok-1"
    with pytest.raises(ApiKeyError):
        token(environ, clock, warnings)


def test_pid_1_and_blank_exec_info_are_never_judged(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(os, "getppid", lambda: 1)
    assert second_ask.client({"KUBERNETES_EXEC_INFO": KUBECTL_EXEC_INFO}) is None
    monkeypatch.setattr(os, "getppid", lambda: KUBECTL)
    assert second_ask.client({"KUBERNETES_EXEC_INFO": KUBECTL_EXEC_INFO}) == KUBECTL
    assert second_ask.client({"KUBERNETES_EXEC_INFO": " \n"}) is None
    assert second_ask.client({}) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        f"{second_ask.SERVED_MAGIC}\ntoken 1 2\n4242\n",  # another token's record
        f"{second_ask.SERVED_MAGIC}\ntoken {{issued}} {{expires}}\n42\n424\n42424\nclients 4242\n",
        "rgpu-exec-served 2\ntoken {issued} {expires}\n4242\n",
    ],
)
def test_a_record_that_does_not_name_the_client_for_this_token_remembers_it_now(
    tmp_path: Path, text: str
):
    directory = str(tmp_path)
    now = 10_000.0
    entry = token_cache.Entry(KEY, now, now + 900, "tok")
    token_cache.write_entry(directory, entry)
    path = tmp_path / (KEY.stem + token_cache.SERVED_SUFFIX)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, text.format(issued=repr(now), expires=repr(now + 900)).encode())
    os.close(fd)
    assert not second_ask.asked_again(directory, entry, KUBECTL, now)
    assert second_ask.asked_again(directory, entry, KUBECTL, now), "remembered now"


def test_a_long_record_is_written_again_with_the_latest_clients(tmp_path: Path):
    directory = str(tmp_path)
    now = 10_000.0
    entry = token_cache.Entry(KEY, now, now + 900, "tok")
    token_cache.write_entry(directory, entry)
    clients = range(100_000, 100_400)
    for client in clients:
        second_ask.note(directory, entry, client, now)
    path = tmp_path / (KEY.stem + token_cache.SERVED_SUFFIX)
    assert path.stat().st_size < 2048
    assert path.stat().st_mode & 0o777 == 0o600
    assert second_ask.asked_again(directory, entry, clients[-1], now), "the latest is kept"
    assert not second_ask.asked_again(directory, entry, clients[0], now), "the oldest is not"


def test_a_record_not_ours_to_append_to_is_replaced(tmp_path: Path):
    directory = str(tmp_path)
    now = 10_000.0
    entry = token_cache.Entry(KEY, now, now + 900, "tok")
    token_cache.write_entry(directory, entry)
    second_ask.note(directory, entry, KUBECTL, now)
    path = tmp_path / (KEY.stem + token_cache.SERVED_SUFFIX)
    path.chmod(0o644)  # readable by others: never read, never appended to
    assert not second_ask.asked_again(directory, entry, KUBECTL, now)
    assert path.stat().st_mode & 0o777 == 0o600
    assert second_ask.asked_again(directory, entry, KUBECTL, now)


def test_a_malformed_forced_stamp_does_not_hold_back_a_refresh(tmp_path: Path):
    directory = str(tmp_path)
    now = 10_000.0
    entry = token_cache.Entry(KEY, now, now + 900, "tok")
    token_cache.write_entry(directory, entry)
    second_ask.note(directory, entry, KUBECTL, now)
    forced = tmp_path / (KEY.stem + token_cache.FORCED_SUFFIX)
    for text in ("", "rgpu-exec-forced 1\nat soon\n", "rgpu-exec-forced 1\nat 1e400\n"):
        forced.write_text(text)
        forced.chmod(0o600)
        assert second_ask.asked_again(directory, entry, KUBECTL, now)
    second_ask.begin_forced_refresh(directory, KEY.stem, now)
    assert not second_ask.asked_again(directory, entry, KUBECTL, now + 1)
    assert second_ask.asked_again(directory, entry, KUBECTL, now + second_ask.FORCE_WINDOW)


def test_the_records_are_the_caches_own_files(api, parent, environ, clock, warnings):
    api.post(PATH).mock(side_effect=[credential_answer("tok-1"), credential_answer("tok-2")])
    directory = environ["RGPU_EXEC_CACHE_DIR"]
    token(environ, clock, warnings)
    token(environ, clock, warnings)  # forced: both records exist now
    names = sorted(p.name for p in Path(directory).iterdir())
    stem = token_cache.CacheKey(API, NAMESPACE_ID, key_identity(API_KEY, environ)).stem
    assert names == sorted(
        stem + suffix
        for suffix in (
            token_cache.ENTRY_SUFFIX,
            token_cache.LOCK_SUFFIX,
            token_cache.SERVED_SUFFIX,
            token_cache.FORCED_SUFFIX,
        )
    )
    for name in names:
        assert (Path(directory) / name).stat().st_mode & 0o777 == 0o600
    assert cache_files.stems_in(directory) == [stem]
    assert [row["file"] for row in cache_admin.describe(directory, clock.now)] == [
        stem + token_cache.ENTRY_SUFFIX
    ]
    assert cache_admin.clear(directory, None, None) == 1
    assert list(Path(directory).iterdir()) == []


def test_purging_an_entry_takes_its_records(api, parent, environ, clock, warnings):
    api.post(PATH).mock(side_effect=[credential_answer("tok-1"), credential_answer("tok-2")])
    directory = environ["RGPU_EXEC_CACHE_DIR"]
    token(environ, clock, warnings)
    token(environ, clock, warnings)
    assert cache_admin.clear(directory, NAMESPACE_ID, None) == 1
    assert sorted(p.suffix for p in Path(directory).iterdir()) == []
