"""The dry-run diff never shows a secret value, whoever's entry it belongs to."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rgpu_exec.kubeconfig import merge
from rgpu_exec.kubeconfig.edit import FilePlan, diff

from conftest import examples


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        pytest.param(" token: abc", " token: <secret 1, not shown>", id="token"),
        pytest.param(
            "+    token: 'a b'  # note",
            "+    token: <secret 1, not shown>  # note",
            id="comment-kept",
        ),
        pytest.param(
            "-    client-key-data: AAA",
            "-    client-key-data: <secret 1, not shown>",
            id="key-data",
        ),
        pytest.param(
            "     password: hunter2", "     password: <secret 1, not shown>", id="password"
        ),
        pytest.param(" - token: x", " - token: <secret 1, not shown>", id="list-item"),
        pytest.param("       id-token: x", "       id-token: <secret 1, not shown>", id="id-token"),
        pytest.param(
            "       client-secret: s",
            "       client-secret: <secret 1, not shown>",
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


# Secrets are upper-case letters, digits and non-ASCII (escaped in JSON); everything else in the
# documents is lower-case, so any 6 characters of a secret found in the diff are a leak.
secret_values = st.text(
    st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789é€ "), min_size=12
).filter(lambda s: s.strip() == s and "  " not in s)
names = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz-"), min_size=1, max_size=12)


def kubeconfig(secrets: list[str], name: str) -> dict[str, Any]:
    token, password, key_data, env_value, refresh = secrets
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {
                    "server": "https://k8s.example",
                    "certificate-authority-data": "LS0t" + "q" * 40,
                },
            }
        ],
        "users": [
            {"name": name, "user": {"token": token}},
            {
                "name": "basic",
                "user": {"username": "admin", "password": password, "client-key-data": key_data},
            },
            {
                "name": "exec",
                "user": {
                    "exec": {
                        "command": "get-token",
                        "args": ["--cluster", name],
                        "env": [{"name": "api-key", "value": env_value}],
                    }
                },
            },
            {
                "name": "oidc",
                "user": {"auth-provider": {"name": "oidc", "config": {"refresh-token": refresh}}},
            },
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
    }


SYNTAXES: dict[str, Callable[[dict[str, Any]], str]] = {
    "block": lambda d: yaml.safe_dump(d, sort_keys=False),
    "flow": lambda d: yaml.safe_dump(d, default_flow_style=True, width=40),
    "double-quoted": lambda d: yaml.safe_dump(d, default_style='"', width=30),
    "single-quoted": lambda d: yaml.safe_dump(d, default_style="'", width=30),
    "literal-block": lambda d: yaml.safe_dump(d, default_style="|"),
    "folded-block": lambda d: yaml.safe_dump(d, default_style=">", width=20),
    "json": lambda d: json.dumps(d, indent=2),
    "json-one-line": json.dumps,
}


@settings(max_examples=examples(60))
@given(
    before=st.lists(secret_values, min_size=5, max_size=5),
    after=st.lists(secret_values, min_size=5, max_size=5),
    name=names,
    syntax_before=st.sampled_from(sorted(SYNTAXES)),
    syntax_after=st.sampled_from(sorted(SYNTAXES)),
)
def test_no_secret_value_appears_in_a_diff_whatever_the_syntax(
    before, after, name, syntax_before, syntax_after
):
    old = SYNTAXES[syntax_before](kubeconfig(before, name))
    new = SYNTAXES[syntax_after](kubeconfig(after, name + "-x"))
    shown = diff([FilePlan(Path("/k"), old, new, merge.Changes([]))])

    for secret in before + after:
        pieces = {secret[i : i + 6] for i in range(len(secret) - 5)}
        escaped = json.dumps(secret)[1:-1]
        leaked = [p for p in pieces | {escaped} if p.strip() == p and " " not in p and p in shown]
        assert not leaked, (secret, shown)
    assert name in shown  # the rest is still shown
    assert "q" * 20 not in shown  # certificates only by their start and size (LS0t…(44 B))
