"""Property tests: generate is idempotent and never loses or changes an unrelated entry."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rgpu_exec.kubeconfig import merge
from rgpu_exec.kubeconfig.document import Document
from rgpu_exec.kubeconfig.entries import Spec

from conftest import examples

OURS = "rgpu-team-ml"
SPEC = Spec(
    namespace="team-ml",
    namespace_id="6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f",
    server="https://k8s.example",
    ca_data="Q0E=",
    context=OURS,
    api_url="https://api.remotegpu.ai",
    profile="default",
    exec_command="rgpu-exec",
)
EDITS: list[merge.Edit] = [merge.Upsert(e) for e in SPEC.entries()]

names = st.sampled_from(["prod", "dev", "rgpu-team-ml", "rgpu-other", "a b", "yes", "1.5"])
scalars = st.one_of(
    st.text(alphabet="abc :#-'\"\n", max_size=8), st.integers(), st.booleans(), st.none()
)
extra = st.dictionaries(
    st.sampled_from(["x-field", "proxy-url", "token", "extensions"]), scalars, max_size=2
)


@st.composite
def entry(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    body: dict[str, Any] = draw(extra)
    if kind == "cluster":
        body["server"] = draw(st.sampled_from(["https://a", "https://b:6443"]))
    elif kind == "context":
        body["cluster"] = draw(names)
        body["user"] = draw(names)
    name = draw(names)
    return {kind: body, "name": name} if draw(st.booleans()) else {"name": name, kind: body}


@st.composite
def kubeconfigs(draw: st.DrawFn) -> str:
    doc: dict[str, Any] = {}
    for key, kind in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
        choice = draw(st.sampled_from(["missing", "null", "empty", "items"]))
        if choice == "null":
            doc[key] = None
        elif choice == "empty":
            doc[key] = []
        elif choice == "items":
            doc[key] = draw(st.lists(entry(kind), min_size=1, max_size=4))
    if draw(st.booleans()):
        doc["current-context"] = draw(names)
    if draw(st.booleans()):
        doc["preferences"] = {}
    flow = draw(st.sampled_from([False, None]))
    text = yaml.safe_dump(doc, default_flow_style=flow, sort_keys=draw(st.booleans()), width=1000)
    if draw(st.booleans()):  # comments between lines, as people write them
        lines = text.splitlines()
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, "# a comment")
        text = "\n".join(lines) + "\n"
    return text


def unrelated(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k not in ("clusters", "users", "contexts")}
    for key in ("clusters", "users", "contexts"):
        out[key] = [i for i in data.get(key) or [] if i["name"] != OURS]
    return out


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(kubeconfigs())
def test_generate_is_idempotent_and_keeps_unrelated_entries(text: str) -> None:
    before = Document.parse(text, "k")
    first, _ = before.apply(EDITS)
    second, changes = Document.parse(first, "k").apply(EDITS)
    assert not changes
    assert second == first
    after = Document.parse(first, "k").data
    fresh = {"apiVersion": "v1", "kind": "Config"} if not before.data else {}
    assert unrelated(after) == {**fresh, **unrelated(before.data)}
    for key, kind in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
        ours = [i for i in after[key] if i["name"] == OURS]
        assert ours, key
        for item in ours:
            for owned, value in next(e for e in SPEC.entries() if e.kind == kind).body.items():
                if owned != "exec":
                    assert item[kind][owned] == value
        assert all("token" not in i["user"] for i in after["users"] if i["name"] == OURS)


@settings(max_examples=examples(150), deadline=None)
@given(kubeconfigs())
def test_unchanged_parts_of_the_text_survive_byte_for_byte(text: str) -> None:
    doc = Document.parse(text, "k")
    out, _ = doc.apply(EDITS)
    ours = [
        i
        for key in ("clusters", "users", "contexts")
        for i in doc.data.get(key) or []
        if i["name"] == OURS
    ]
    if not ours and not any(marker in text for marker in ("{", "[", "null")):
        # only additions to block lists: every original line is still there, in order
        it = iter(out.splitlines())
        assert all(line in it for line in text.splitlines())
