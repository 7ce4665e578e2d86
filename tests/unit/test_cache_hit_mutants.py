"""The cache protocol of `token` (`hotpath.cache_hit`), pinned where mutation testing
(`make mutation`) found no test holding it: what `consult` answers after it took the entry's lock,
when another process wrote an entry or a failure while this one waited (in process: `consult`
reads its `clock` right after the lock is taken, and the test's clock writes them then), and what
the hit path writes, loads and releases.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest

import rgpu_exec.hotpath
from rgpu_exec.hotpath import (
    cache_hit,
    entry_lock,
    failures,
    private_files,
    request,
    second_ask,
    token_cache,
)
from rgpu_exec.hotpath.failures import Failure
from rgpu_exec.hotpath.request import ExecRequest
from rgpu_exec.hotpath.token_cache import CacheKey, Entry

from conftest import API_KEY, KUBECTL_PID, NAMESPACE_ID, key_identity
from exchange_answers import API

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from conftest import Clock

ARGV = ["token", "--namespace-id", NAMESPACE_ID]


@pytest.fixture
def directory() -> str:
    return os.environ["RGPU_EXEC_CACHE_DIR"]


@pytest.fixture
def wanted() -> ExecRequest:
    """A request for the `ci` profile's token (no key: its entry needs no fingerprint)."""
    made = request.resolve(NAMESPACE_ID, API, "ci", dict(os.environ), check_url=False)
    assert isinstance(made, ExecRequest)
    return made


@pytest.fixture(autouse=True)
def no_lock_left() -> Iterator[None]:
    yield
    for release in [r for r in entry_lock._dealt_with.values() if r is not None]:
        release()
    entry_lock._dealt_with.clear()


def entry(key: CacheKey, now: float, *, age: float = 0.0, life: float = 900.0) -> Entry:
    return Entry(key, now - age, now - age + life, "tok-" + str(int(age)))


def failure_for(wanted: ExecRequest, now: float) -> Failure:
    return Failure(
        now - 1,
        now + 30,
        3,
        True,
        "rgpu-exec: the API did not answer. Try again later.",
        settings_hash=failures.settings_hash(wanted.exchange_settings()),
        key=wanted.cache_key,
    )


def meanwhile(clock: Clock, act: Callable[[], object]) -> Callable[[], float]:
    """The clock `consult` reads once it holds the lock: another process acted while it waited
    (a second passed)."""

    def read() -> float:
        act()
        clock.now += 1
        return clock.now

    return read


def test_a_token_written_while_waiting_for_the_lock_is_the_answer_and_its_client_is_noted(
    directory: str, wanted: ExecRequest, clock: Clock
) -> None:
    written = entry(wanted.cache_key, clock.now)
    write = meanwhile(clock, lambda: token_cache.write_entry(directory, written))

    consulted = cache_hit.consult(directory, wanted, KUBECTL_PID, clock.now, write)

    assert isinstance(consulted.answer, Entry)
    assert consulted.answer.token == written.token
    assert consulted.at == clock.now, "the time of the read after the lock"
    assert (consulted.fallback, consulted.forced) == (None, False)
    assert consulted.locked is True, "the caller releases the lock it holds"
    assert entry_lock.holds(wanted.cache_key.stem)
    # The client was given that token: asking again for it is a second ask.
    assert second_ask.asked_again(directory, written, KUBECTL_PID, clock.now)


def test_a_failure_recorded_while_waiting_for_the_lock_is_the_answer(
    directory: str, wanted: ExecRequest, clock: Clock
) -> None:
    recorded = failure_for(wanted, clock.now)
    write = meanwhile(
        clock, lambda: failures.write_failure(directory, wanted.cache_key.stem, recorded)
    )

    consulted = cache_hit.consult(directory, wanted, KUBECTL_PID, clock.now, write)

    assert isinstance(consulted.answer, Failure)
    assert consulted.answer.message == recorded.message
    assert consulted.at == clock.now
    assert consulted.locked is True


def test_a_miss_after_the_lock_needs_an_exchange_under_it(
    directory: str, wanted: ExecRequest, clock: Clock
) -> None:
    consulted = cache_hit.consult(directory, wanted, KUBECTL_PID, clock.now, meanwhile(clock, int))

    assert (consulted.answer, consulted.fallback, consulted.forced) == (None, None, False)
    assert consulted.at == clock.now
    assert consulted.locked is True, "the exchange is made under the lock, then released"
    assert entry_lock.holds(wanted.cache_key.stem)


