"""The failure record (`hotpath.failures`), pinned where mutation testing (`make mutation`) found
no test holding it: damping under changed settings, the record's fields, the fallback windows,
the key file's state."""

from __future__ import annotations

import errno
import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from rgpu_exec.hotpath import failures, private_files, token_cache
from rgpu_exec.hotpath.failures import Failure
from rgpu_exec.hotpath.token_cache import CacheKey, Entry

KEY = CacheKey("https://api.example.test", "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f", "profile:ci")


@pytest.fixture
def cache(tmp_path: Path) -> str:
    directory = str(tmp_path / "c")
    private_files.ensure_directory(directory)
    return directory


def told(since: float, under: str = "proxy A") -> Failure:
    hashed = failures.settings_hash(under)
    return Failure(since, since + 5, 5, True, "rgpu-exec: the API is down.", settings_hash=hashed)


def test_a_failure_under_other_settings_is_told_in_full_again(cache: str) -> None:
    assert failures.damp(cache, KEY.stem, told(100.0), lambda: "proxy A") is None, "in full"
    again = told(101.0)

    assert failures.damp(cache, KEY.stem, again, lambda: "proxy A") is not None, "damped"
    assert failures.damp(cache, KEY.stem, again, lambda: "proxy B") is None, "settings changed"


HASHED = failures.settings_hash("proxy A")
WRITTEN = Failure(
    100.0, 105.0, 7, True, "first\n\nsecond", settings_hash=HASHED, key=KEY, fallback=True
)


def test_a_read_record_holds_each_field_it_was_written_with(cache: str) -> None:
    failures.write_failure(cache, KEY.stem, WRITTEN)
    read = failures.read_failure(cache, KEY.stem, 101.0)

    assert read is not None
    assert (read.since, read.until, read.exit_code) == (100.0, 105.0, 7)
    assert (read.transient, read.fallback) == (True, True)
    assert read.message == "first\n\nsecond", "a blank line in the message is its own"
    assert (read.settings_hash, read.key) == (HASHED, KEY)


def _record(cache: str, text: str) -> Failure | None:
    path = Path(token_cache.file_path(cache, KEY.stem, token_cache.FAILURE_SUFFIX))
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return failures.read_failure(cache, KEY.stem, 101.0)


def _with_line(index: int, line: str) -> str:
    lines = WRITTEN.render().split("\n")
    lines[index] = line
    return "\n".join(lines)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(_with_line(0, "rgpu-exec-failure 2"), id="another-format"),
        pytest.param(WRITTEN.render().split("\n\n")[0] + "\n\n", id="no-message"),
        pytest.param(_with_line(1, "began 100.0"), id="misnamed-field"),
        pytest.param(_with_line(1, "since"), id="no-value"),
        pytest.param(_with_line(3, "exit_code 0"), id="exit-code-0"),
        pytest.param(_with_line(3, "exit_code 256"), id="exit-code-256"),
    ],
)
def test_a_record_out_of_its_format_is_no_record(cache: str, text: str) -> None:
    assert _record(cache, WRITTEN.render()) is not None, "the record as written is read"

    assert _record(cache, text) is None


@pytest.mark.parametrize("code", [1, 255])
def test_exit_codes_from_1_to_255_are_replayed(cache: str, code: int) -> None:
    read = _record(cache, _with_line(3, f"exit_code {code}"))

    assert read is not None
    assert read.exit_code == code


def test_an_entry_line_of_other_than_three_parts_names_no_entry(cache: str) -> None:
    api, namespace, identity = KEY
    read = _record(cache, _with_line(7, f"entry {api}  {namespace} {identity}"))

    assert read is not None
    assert read.key is None


def test_a_token_no_longer_lasts_a_command_at_the_very_moment_its_window_ends() -> None:
    entry = Entry(KEY, 1000.0, 1900.0, "tok")
    end = failures.usable_until(entry)

    assert failures.lasts_a_command(entry, end - 0.001)
    assert not failures.lasts_a_command(entry, end)


@pytest.mark.parametrize(
    ("left", "deadline", "expected"),
    [
        pytest.param(4.0, 30.0, 2.0, id="half-the-time-left"),
        pytest.param(20.0, 30.0, 5.0, id="at-most-five-seconds"),
        pytest.param(20.0, 3.0, 3.0, id="at-most-the-deadline"),
        pytest.param(0.6, 30.0, 0.5, id="at-least-half-a-second"),
    ],
)
def test_a_refresh_with_a_token_in_hand_gives_up_within_half_the_time_it_lasts(
    left: float, deadline: float, expected: float
) -> None:
    entry = Entry(KEY, 0.0, 900.0, "tok")  # usable until 890: a command is 10 s
    now = failures.usable_until(entry) - left

    assert failures.refresh_deadline(entry, now, deadline) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("left", "expected"),
    [
        pytest.param(100.0, 25.0, id="a-quarter-of-the-time-left"),
        pytest.param(200.0, 30.0, id="at-most-thirty-seconds"),
        pytest.param(2.0, 1.0, id="at-least-a-second"),
        pytest.param(0.5, 0.5, id="never-past-the-time-left"),
    ],
)
def test_a_failed_refresh_with_a_token_in_hand_is_retried_within_a_quarter_of_its_time(
    left: float, expected: float
) -> None:
    entry = Entry(KEY, 0.0, 900.0, "tok")
    now = failures.usable_until(entry) - left

    assert failures.retry_after(entry, now) == pytest.approx(expected)


