"""The bound on alias expansion (`kubeconfig.yaml_bounds.check_text`) composes a document only
when it can hold an alias: a text without a `*` has none, and is passed without PyYAML."""

from __future__ import annotations

import sys

import pytest

from rgpu_exec.kubeconfig.yaml_bounds import MAX_NODES, check_text

NESTED = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefg", "bcdefgh", strict=True)
)


def test_a_text_without_an_alias_is_passed_without_composing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)  # importing PyYAML would now fail
    assert check_text("contexts:\n- name: a\n  context: {cluster: c, user: u}\n") is None
    with pytest.raises(ImportError):
        check_text("a: &x [1]\nb: *x\n")


def test_a_text_with_aliases_is_still_bounded() -> None:
    assert check_text(NESTED) == f"its YAML aliases expand to more than {MAX_NODES:,} nodes"
    assert check_text("a: &x [1]\nb: *x\n") is None
    assert check_text("a: '*'\n") is None  # a star in a string: composed, nothing to expand