def test_a_token_inside_its_refresh_margin_is_the_fallback_while_it_lasts_a_command(
    directory: str, wanted: ExecRequest, clock: Clock
) -> None:
    # 900 s tokens: not fresh in their last 90 s, handed over until their last 10 s.
    stale = entry(wanted.cache_key, clock.now, age=850)
    token_cache.write_entry(directory, stale)

    consulted = cache_hit.consult(directory, wanted, KUBECTL_PID, clock.now, meanwhile(clock, int))

    assert consulted.answer is None, "an exchange is needed"
    assert consulted.fallback is not None
    assert consulted.fallback.token == stale.token
    assert consulted.at == clock.now
    assert consulted.locked is True


def test_a_token_too_close_to_its_expiry_is_no_fallback(
    directory: str, wanted: ExecRequest, clock: Clock
) -> None:
    token_cache.write_entry(directory, entry(wanted.cache_key, clock.now, age=895))

    consulted = cache_hit.consult(directory, wanted, KUBECTL_PID, clock.now, clock)

    assert (consulted.answer, consulted.fallback) == (None, None)


def test_the_full_command_after_the_hit_path_is_told_it_holds_the_lock(
    directory: str, wanted: ExecRequest, clock: Clock
) -> None:
    first = cache_hit.consult(directory, wanted, KUBECTL_PID, clock.now, clock)
    assert first.locked is True, "the hit path took the lock on a miss"

    second = cache_hit.consult(directory, wanted, KUBECTL_PID, clock.now, clock)

    assert second.locked is True, "the full command exchanges under it, then releases it"
    assert entry_lock.holds(wanted.cache_key.stem)


def test_a_fresh_token_is_the_answer_without_the_lock(
    directory: str, wanted: ExecRequest, clock: Clock
) -> None:
    token_cache.write_entry(directory, entry(wanted.cache_key, clock.now))

    consulted = cache_hit.consult(directory, wanted, KUBECTL_PID, clock.now, clock)

    assert isinstance(consulted.answer, Entry)
    assert consulted.locked is False, "nothing to release"
    assert not entry_lock.held(wanted.cache_key.stem)


def test_a_failure_recorded_under_other_settings_is_never_the_answer(
    directory: str, wanted: ExecRequest, clock: Clock
) -> None:
    # Recorded before the user changed a setting (a proxy, the key file): maybe fixed since.
    recorded = failure_for(wanted, clock.now)
    recorded.settings_hash = failures.settings_hash("other settings")
    failures.write_failure(directory, wanted.cache_key.stem, recorded)

    consulted = cache_hit.consult(directory, wanted, KUBECTL_PID, clock.now, clock)

    assert consulted.answer is None, "an exchange is tried again, before and after the lock"


def test_a_client_asking_again_for_its_fresh_token_gets_a_forced_refresh_under_the_lock(
    directory: str, wanted: ExecRequest, clock: Clock
) -> None:
    given = entry(wanted.cache_key, clock.now)
    token_cache.write_entry(directory, given)
    second_ask.note(directory, given, KUBECTL_PID, clock.now)  # the token it was given

    consulted = cache_hit.consult(directory, wanted, KUBECTL_PID, clock.now, meanwhile(clock, int))

    assert consulted.answer is None, "the cluster rejected it: a new one is needed"
    assert consulted.forced is True
    assert consulted.fallback is not None
    assert consulted.fallback.token == given.token
    assert consulted.at == clock.now
    assert consulted.locked is True, "the new exchange is made under the lock, then released"


