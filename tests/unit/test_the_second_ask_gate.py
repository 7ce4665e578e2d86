"""The second-ask gate has one owner, `second_ask.kept`, for both paths of `token`: the hit
path asks it with the cluster's recent yes, the full command with the cluster asked now."""

from __future__ import annotations

import ast
from pathlib import Path

from rgpu_exec.hotpath import second_ask, token_cache

from conftest import API_KEY, NAMESPACE_ID
from exchange_answers import API

KEY = token_cache.CacheKey(API, NAMESPACE_ID, token_cache.key_identity(API_KEY, b"s" * 32))
SRC = Path(__file__).resolve().parents[2] / "src" / "rgpu_exec"
NOW = 10_000.0


def entry_expiring_in(seconds: float) -> token_cache.Entry:
    return token_cache.Entry(KEY, NOW - 60, NOW + seconds, "tok")


def test_a_second_ask_keeps_the_token_only_on_the_clusters_yes():
    entry = entry_expiring_in(900)
    assert second_ask.kept(entry, NOW, lambda: True)
    assert not second_ask.kept(entry, NOW, lambda: False)
    assert not second_ask.kept(entry, NOW, lambda: None), "a cluster that cannot tell is no yes"


def test_a_client_that_wants_a_later_expiry_gets_a_new_token_without_asking_the_cluster():
    asked: list[bool] = []

    def accepts() -> bool:
        asked.append(True)
        return True

    near = entry_expiring_in(second_ask.CLIENT_EXPIRY_MARGIN)  # told expiry: 30 s earlier
    assert not second_ask.kept(near, NOW, accepts)
    assert asked == [], "the cluster is not asked when the expiry alone decides"
    far = entry_expiring_in(second_ask.CLIENT_EXPIRY_MARGIN + 60)
    assert second_ask.kept(far, NOW, accepts)
    assert asked == [True]


def test_both_paths_of_token_ask_the_one_gate_and_neither_repeats_its_rule():
    for path in (SRC / "hotpath" / "cache_hit.py", SRC / "usecases" / "token.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        called = {
            node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        }
        assert "kept" in called, path.name
        assert "wants_later_expiry" not in called, f"{path.name} repeats the gate's rule"
