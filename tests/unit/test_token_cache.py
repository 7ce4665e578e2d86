"""The cache file format and its safety rules."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rgpu_exec.hotpath import failures, private_files, token_cache
from rgpu_exec.hotpath import settings as rgpu_settings
from rgpu_exec.hotpath.failures import Failure
from rgpu_exec.hotpath.token_cache import CacheKey, Entry

API = "https://api.example.test"
NS = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"
IDENTITY = token_cache.profile_identity("default")


def entry(issued: float = 1000.0, lifetime: float = 900.0, token: str = "tok") -> Entry:
    return Entry(CacheKey(API, NS, IDENTITY), issued, issued + lifetime, token)


def entry_path(directory: Path) -> Path:
    return directory / (token_cache.entry_stem(API, NS, IDENTITY) + token_cache.ENTRY_SUFFIX)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    directory = tmp_path / "c"
    private_files.ensure_directory(str(directory))
    return directory


def test_round_trip(cache: Path) -> None:
    token_cache.write_entry(str(cache), entry())
    read = token_cache.read_entry(str(cache), token_cache.CacheKey(API, NS, IDENTITY))
    assert read is not None
    assert (read.token, read.issued_at, read.expires_at) == ("tok", 1000.0, 1900.0)
    assert stat.S_IMODE(entry_path(cache).stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    ("lifetime", "margin"),
    [
        pytest.param(900, 90, id="15min-10pct"),
        pytest.param(300, 60, id="5min-floor-60s"),
        pytest.param(3600, 360, id="1h-10pct"),
        pytest.param(120, 60, id="2min-floor-60s-is-half"),
        pytest.param(100, 50, id="100s-half"),
        pytest.param(60, 30, id="1min-half"),
        pytest.param(50, 25, id="50s-half"),
        pytest.param(2, 1, id="2s-half"),
    ],
)
def test_refresh_margin_is_max_of_60s_and_10pct_but_at_most_half_the_lifetime(
    lifetime: float, margin: float
) -> None:
    e = entry(lifetime=lifetime)
    assert e.refresh_at == pytest.approx(e.expires_at - margin)
    assert e.fresh(e.refresh_at - 0.001)
    assert not e.fresh(e.refresh_at)
    assert e.valid(e.refresh_at)
    assert not e.valid(e.expires_at)


def test_a_short_token_is_served_from_the_cache_for_half_its_life() -> None:
    """5 calls 10 s apart with 50 s tokens: one exchange serves the first three."""
    e = entry(lifetime=50)
    served = [e.fresh(e.issued_at + t) for t in (0, 10, 20, 30, 40)]
    assert served == [True, True, True, False, False]


def test_kubectl_is_told_a_little_early_but_never_a_past_time() -> None:
    e = entry()
    assert e.kubectl_expiry(1000.0) == e.expires_at - 30
    assert e.kubectl_expiry(e.expires_at - 10) == e.expires_at


def test_identities_do_not_share_entries(cache: Path) -> None:
    token_cache.write_entry(str(cache), entry())
    other = token_cache.key_identity("rgpu_0badc0de_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", bytes(32))
    assert token_cache.read_entry(str(cache), token_cache.CacheKey(API, NS, other)) is None
    assert token_cache.read_entry(str(cache), token_cache.CacheKey(API + "/", NS, IDENTITY)) is None


def test_a_renamed_entry_for_another_identity_is_a_miss(cache: Path) -> None:
    # Even if a file lands under the wrong name, its header must match who is asking.
    other = Entry(CacheKey(API, NS, token_cache.profile_identity("ci")), 1000.0, 1900.0, "other")
    entry_path(cache).write_text(other.render())
    entry_path(cache).chmod(0o600)
    assert token_cache.read_entry(str(cache), token_cache.CacheKey(API, NS, IDENTITY)) is None


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o666])
def test_entries_others_can_access_are_misses(cache: Path, mode: int) -> None:
    token_cache.write_entry(str(cache), entry())
    entry_path(cache).chmod(mode)
    assert token_cache.read_entry(str(cache), token_cache.CacheKey(API, NS, IDENTITY)) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_foreign_owned_entries_are_misses(cache: Path) -> None:
    token_cache.write_entry(str(cache), entry())
    os.chown(entry_path(cache), 12345, -1)
    assert token_cache.read_entry(str(cache), token_cache.CacheKey(API, NS, IDENTITY)) is None


def test_symlinked_entries_are_not_followed_nor_written_through(
    cache: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "precious"
    elsewhere.write_text(entry(token="planted").render())
    elsewhere.chmod(0o600)
    entry_path(cache).symlink_to(elsewhere)

    assert token_cache.read_entry(str(cache), token_cache.CacheKey(API, NS, IDENTITY)) is None
    token_cache.write_entry(str(cache), entry(token="fresh"))
    assert "planted" in elsewhere.read_text(), "the symlink's target is untouched"
    assert not entry_path(cache).is_symlink()
    read = token_cache.read_entry(str(cache), token_cache.CacheKey(API, NS, IDENTITY))
    assert read is not None
    assert read.token == "fresh"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("garbage", id="garbage"),
        pytest.param(entry().render()[:-5], id="truncated"),
        pytest.param(
            entry().render().replace("expires_at 1900.0", "expires_at soon"), id="bad-float"
        ),
        pytest.param(entry().render().replace("expires_at 1900.0", "expires_at nan"), id="nan"),
        pytest.param(
            entry().render().replace("expires_at 1900.0", "expires_at 900.0"), id="before-issue"
        ),
        pytest.param(entry().render().replace("token tok", 'token t"k'), id="unsafe-token"),
        pytest.param(
            entry().render().replace("rgpu-exec-token 1", "rgpu-exec-token 2"), id="version"
        ),
        pytest.param(entry().render() + "extra\n", id="trailing"),
    ],
)
def test_corrupt_entries_are_misses_and_get_replaced(cache: Path, text: str) -> None:
    entry_path(cache).write_text(text)
    entry_path(cache).chmod(0o600)
    assert token_cache.read_entry(str(cache), token_cache.CacheKey(API, NS, IDENTITY)) is None
    token_cache.write_entry(str(cache), entry(token="fresh"))
    read = token_cache.read_entry(str(cache), token_cache.CacheKey(API, NS, IDENTITY))
    assert read is not None
    assert read.token == "fresh"


def _mutated_entries() -> st.SearchStrategy[bytes]:
    valid = entry().render().encode()
    return st.tuples(st.integers(0, len(valid)), st.integers(0, 8), st.binary(max_size=8)).map(
        lambda t: valid[: t[0]] + t[2] + valid[t[0] + t[1] :]
    )


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # each run overwrites it
@given(st.one_of(st.binary(max_size=600), _mutated_entries()))
def test_any_bytes_read_back_as_a_valid_entry_or_a_miss(cache: Path, data: bytes) -> None:
    entry_path(cache).write_bytes(data)
    entry_path(cache).chmod(0o600)
    read = token_cache.read_entry(str(cache), token_cache.CacheKey(API, NS, IDENTITY))
    if read is not None:
        assert read.issued_at < read.expires_at
        assert token_cache.parse_entry(read.render()) is not None


@given(
    st.floats(min_value=0, max_value=4e9),
    st.floats(min_value=1, max_value=1e6),
    st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"\\'),
        min_size=1,
    ),
)
def test_entries_round_trip(issued: float, lifetime: float, token: str) -> None:
    original = Entry(CacheKey(API, NS, IDENTITY), issued, issued + lifetime, token)
    parsed = token_cache.parse_entry(original.render())
    if issued + lifetime <= issued:  # float rounding can swallow a tiny lifetime
        assert parsed is None
        return
    assert parsed is not None
    assert (parsed.token, parsed.issued_at, parsed.expires_at) == (token, issued, issued + lifetime)


def test_directory_problems(tmp_path: Path) -> None:
    directory = tmp_path / "d"
    assert private_files.directory_problem(str(directory)) is None, "missing is fine: we create it"
    directory.mkdir(mode=0o700)
    assert private_files.directory_problem(str(directory)) is None
    directory.chmod(0o770)
    assert "writable by other users" in (private_files.directory_problem(str(directory)) or "")
    directory.chmod(0o707)
    assert "writable by other users" in (private_files.directory_problem(str(directory)) or "")
    file = tmp_path / "f"
    file.write_text("")
    assert private_files.directory_problem(str(file)) == "is not a directory"


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a directory's owner needs root")
def test_foreign_owned_directory_is_a_problem(tmp_path: Path) -> None:
    directory = tmp_path / "d"
    directory.mkdir(mode=0o700)
    os.chown(directory, 12345, -1)
    assert "owned by another user" in (private_files.directory_problem(str(directory)) or "")


def test_failure_records_expire(cache: Path) -> None:
    stem = token_cache.entry_stem(API, NS, IDENTITY)
    failure = Failure(98.0, 105.0, 3, False, "rgpu-exec: nope\nline 2")
    failures.write_failure(str(cache), stem, failure)
    record = failures.read_failure(str(cache), stem, 100.0)
    assert record is not None
    assert (record.exit_code, record.transient, record.message) == (
        3,
        False,
        "rgpu-exec: nope\nline 2",
    )
    assert record.replay(100.0) == (
        "rgpu-exec: nope line 2 [same failure as 2 s ago, told in full then; not retried for "
        "5 s, `rgpu-exec cache clear` forgets it]\n"
    )
    assert "rgpu-exec cache clear" in record.replay(100.0)
    assert failures.read_failure(str(cache), stem, 105.0) is None
    assert failures.read_failure(str(cache), stem, 97.0) is None, "recorded in the future"
    token_cache.write_entry(str(cache), entry())
    assert failures.read_failure(str(cache), stem, 100.0) is None, "a success clears it"


def test_a_failure_is_replayed_only_under_the_settings_it_failed_under(cache: Path) -> None:
    stem = token_cache.entry_stem(API, NS, IDENTITY)
    before = rgpu_settings.exchange_settings({"HTTPS_PROXY": "http://user:secret@proxy:3128"})
    fixed = rgpu_settings.exchange_settings({"HTTPS_PROXY": "http://proxy.corp:3128"})
    failure = Failure(
        98.0, 105.0, 5, True, "rgpu-exec: no", settings_hash=failures.settings_hash(before)
    )
    failures.write_failure(str(cache), stem, failure)

    assert failures.read_failure(str(cache), stem, 100.0, lambda: before) is not None
    assert failures.read_failure(str(cache), stem, 100.0, lambda: fixed) is None, "fixed: try again"
    assert failures.read_failure(str(cache), stem, 100.0) is not None, "shown by cache list"
    assert "secret" not in (cache / f"{stem}.fail").read_text(), "only a hash of the settings"


@given(
    user=st.text(st.characters(codec="ascii", exclude_characters="@/"), max_size=12),
    password=st.text(st.characters(codec="ascii", exclude_characters="@/"), min_size=1),
    scheme=st.sampled_from(["http://", "https://", "socks5://", ""]),
    variable=st.sampled_from(rgpu_settings.PROXY_VARIABLES[:6]),
)
def test_nothing_in_the_cache_lets_anyone_test_guesses_at_a_proxy_password(
    user, password, scheme, variable
):
    with_password = rgpu_settings.exchange_settings(
        {variable: f"{scheme}{user}:{password}@proxy.corp:3128"}
    )
    other_password = rgpu_settings.exchange_settings(
        {variable: f"{scheme}{user}:{password}x@proxy.corp:3128"}
    )
    assert "@" not in with_password  # no user name, no password
    assert failures.settings_hash(with_password) == failures.settings_hash(other_password)
    moved = rgpu_settings.exchange_settings({variable: f"{scheme}{user}:{password}@proxy2:3128"})
    assert failures.settings_hash(moved) != failures.settings_hash(with_password)
