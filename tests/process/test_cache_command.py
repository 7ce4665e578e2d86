"""`rgpu-exec cache list` / `cache clear`, through the installed launcher."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from rgpu_exec.hotpath import token_cache
from rgpu_exec.usecases import cache_admin

from conftest import API_KEY, NAMESPACE_ID, key_identity
from exchange_answers import Reply, error_body

API = "https://api.remotegpu.ai"
OTHER = "0b7e9c2a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"
SECRET_TOKENS = ("tok-fresh-secret", "tok-due-secret", "tok-expired-secret", "tok-env-secret")


@pytest.fixture
def cache(sandbox: Path) -> Path:
    """Four entries: fresh, refresh-due and expired for profiles, and one for an env key."""
    directory = sandbox / "cache"
    now = time.time()
    profile = token_cache.profile_identity
    for namespace_id, identity, issued, expires, token in [
        (NAMESPACE_ID, profile("default"), now, now + 900, SECRET_TOKENS[0]),
        (OTHER, profile("default"), now - 870, now + 30, SECRET_TOKENS[1]),
        (NAMESPACE_ID, profile("ci"), now - 1000, now - 100, SECRET_TOKENS[2]),
        (OTHER, key_identity(), now, now + 600, SECRET_TOKENS[3]),
    ]:
        token_cache.write_entry(
            str(directory),
            token_cache.Entry(
                token_cache.CacheKey(API, namespace_id, identity), issued, expires, token
            ),
        )
    return directory


def stems(directory: Path, suffix: str = ".token") -> set[str]:
    return {p.name.removesuffix(suffix) for p in directory.glob(f"*{suffix}")}


def test_list_shows_every_entry_but_never_a_token(run_cli, cache):
    garbage = cache / ("f" * 64 + ".token")  # named as the cache names entries, but unreadable
    garbage.write_text("not an entry")
    garbage.chmod(0o600)
    (cache / "notes.token").write_text("not named as the cache names its files: not listed")

    result = run_cli(["cache", "list"])

    assert result.returncode == 0, result.stderr
    assert not any(token in result.stdout for token in SECRET_TOKENS)
    lines = result.stdout.splitlines()
    assert lines[0] == f"Cache directory: {cache}"
    assert lines[2].split() == ["NAMESPACE", "API", "URL", "KEY", "STATE"]
    state_at = lines[2].index("STATE")
    states = sorted(line[state_at:].split(",")[0] for line in lines[3:])
    assert states == ["expired", "fresh", "fresh", "invalid", "refresh due"]
    # Written with 30 s left; a loaded machine may take a few seconds to list it.
    assert any(re.search(r"refresh due, (2\d|30)s left$", line) for line in lines[3:])
    # The start of the key's fingerprint (an HMAC with the user's secret), never all of it.
    fingerprint = key_identity().removeprefix("key-hmac:")
    shown = f"a key from REMOTEGPU_API_KEY or a prompt, fingerprint {fingerprint[:8]}…"
    assert shown in result.stdout
    assert fingerprint[:9] not in result.stdout
    assert any(
        "a key from keyring profile 'ci'" in line and line.endswith("expired") for line in lines
    )


def test_list_json(run_cli, cache):
    result = run_cli(["cache", "list", "--output", "json"])

    assert result.returncode == 0
    document = json.loads(result.stdout)
    assert document["cache_dir"] == str(cache)
    entries = {(e["namespace_id"], e["identity"]): e for e in document["entries"]}
    fresh = entries[(NAMESPACE_ID, "default")]
    assert fresh["identity_kind"] == "profile"
    assert fresh["api_url"] == API
    assert fresh["state"] == "fresh"
    assert 890 <= fresh["expires_in_seconds"] <= 900
    assert fresh["expires_at"].endswith("Z")
    env = entries[(OTHER, "key-hmac:" + key_identity().removeprefix("key-hmac:")[:8])]
    assert env["identity_kind"] == "env-key"
    assert not any(token in result.stdout for token in SECRET_TOKENS)
    assert API_KEY not in result.stdout


def test_list_marks_the_key_set_now(run_cli, cache):
    result = run_cli(["cache", "list"], env={"REMOTEGPU_API_KEY": API_KEY})

    assert result.returncode == 0
    assert "rgpu_3f9a2c1b… from REMOTEGPU_API_KEY  fresh" in result.stdout
    assert "sha256" not in result.stdout
    assert API_KEY not in result.stdout


def test_list_shows_a_failure_being_replayed(run_cli, fake_api, run_token_in_process, sandbox):
    fake_api.default = Reply(401, error_body("revoked_api_key", "revoked"))
    assert run_token_in_process().returncode == 3  # recorded, and replayed to kubectl's reruns

    table = run_cli(["cache", "list"])
    document = json.loads(run_cli(["cache", "list", "-o", "json"]).stdout)

    assert table.returncode == 0
    (row,) = [line for line in table.stdout.splitlines() if "failing (exit 3, replayed" in line]
    # No token entry, but the failure says which namespace, API and key it is for.
    assert row.split()[:2] == [NAMESPACE_ID, fake_api.url], row
    assert "a key from REMOTEGPU_API_KEY or a prompt, fingerprint " in row
    assert "Recorded failures (`rgpu-exec cache clear` forgets them):" in table.stdout
    assert (
        "exit 3: rgpu-exec: the RemoteGPU API rejected the API key rgpu_3f9a2c1b…" in table.stdout
    )
    (failed,) = document["entries"]
    assert failed["state"] == "failed"
    assert failed["exit_code"] == 3
    assert (failed["namespace_id"], failed["api_url"]) == (NAMESPACE_ID, fake_api.url)
    assert 0 < failed["expires_in_seconds"] <= 30
    assert API_KEY not in table.stdout + json.dumps(document)


def test_a_cache_dir_that_is_a_file_is_said_so(run_cli, sandbox, monkeypatch):
    afile = sandbox / "afile"
    afile.write_text("")
    monkeypatch.setenv("RGPU_EXEC_CACHE_DIR", str(afile))

    listing = run_cli(["cache", "list"])
    as_json = json.loads(run_cli(["cache", "list", "-o", "json"]).stdout)
    cleared = run_cli(["cache", "clear"])

    assert listing.returncode == 0
    assert listing.stdout == ""  # not "No cached tokens in …/afile"
    assert listing.stderr.startswith(
        f"rgpu-exec: warning: the cache directory {afile} is not a directory"
    )
    assert "remove that file, or set RGPU_EXEC_CACHE_DIR to a directory" in listing.stderr
    assert as_json["problem"] == "is not a directory"
    assert cleared.returncode == 2
    assert f"the cache directory {afile} is not a directory" in cleared.stderr
    assert afile.exists()


def test_list_an_empty_or_missing_cache(run_cli, sandbox):
    result = run_cli(["cache", "list"])

    assert result.returncode == 0
    assert result.stdout == f"No cached tokens in {sandbox / 'cache'}.\n"
    assert json.loads(run_cli(["cache", "list", "-o", "json"]).stdout)["entries"] == []


def test_clear_by_profile_and_namespace(run_cli, cache):
    before = stems(cache)

    by_both = run_cli(["cache", "clear", "--profile", "default", "--namespace-id", OTHER])
    by_profile = run_cli(["cache", "clear", "--profile", "default"])

    assert by_both.returncode == 0
    assert by_both.stdout == f"rgpu-exec: removed 1 cached token from {cache}.\n"
    assert by_profile.stdout == f"rgpu-exec: removed 1 cached token from {cache}.\n"
    assert len(stems(cache)) == len(before) - 2
    remaining = cache_admin.describe(str(cache), time.time())
    assert sorted(r["identity_kind"] for r in remaining) == ["env-key", "profile"]


def test_clear_by_namespace_takes_every_identity(run_cli, cache):
    result = run_cli(["cache", "clear", "--namespace-id", OTHER])

    assert result.stdout == f"rgpu-exec: removed 2 cached tokens from {cache}.\n"
    assert {r["namespace_id"] for r in cache_admin.describe(str(cache), time.time())} == {
        NAMESPACE_ID
    }


def test_clear_everything_takes_locks_and_failures_too(run_cli, cache):
    (cache / ("0123" * 16 + ".lock")).write_text("")
    (cache / ("4567" * 16 + ".fail")).write_text("")
    (cache / "unrelated.txt").write_text("kept: not ours")

    result = run_cli(["cache", "clear"])

    assert result.returncode == 0
    assert result.stdout == f"rgpu-exec: removed 4 cached tokens from {cache}.\n"
    assert [p.name for p in cache.iterdir()] == ["unrelated.txt"]


def test_clear_refuses_a_bad_namespace_id(run_cli, cache):
    result = run_cli(["cache", "clear", "--namespace-id", "nope"])

    assert result.returncode == 2
    assert "the value given is not a namespace ID (it is a namespace name)" in result.stderr
    assert len(stems(cache)) == 4


def test_cache_alone_prints_help(run_cli):
    result = run_cli(["cache"])

    assert result.returncode == 2
    assert "list" in result.stderr
    assert "clear" in result.stderr


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        pytest.param(-1000, "expired", id="expired"),
        pytest.param(30, "refresh-due", id="inside-margin"),
        pytest.param(800, "fresh", id="fresh"),
    ],
)
def test_state(offset, expected):
    now = 1_000_000.0
    entry = token_cache.Entry(
        token_cache.CacheKey(API, NAMESPACE_ID, "profile:x"), now - 100, now + offset, "t"
    )
    assert cache_admin.state(entry, now) == expected
    assert cache_admin.state(None, now) == "invalid"


def test_list_shows_a_keyring_profiles_key_by_prefix_and_namespaces_by_name(
    run_cli, cache, sandbox, monkeypatch
):
    tests = Path(__file__).parents[1]
    keyring = sandbox / "keyring.json"
    keyring.write_text(json.dumps({"rgpu-exec/default": API_KEY}))
    monkeypatch.setenv("TEST_KEYRING_FILE", str(keyring))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "file_keyring.FileKeyring")
    monkeypatch.setenv("PYTHONPATH", str(tests))
    (sandbox / "kubeconfig").write_text(
        json.dumps(
            {
                "contexts": [
                    {"name": "ml", "context": {"cluster": "c", "user": "u", "namespace": "team-ml"}}
                ],
                "users": [
                    {
                        "name": "u",
                        "user": {
                            "exec": {
                                "command": "rgpu-exec",
                                "args": ["token", "--namespace-id", NAMESPACE_ID],
                            }
                        },
                    }
                ],
            }
        )
    )

    result = run_cli(["cache", "list"])

    assert result.returncode == 0, result.stderr
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("team-ml")
              and "profile 'default'" in line]  # fmt: skip
    assert row.startswith(f"team-ml ({NAMESPACE_ID[:8]}…)")
    assert re.search(r"rgpu_3f9a2c1b… from keyring profile 'default' +fresh, 1", row), row
    assert API_KEY not in result.stdout
