"""The cache entry's format, field by field, and the SHA-256 it is named with, on every Python:
what mutation testing (`make mutation`) found no test pinning."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import sys
from pathlib import Path

import pytest

from rgpu_exec.hotpath import token_cache
from rgpu_exec.hotpath.token_cache import CacheKey, Entry

KEY = CacheKey("https://api.example.test", "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f", "profile:ci")
WRITTEN = Entry(KEY, 1000.5, 1900.25, "tok-123")


def test_a_parsed_entry_holds_each_field_it_was_written_with() -> None:
    parsed = token_cache.parse_entry(WRITTEN.render())

    assert parsed is not None
    assert parsed.key == KEY
    assert (parsed.key.api_url, parsed.key.namespace_id, parsed.key.identity) == KEY
    assert (parsed.issued_at, parsed.expires_at, parsed.token) == (1000.5, 1900.25, "tok-123")


def _lines() -> list[str]:
    return WRITTEN.render().split("\n")


def _swapped(first: int, second: int) -> str:
    lines = _lines()
    lines[first], lines[second] = lines[second], lines[first]
    return "\n".join(lines)


def _with_line(index: int, line: str) -> str:
    lines = _lines()
    lines[index] = line
    return "\n".join(lines)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(_swapped(1, 2), id="api-url-and-namespace-swapped"),
        pytest.param(_swapped(4, 5), id="issued-and-expires-swapped"),
        pytest.param(_with_line(6, "token"), id="no-separator"),
        pytest.param(_with_line(6, "token "), id="empty-value"),
        pytest.param(_with_line(1, "api_url "), id="empty-url"),
        pytest.param(_with_line(3, "identitY profile:ci"), id="misnamed-field"),
        pytest.param(_with_line(5, "expires_at 1000.5"), id="expires-when-issued"),
        pytest.param(_with_line(5, "expires_at inf"), id="never-expires"),
        pytest.param(_with_line(7, "END"), id="no-end"),
        pytest.param(WRITTEN.render().rstrip("\n"), id="no-final-newline"),
        pytest.param(WRITTEN.render() + "\n", id="a-blank-line-after-the-end"),
        pytest.param("\n".join(_lines()[:1] + _lines()[2:]), id="a-field-missing"),
    ],
)
def test_an_entry_with_any_line_out_of_its_place_is_a_miss(text: str) -> None:
    assert token_cache.parse_entry(text) is None


@pytest.mark.xfail(
    strict=True,
    reason=(
        "parse_entry reads the times with float(), which takes blanks around the number: an "
        "entry whose time is padded is read as if it were written so"
    ),
)
@pytest.mark.parametrize("line", ["issued_at  1000.5", "expires_at 1900.25 "], ids=["two", "end"])
def test_an_entry_whose_time_is_padded_is_a_miss(line: str) -> None:
    name = line.split(" ", 1)[0]
    index = 1 + token_cache.ENTRY_FIELDS.index(name)
    assert token_cache.parse_entry(_with_line(index, line)) is None


def test_an_entry_lasting_a_moment_is_kept() -> None:
    brief = Entry(KEY, 1000.0, 1000.001, "t")
    parsed = token_cache.parse_entry(brief.render())
    assert parsed is not None
    assert parsed.expires_at == 1000.001


def test_the_built_in_sha256_is_the_one_this_python_has() -> None:
    module = "_sha2" if sys.version_info >= (3, 12) else "_sha256"

    assert token_cache._sha256 is __import__(module).sha256
    assert token_cache.sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()


def test_without_the_built_in_sha256_hashlib_gives_the_same_names(monkeypatch) -> None:
    # Both names missing, as in a build without the small module: the fallback is hashlib's.
    # The copy is loaded under the module's own name (not put in sys.modules): its functions
    # are the module's, as they are in such a build.
    monkeypatch.setitem(sys.modules, "_sha2", None)
    monkeypatch.setitem(sys.modules, "_sha256", None)
    spec = importlib.util.spec_from_file_location(token_cache.__name__, token_cache.__file__)
    assert spec is not None
    assert spec.loader is not None
    alone = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(alone)

    assert alone._sha256 is alone._hashlib_sha256
    assert alone.sha256_hex(b"abc") == token_cache.sha256_hex(b"abc")
    long_secret = bytes(range(100))  # longer than a block: hashed first
    assert alone.hmac_sha256_hex(long_secret, b"m") == (
        hmac.new(long_secret, b"m", "sha256").hexdigest()
    )


@pytest.mark.parametrize("size", [0, 32, 64, 65])
def test_the_key_fingerprint_is_rfc_2104_hmac_sha256_for_secrets_up_to_and_past_a_block(
    size: int,
) -> None:
    secret = bytes(range(size))

    for message in (b"", b"rgpu_3f9a2c1b_key"):
        expected = hmac.new(secret, message, "sha256").hexdigest()
        assert token_cache.hmac_sha256_hex(secret, message) == expected


def _secret_file(directory: Path, text: str) -> None:
    path = directory / token_cache.IDENTITY_KEY_FILE
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


def test_the_fingerprint_secret_is_read_only_when_exactly_well_formed(tmp_path: Path) -> None:
    hexed = "ab" * token_cache.IDENTITY_KEY_BYTES
    magic = token_cache.IDENTITY_KEY_MAGIC

    _secret_file(tmp_path, f"{magic}\n{hexed}\n")
    assert token_cache.read_secret(str(tmp_path)) == bytes.fromhex(hexed)
    for text in (
        f"{magic}\n{hexed}\nmore\n",  # a line after it
        f"rgpu-exec-identity-key 2\n{hexed}\n",  # another format
        f"{magic}\n{hexed[:-2]}\n",  # a byte short
        f"{magic}\n{'zz' * token_cache.IDENTITY_KEY_BYTES}\n",  # not hex
    ):
        _secret_file(tmp_path, text)
        assert token_cache.read_secret(str(tmp_path)) is None, text


def test_the_fingerprint_secret_is_read_without_its_final_newline(tmp_path: Path) -> None:
    # An editor may drop it; refusing the file would orphan every entry named with the secret.
    hexed = "ab" * token_cache.IDENTITY_KEY_BYTES
    _secret_file(tmp_path, f"{token_cache.IDENTITY_KEY_MAGIC}\n{hexed}")

    assert token_cache.read_secret(str(tmp_path)) == bytes.fromhex(hexed)


def test_whose_token_an_entry_holds_is_the_profile_or_the_keys_fingerprint() -> None:
    secret = b"s" * token_cache.IDENTITY_KEY_BYTES

    assert token_cache.identity(None, "ci", secret) == "profile:ci"
    assert token_cache.identity("k", "ci", secret) == (
        "key-hmac:" + hmac.new(secret, b"k", "sha256").hexdigest()
    )
    unkeyed = token_cache.identity("k", "ci", None)
    assert unkeyed.startswith("key-unkeyed:")
    assert unkeyed != token_cache.identity("k", "ci", None), "names no entry there is"


def test_an_entry_is_fresh_valid_and_told_early_up_to_but_not_at_each_edge() -> None:
    entry = Entry(KEY, 1000.0, 1900.0, "t")  # 900 s: refreshed 90 s before its expiry
    assert entry.refresh_at == 1810.0

    assert entry.fresh(1809.999)
    assert not entry.fresh(1810.0)
    assert entry.valid(1899.999)
    assert not entry.valid(1900.0)
    assert entry.kubectl_expiry(1869.0) == 1870.0, "30 s early"
    assert entry.kubectl_expiry(1870.0) == 1900.0, "never a time already past"


def test_a_written_entry_clears_the_failure_recorded_beside_it(tmp_path: Path) -> None:
    directory = str(tmp_path / "c")
    token_cache.write_entry(directory, WRITTEN)
    failure = Path(token_cache.file_path(directory, KEY.stem, token_cache.FAILURE_SUFFIX))
    failure.write_text("a failure", encoding="utf-8")

    token_cache.write_entry(directory, WRITTEN)

    assert not failure.exists()
    assert token_cache.read_entry(directory, KEY) is not None
