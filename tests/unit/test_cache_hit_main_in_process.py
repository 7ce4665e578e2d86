"""`cache_hit.main`, the launcher's first call, in process: what it writes when the cache
answers, and that it hands over (None) on anything else, a surprise included."""

from __future__ import annotations

import os
import sys
import time

import pytest

from rgpu_exec.hotpath import cache_hit, exec_credential, token_cache
from rgpu_exec.hotpath.token_cache import CacheKey, Entry

from conftest import API_KEY, NAMESPACE_ID, key_identity
from exchange_answers import API

ARGV = ["token", "--namespace-id", NAMESPACE_ID]


@pytest.fixture
def cached(monkeypatch) -> Entry:
    monkeypatch.setenv("REMOTEGPU_API_KEY", API_KEY)
    monkeypatch.setenv("REMOTEGPU_API_URL", API)
    now = time.time()
    entry = Entry(CacheKey(API, NAMESPACE_ID, key_identity()), now, now + 900, "tok-1")
    token_cache.write_entry(os.environ["RGPU_EXEC_CACHE_DIR"], entry)
    return entry


def test_a_hit_writes_the_credential_and_nothing_else(cached, capsys) -> None:
    assert cache_hit.main(ARGV) == 0

    out, err = capsys.readouterr()
    assert '"token":"tok-1"' in out.replace(" ", "")
    assert err == ""


def test_a_hit_under_debug_says_it_answered_from_the_cache(cached, capsys, monkeypatch) -> None:
    monkeypatch.setenv("RGPU_EXEC_LOG", "debug")

    assert cache_hit.main(ARGV) == 0

    err = capsys.readouterr().err
    assert err.startswith("rgpu-exec: DEBUG: rgpu_exec.hotpath.cache_hit: answered with a cached")


def test_a_hit_under_an_unknown_log_level_warns_once(cached, capsys, monkeypatch) -> None:
    monkeypatch.setenv("RGPU_EXEC_LOG", "loud")

    assert cache_hit.main(ARGV) == 0

    err = capsys.readouterr().err
    assert err.startswith("rgpu-exec: warning: RGPU_EXEC_LOG='loud' is not a log level")
    assert "DEBUG" not in err


def test_a_miss_or_another_command_hands_over(monkeypatch, capsys) -> None:
    monkeypatch.setenv("REMOTEGPU_API_KEY", API_KEY)
    monkeypatch.setenv("REMOTEGPU_API_URL", API)

    assert cache_hit.main(ARGV) is None
    assert cache_hit.main(["kubeconfig", "list"]) is None
    monkeypatch.setattr(sys, "argv", ["rgpu-exec", "--help"])
    assert cache_hit.main() is None
    assert capsys.readouterr() == ("", "")


def test_any_surprise_hands_over_to_the_full_command(cached, monkeypatch, capsys) -> None:
    def surprise(*args: object) -> None:
        raise RuntimeError("a surprise")

    monkeypatch.setattr(cache_hit, "serve", surprise)

    assert cache_hit.main(ARGV) is None
    assert capsys.readouterr() == ("", "")


def test_a_closed_stdout_is_told_as_output_gone(cached, monkeypatch) -> None:
    class Closed:
        def write(self, text: str) -> int:
            raise BrokenPipeError

        def flush(self) -> None:
            raise BrokenPipeError

    # output_gone points the real stdout at /dev/null: not in the test process
    monkeypatch.setattr(exec_credential, "output_gone", lambda: 141)
    monkeypatch.setattr(sys, "stdout", Closed())

    assert cache_hit.main(ARGV) == 141
