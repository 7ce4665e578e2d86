"""The cache location never depends on the working directory: a relative RGPU_EXEC_CACHE_DIR is
refused (the cache-hit path hands over, the full command says what to do and still answers)."""

from __future__ import annotations

import time
from pathlib import Path

from rgpu_exec.hotpath import cache_hit, token_cache

from conftest import NAMESPACE_ID


def test_a_relative_cache_dir_is_never_used_and_the_command_says_what_to_do(
    run_cli, run_token_in_process, fake_api, sandbox
):
    env = {"RGPU_EXEC_CACHE_DIR": "relative-cache"}

    first, second = run_token_in_process(env=env), run_token_in_process(env=env)
    listing = run_cli(["cache", "list"], env=env)

    for result in (first, second):
        assert result.returncode == 0, result.stderr
        assert '"token"' in result.stdout  # kubectl still gets a credential
        assert "relative-cache is a relative path" in result.stderr
        assert "set RGPU_EXEC_CACHE_DIR to an absolute path" in result.stderr
    assert fake_api.count == 2  # nothing cached
    assert not (sandbox / "relative-cache").exists()
    assert "set RGPU_EXEC_CACHE_DIR to an absolute path" in listing.stderr


def test_the_cache_hit_path_hands_over_for_a_relative_cache_dir(sandbox, monkeypatch):
    cache = sandbox / "relative-cache"
    api_url = "https://api.remotegpu.ai"
    key = token_cache.CacheKey(api_url, NAMESPACE_ID, "profile:default")
    now = time.time()
    token_cache.write_entry(
        str(cache), token_cache.Entry(key, issued_at=now, expires_at=now + 900, token="tok")
    )
    monkeypatch.chdir(sandbox)  # the relative path names a cache that holds a fresh entry
    environ = {"RGPU_EXEC_CACHE_DIR": "relative-cache", "RGPU_EXEC_PROFILE": "default"}
    argv = ["token", "--namespace-id", NAMESPACE_ID, "--profile", "default"]

    assert cache_hit.serve(argv, environ, now) is None
    absolute = {**environ, "RGPU_EXEC_CACHE_DIR": str(Path(cache))}
    assert cache_hit.serve(argv, absolute, now) is not None, "the same entry, named absolutely"
