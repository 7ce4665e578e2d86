"""Round-trip YAML (ruamel.yaml): comments, key order, quotes and unknown fields survive.

ruamel.yaml is pure Python and slow on big files (seconds for 1,000 contexts), so `splice`
round-trips only the entries it changes; `render_whole` is the fallback for layouts splicing
cannot handle (JSON or flow-style kubeconfigs).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from rgpu_exec.kubeconfig import merge

if TYPE_CHECKING:
    from collections.abc import MutableMapping, MutableSequence

_WIDTH = 1 << 30  # never fold long lines (CA data, installHint)
_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVER = pyyaml.resolver.Resolver()


class RoundTripFactory:
    """Containers for round-trip editing. Strings that a YAML 1.1 reader (kubectl's, PyYAML)
    would take for a bool, number or date (`yes`, `on`, `1e3`) are double-quoted."""

    def mapping(self) -> MutableMapping[str, Any]:
        return CommentedMap()

    def sequence(self) -> MutableSequence[Any]:
        return CommentedSeq()

    def scalar(self, value: str) -> str:
        tag = _RESOLVER.resolve(pyyaml.nodes.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
        return DoubleQuotedScalarString(value) if tag != _STR_TAG else value


ROUND_TRIP = RoundTripFactory()


def yaml(sequence: int = 2, offset: int = 0) -> YAML:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = _WIDTH
    rt.indent(mapping=2, sequence=max(sequence, offset + 2), offset=offset)
    return rt


def load(text: str) -> tuple[Any, tuple[int, int]]:
    """Round-trip load, guessing the block-sequence style so a dump keeps it. Raises YAMLError."""
    from ruamel.yaml.util import load_yaml_guess_indent  # noqa: PLC0415

    data, indent, block_seq_indent = load_yaml_guess_indent(text, yaml=yaml())
    return data, (indent or 2, block_seq_indent or 0)


def dump(data: Any, style: tuple[int, int] = (2, 0)) -> str:
    out = io.StringIO()
    yaml(*style).dump(data, out)
    return out.getvalue()


def scalar_text(value: str) -> str:
    """How a string value is written after `key: ` (quoted when needed)."""
    return dump({"k": ROUND_TRIP.scalar(value)}).rstrip("\n")[len("k: ") :]


def fresh_document() -> CommentedMap:
    doc = CommentedMap()
    doc["apiVersion"] = "v1"
    doc["kind"] = "Config"
    return doc


def render_whole(text: str, edits: list[merge.Edit]) -> str:
    """Apply edits by round-tripping the whole file. Raises YAMLError on what it cannot read.

    An empty document (no file, only comments, `{}`) becomes a fresh kubeconfig, after any
    comments it had.
    """
    data, style = load(text) if text.strip() else (None, (2, 0))
    if not data:
        head = text if data is None and text.strip() else ""
        if head and not head.endswith("\n"):
            head += "\n"
        doc = fresh_document()
        merge.apply_edits(doc, edits, ROUND_TRIP)
        return head + dump(doc)
    _block_style(data)  # a JSON kubeconfig comes back as block YAML, as kubectl writes it
    merge.apply_edits(data, edits, ROUND_TRIP)
    return dump(data, style)


def _block_style(node: Any) -> None:
    if isinstance(node, CommentedMap | CommentedSeq):
        node.fa.set_block_style()
        for child in node.values() if isinstance(node, CommentedMap) else node:
            _block_style(child)


__all__ = ["ROUND_TRIP", "YAMLError", "dump", "load", "render_whole", "scalar_text"]
