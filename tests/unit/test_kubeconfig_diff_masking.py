"""The dry-run diff never shows a secret value, whoever's entry it belongs to."""

from __future__ import annotations

from pathlib import Path

import pytest

from rgpu_exec.kubeconfig import merge
from rgpu_exec.kubeconfig.edit import FilePlan, diff


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        pytest.param(" token: abc", " token: <secret, not shown>", id="token"),
        pytest.param(
            "+    token: 'a b'  # note",
            "+    token: <secret, not shown>  # note",
            id="comment-kept",
        ),
        pytest.param(
            "-    client-key-data: AAA", "-    client-key-data: <secret, not shown>", id="key-data"
        ),
        pytest.param("     password: hunter2", "     password: <secret, not shown>", id="password"),
        pytest.param(" - token: x", " - token: <secret, not shown>", id="list-item"),
        pytest.param("       id-token: x", "       id-token: <secret, not shown>", id="id-token"),
        pytest.param(
            "       client-secret: s",
            "       client-secret: <secret, not shown>",
            id="client-secret",
        ),
        pytest.param("   tokenFile: /x", "   tokenFile: /x", id="a-path-not-a-secret"),
        pytest.param(" server: https://x", " server: https://x", id="not-a-secret"),
        pytest.param(
            "+      args: [token, --namespace-id, x]",
            "+      args: [token, --namespace-id, x]",
            id="args",
        ),
    ],
)
def test_secret_values_are_masked_in_every_diff_line(line, shown):
    before = f"users:\n{line[1:]}\n"
    after = before + "extra: 1\n"
    plan = FilePlan(Path("/k"), before, after, merge.Changes([]))
    assert f"\n{shown[1:]}\n" in "\n" + diff([plan]).replace("\n ", "\n")
