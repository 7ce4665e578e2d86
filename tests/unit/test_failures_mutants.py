"""The failure record (`hotpath.failures`), pinned where mutation testing (`make mutation`) found
no test holding it: damping under changed settings, the record's fields, the fallback windows."""

from __future__ import annotations

from pathlib import Path

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