@pytest.mark.parametrize(("lifetime", "expected"), [(100.0, 10.0), (20.0, 5.0), (-5.0, 0.0)])
def test_a_command_is_ten_seconds_or_a_quarter_of_a_short_lifetime(
    lifetime: float, expected: float
) -> None:
    assert failures.command_life(lifetime) == expected


def test_the_settings_are_recorded_as_the_first_128_bits_of_their_sha256() -> None:
    # The record's format: a record written by one version is read by the next.
    assert failures.settings_hash("proxy A") == hashlib.sha256(b"proxy A").hexdigest()[:32]
    assert len(failures.settings_hash("\udcff not UTF-8 from the environment")) == 32


def test_a_replay_names_the_first_sentence_of_at_most_160_characters() -> None:
    assert failures.summary("rgpu-exec: no key.  Run   login. Then retry.") == "rgpu-exec: no key."
    assert failures.summary("x" * 160) == "x" * 160
    assert failures.summary("x" * 161) == "x" * 159 + "…"
    assert failures.summary("a.b c") == "a.b c", "a full stop inside a word ends nothing"
    assert failures.summary(". b. c") == ".", "cut at the first full stop, even the first"


def test_a_replay_says_how_long_ago_and_how_long_more_never_below_zero() -> None:
    told = Failure(100.0, 105.0, 5, True, "rgpu-exec: down. More.")

    assert told.replay(102.4).startswith("rgpu-exec: down. [same failure as 2 s ago, ")
    assert "not retried for 3 s," in told.replay(102.4)
    assert "as 0 s ago" in told.replay(99.0), "a clock that stepped back"
    assert "not retried for 0 s," in told.replay(110.0)


def test_a_failure_before_the_request_is_known_is_recorded_under_what_was_told() -> None:
    stem = failures.told_stem("5", "rgpu-exec: bad flag", "\udcff")
    expected = hashlib.sha256(
        "rgpu-exec-told\n5\nrgpu-exec: bad flag\n?".encode("utf-8", "replace")
    ).hexdigest()

    assert stem == expected
    assert failures.told_stem("5", "a") != failures.told_stem("5", "b")


def test_a_failure_without_settings_or_entry_is_written_with_a_dash_for_each() -> None:
    told = Failure(100.5, 105.0, 5, True, "rgpu-exec: down.")

    assert (told.settings_hash, told.key, told.fallback) == ("", None, False)
    assert told.render() == (
        "rgpu-exec-failure 3\nsince 100.5\nuntil 105.0\nexit_code 5\ntransient 1\nfallback 0\n"
        "settings -\nentry -\n\nrgpu-exec: down."
    )


def test_a_replay_told_within_the_second_says_zero_seconds_ago() -> None:
    told = Failure(100.0, 105.0, 5, True, "rgpu-exec: down.")

    assert "[same failure as 0 s ago," in told.replay(100.2)


def test_the_key_files_state_says_where_it_cannot_be_known(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A platform whose config directory only platformdirs knows (Windows): said, not guessed.
    monkeypatch.setattr(sys, "platform", "win32")

    assert failures.key_file_state({"HOME": str(tmp_path)}) == "key-file=unknown"


def test_the_key_files_state_says_each_of_the_two_is_absent(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "none")}

    absent = f"absent:{errno.ENOENT}"
    assert failures.key_file_state(environ) == f"key-file={absent} {absent}"


def _coarse_lstat(real: Callable[..., os.stat_result]) -> Callable[..., SimpleNamespace]:
    """`os.lstat` on a file system whose times change once in a long while (FAT, some NFS): a
    `chmod` within that time leaves them as they were."""

    def lstat(path: str) -> SimpleNamespace:
        st = real(path)
        fields = ("st_mode", "st_uid", "st_dev", "st_ino", "st_size")
        return SimpleNamespace(**{f: getattr(st, f) for f in fields}, st_mtime_ns=0, st_ctime_ns=0)

    return lstat


def _key_file(tmp_path: Path, mode: int) -> tuple[dict[str, str], Path]:
    """An environment whose key file (`login --insecure-storage`'s) exists with `mode`."""
    environ = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    directory = tmp_path / "config" / "rgpu-exec"
    directory.mkdir(parents=True, mode=0o700)
    key_file = directory / "api-keys"
    key_file.write_text("profile default\n", encoding="utf-8")
    key_file.chmod(mode)
    return environ, key_file


def test_a_fix_of_the_key_files_mode_changes_its_state_even_with_coarse_times(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environ, key_file = _key_file(tmp_path, 0o644)
    monkeypatch.setattr(os, "lstat", _coarse_lstat(os.lstat))
    loose = failures.key_file_state(environ)

    key_file.chmod(0o600)

    assert failures.key_file_state(environ) != loose, "a failure before the fix is not replayed"


def test_the_key_files_state_follows_the_file_not_what_else_its_directory_holds(
    tmp_path: Path,
) -> None:
    environ, key_file = _key_file(tmp_path, 0o600)
    directory = key_file.parent
    before = failures.key_file_state(environ)

    (directory / "other-file").write_text("x", encoding="utf-8")
    assert failures.key_file_state(environ) == before, "another file in the directory"

    key_file.write_text("profile default\nprofile ci\n", encoding="utf-8")
    assert failures.key_file_state(environ) != before, "the key file rewritten"
