"""The key fingerprint that names cache entries cannot be used to test guesses at the key: an
HMAC-SHA256 with a per-user secret kept outside the cache (in the config directory), never
shown whole, and read on the hit path without `hashlib` or `hmac`."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rgpu_exec.cache import identity_key
from rgpu_exec.hotpath import cache_hit, settings, token_cache
from rgpu_exec.usecases import cache_admin
from rgpu_exec.usecases.token import TokenCommand, TokenRequest

from conftest import API_KEY, NAMESPACE_ID
from exchange_answers import API, credential_answer

PATH = f"/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"


@given(secret=st.binary(max_size=200), message=st.binary(max_size=300))
def test_the_fingerprint_is_the_standard_hmac_sha256(secret: bytes, message: bytes) -> None:
    expected = hmac.new(secret, message, "sha256").hexdigest()
    assert token_cache.hmac_sha256_hex(secret, message) == expected


@pytest.fixture
def environ() -> dict[str, str]:
    return {
        **os.environ,
        "REMOTEGPU_API_KEY": API_KEY,
        "REMOTEGPU_API_URL": API,  # no exec info: the same client may ask again (a manual run)
    }


def every_byte_written(*folders: str) -> bytes:
    return b"".join(
        p.name.encode() + p.read_bytes() for f in folders for p in Path(f).rglob("*") if p.is_file()
    )


def test_nothing_in_the_cache_lets_anyone_test_guesses_at_a_key(api, environ) -> None:
    api.post(PATH).mock(return_value=credential_answer("tok-1"))
    TokenCommand(environ).run(TokenRequest(NAMESPACE_ID))

    cache = environ["RGPU_EXEC_CACHE_DIR"]
    written = every_byte_written(cache)
    unkeyed = hashlib.sha256(API_KEY.encode()).hexdigest()
    assert unkeyed[:16].encode() not in written  # the old fingerprint: a guess could be checked
    assert API_KEY[13:].encode() not in written
    # The secret lives outside the cache: a copy of the cache is no use without it.
    config = settings.config_dir(environ)
    assert config is not None
    secret_file = Path(config, token_cache.IDENTITY_KEY_FILE)
    assert not Path(cache, token_cache.IDENTITY_KEY_FILE).exists()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = token_cache.read_secret(config)
    assert secret is not None
    assert len(secret) == token_cache.IDENTITY_KEY_BYTES
    keyed = hmac.new(secret, API_KEY.encode(), "sha256").hexdigest()
    assert f"identity key-hmac:{keyed}".encode() in written


def test_the_cache_hit_path_answers_from_the_keyed_entry_and_hands_over_without_a_secret(
    api, environ
) -> None:
    argv = ["token", "--namespace-id", NAMESPACE_ID]
    assert cache_hit.serve(argv, environ, 1e9) is None  # nothing yet, not even a secret
    api.post(PATH).mock(return_value=credential_answer("tok-1"))
    TokenCommand(environ).run(TokenRequest(NAMESPACE_ID))

    answer = cache_hit.serve(argv, environ, time.time())
    assert answer is not None
    assert '"token":"tok-1"' in answer[1].replace(" ", "")
    # Without the secret, nothing names that entry: the hit path hands over.
    config = settings.config_dir(environ)
    assert config is not None
    Path(config, token_cache.IDENTITY_KEY_FILE).unlink()
    assert cache_hit.serve(argv, environ, time.time()) is None


def test_processes_racing_to_make_the_secret_all_use_the_first(tmp_path: Path) -> None:
    where = str(tmp_path / "config" / "rgpu-exec")
    found: list[bytes] = []
    barrier = threading.Barrier(8)

    def make() -> None:
        barrier.wait()
        found.append(identity_key.ensure_secret(where))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(found) == 8
    assert len(set(found)) == 1
    assert found[0] == token_cache.read_secret(where)
    assert sorted(p.name for p in Path(where).iterdir()) == [token_cache.IDENTITY_KEY_FILE]


@pytest.mark.parametrize(
    "plant",
    [
        pytest.param(lambda p: p.write_text("not a secret\n"), id="malformed"),
        pytest.param(
            lambda p: (
                p.write_text(f"{token_cache.IDENTITY_KEY_MAGIC}\n{'ab' * 32}\n"),
                p.chmod(0o644),
            ),
            id="readable-by-others",
        ),
        pytest.param(lambda p: p.symlink_to(p.parent / "elsewhere"), id="symlink"),
    ],
)
def test_a_secret_that_is_not_private_and_well_formed_is_replaced(tmp_path: Path, plant) -> None:
    where = tmp_path / "rgpu-exec"
    where.mkdir(mode=0o700)
    (where / "elsewhere").write_text(f"{token_cache.IDENTITY_KEY_MAGIC}\n{'cd' * 32}\n")
    (where / "elsewhere").chmod(0o600)
    plant(where / token_cache.IDENTITY_KEY_FILE)

    secret = identity_key.ensure_secret(str(where))

    assert secret not in (bytes.fromhex("ab" * 32), bytes.fromhex("cd" * 32))
    assert token_cache.read_secret(str(where)) == secret
    path = where / token_cache.IDENTITY_KEY_FILE
    assert not path.is_symlink()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_fingerprint_is_shown_only_by_its_start() -> None:
    identity = token_cache.key_identity(API_KEY, bytes(32))
    shown = cache_admin.shown_identity(identity)
    assert shown == identity[: len("key-hmac:") + cache_admin.SHOWN_FINGERPRINT]
    assert cache_admin.shown_identity("profile:ci") == "profile:ci"
    # An entry named the old way (an unsalted SHA-256) is shown as briefly.
    assert cache_admin.shown_identity("key-sha256:" + "a" * 64) == "key-sha256:aaaaaaaa"


def test_without_a_secret_a_key_names_no_entry_there_is() -> None:
    # Two fingerprints made without a secret never agree, so no entry is ever shared by them.
    assert token_cache.key_identity(API_KEY, None) != token_cache.key_identity(API_KEY, None)