def test_a_lock_held_elsewhere_is_waited_for_the_exchanges_deadline_and_its_grace(
    directory: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RGPU_EXEC_DEADLINE", "0.5")
    made = request.resolve(NAMESPACE_ID, API, "ci", dict(os.environ), check_url=False)
    assert isinstance(made, ExecRequest)
    # The waits on the test's clock; another process's exchange holds the lock all along.
    on_the_clock = SimpleNamespace(monotonic=clock.monotonic, sleep=clock.sleep)
    monkeypatch.setattr(cache_hit, "time", on_the_clock)
    monkeypatch.setattr(entry_lock, "time", on_the_clock)
    private_files.ensure_directory(directory)
    lock = token_cache.file_path(directory, made.cache_key.stem, token_cache.LOCK_SUFFIX)
    elsewhere = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(elsewhere, fcntl.LOCK_EX)
    try:
        started = clock.monotonic()
        consulted = cache_hit.consult(directory, made, KUBECTL_PID, clock.now, clock)
        waited = clock.monotonic() - started
    finally:
        os.close(elsewhere)

    assert 0.5 + entry_lock.WAIT_GRACE <= waited < 0.5 + entry_lock.WAIT_GRACE + 0.1
    assert (consulted.answer, consulted.locked) == (None, False), "it goes on without the lock"
    assert entry_lock.held(made.cache_key.stem), "and will not wait for it again"


# The hit path itself (`serve`, `main`), with a key from the environment.


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> CacheKey:
    monkeypatch.setenv("REMOTEGPU_API_KEY", API_KEY)
    monkeypatch.setenv("REMOTEGPU_API_URL", API)
    return CacheKey(API, NAMESPACE_ID, key_identity())


def test_the_hit_path_releases_the_lock_when_a_token_came_while_it_waited(
    keyed: CacheKey, directory: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = time.time()
    acquire = entry_lock.acquire

    def acquire_after_another_exchange(lock_path: str, stem: str, give_up_at: float) -> bool:
        taken = acquire(lock_path, stem, give_up_at)
        token_cache.write_entry(directory, Entry(keyed, now, now + 900, "tok-meanwhile"))
        return taken

    monkeypatch.setattr(entry_lock, "acquire", acquire_after_another_exchange)

    answer = cache_hit.serve(ARGV, os.environ, now)

    assert answer is not None
    assert answer[0] == 0
    assert "tok-meanwhile" in answer[1]
    assert not entry_lock.held(keyed.stem), "answered: the lock is not kept"


def test_a_hit_runs_from_the_programs_own_arguments(
    keyed: CacheKey, directory: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    now = time.time()
    token_cache.write_entry(directory, Entry(keyed, now, now + 900, "tok-1"))
    monkeypatch.setattr(sys, "argv", ["rgpu-exec", *ARGV])

    assert cache_hit.main() == 0
    assert '"token":"tok-1"' in capsys.readouterr().out.replace(" ", "")


def test_a_replayed_failure_under_debug_says_it_was_recorded_moments_ago(
    keyed: CacheKey, directory: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    made = request.resolve(NAMESPACE_ID, None, None, os.environ)
    assert isinstance(made, ExecRequest)
    recorded = failure_for(made, time.time())
    failures.write_failure(directory, keyed.stem, recorded)
    monkeypatch.setenv("RGPU_EXEC_LOG", "debug")

    assert cache_hit.main(ARGV) == 3

    out, err = capsys.readouterr()
    assert out == ""
    first, replay = err.split("\n", 1)
    assert first == (
        "rgpu-exec: DEBUG: rgpu_exec.hotpath.cache_hit: answered with a failure recorded "
        "moments ago"
    )
    assert replay.startswith("rgpu-exec: the API did not answer. [same failure as")


def test_a_usual_hit_does_not_load_the_url_rules(
    keyed: CacheKey, directory: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The entry exists only for a URL the full command accepted: a hit need not check it again.
    now = time.time()
    token_cache.write_entry(directory, Entry(keyed, now, now + 900, "tok-1"))
    monkeypatch.delitem(sys.modules, "rgpu_exec.hotpath.url_rules", raising=False)
    monkeypatch.delattr(rgpu_exec.hotpath, "url_rules", raising=False)

    answer = cache_hit.serve(ARGV, os.environ, now)

    assert answer is not None
    assert answer[0] == 0
    assert "rgpu_exec.hotpath.url_rules" not in sys.modules


def test_where_the_config_directory_is_unknown_a_key_from_the_environment_hands_over(
    keyed: CacheKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The key's fingerprint secret lives in the config directory, which only platformdirs names
    # on Windows: the full command finds it.
    with monkeypatch.context() as patch:
        patch.setattr(sys, "platform", "win32")
        answer = cache_hit.serve(ARGV, os.environ, time.time())

    assert answer is None
