"""Edit a kubeconfig's text in place: only the entries that change are rewritten.

The fast loader's nodes say where each entry starts and ends. An entry that changes is cut
out, round-tripped alone (its comments kept), and put back at its indentation; a new entry is
inserted after the last one of its list; a removed one loses its lines. Every other byte of the
file stays as it was. Layouts this cannot handle safely raise `CannotSplice`, and the caller
round-trips the whole file instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rgpu_exec.kubeconfig import merge, roundtrip

if TYPE_CHECKING:
    from rgpu_exec.kubeconfig.merge import Edit, Entry


class CannotSplice(Exception):  # noqa: N818 - a signal to fall back, not an error
    pass


@dataclass(frozen=True)
class _Cut:
    start: int
    end: int
    text: str


def render(text: str, root: MappingNode, edits: list[Edit]) -> str:
    if root.flow_style or root.start_mark.column != 0:
        raise CannotSplice
    keys = {k.value: (k, v) for k, v in root.value if isinstance(k, ScalarNode)}
    root_end = _line_end(text, _content_end(text, root))
    cuts: list[_Cut] = []
    for edit in edits:
        if isinstance(edit, merge.Upsert):
            cuts += _upsert(text, keys, edit.entry, root_end)
        elif isinstance(edit, merge.Remove):
            cuts += _remove(text, keys, edit)
        else:
            cuts += _current_context(keys, edit.name, root_end)
    return _apply(text, cuts)


def _apply(text: str, cuts: list[_Cut]) -> str:
    out: list[str] = []
    position = 0
    for cut in sorted(cuts, key=lambda c: c.start):  # stable: same-place inserts keep order
        if cut.start < position:
            raise CannotSplice
        out += [text[position : cut.start], cut.text]
        position = cut.end
    out.append(text[position:])
    return "".join(out)


def _items(keys: dict[str, tuple[ScalarNode, Node]], list_key: str) -> list[MappingNode] | None:
    """The block list's entries, or None when the key is missing or empty."""
    _, value = keys.get(list_key, (None, None))
    if value is None or _is_empty(value):
        return None
    if not isinstance(value, SequenceNode) or value.flow_style:
        raise CannotSplice
    items = [item for item in value.value if isinstance(item, MappingNode)]
    starts = [item.start_mark.index for item in items]
    if len(items) != len(value.value) or starts != sorted(set(starts)):
        raise CannotSplice  # aliases or odd nodes: let the round trip deal with them
    if starts[0] < value.start_mark.index or any(i.flow_style for i in items):
        raise CannotSplice
    return items


def _is_empty(node: Node) -> bool:
    if isinstance(node, ScalarNode):
        return node.tag == "tag:yaml.org,2002:null"
    return isinstance(node, SequenceNode) and node.flow_style and not node.value


def _name(item: MappingNode) -> str | None:
    for key, value in item.value:
        if isinstance(key, ScalarNode) and key.value == "name" and isinstance(value, ScalarNode):
            return str(value.value)
    return None


def _upsert(
    text: str, keys: dict[str, tuple[ScalarNode, Node]], entry: Entry, root_end: int
) -> list[_Cut]:
    list_key = merge.LIST_KEYS[entry.kind]
    items = _items(keys, list_key)
    if items is not None:
        named = [item for item in items if _name(item) == entry.name]
        if named:
            return [cut for item in named for cut in _update(text, item, entry)]
        sequence = keys[list_key][1]
        offset = sequence.start_mark.column
        new = _new_entry_text(entry, offset, _name_key(items[0]) == "name")
        end = _line_end(text, _content_end(text, items[-1]))
        return [_Cut(end, end, "\n" + new)]
    new = _new_entry_text(entry, 0, name_first=True)
    if list_key not in keys:
        return [_Cut(root_end, root_end, f"\n{list_key}:\n{new}")]
    value = keys[list_key][1]
    start = value.start_mark.index
    while start > 0 and text[start - 1] in " \t":
        start -= 1
    return [_Cut(start, value.end_mark.index, "\n" + new)]


def _name_key(item: MappingNode) -> str:
    first = item.value[0][0] if item.value else None
    return str(first.value) if isinstance(first, ScalarNode) else ""


def _new_entry_text(entry: Entry, offset: int, name_first: bool) -> str:
    seq = roundtrip.ROUND_TRIP.sequence()
    seq.append(merge.new_item(entry, roundtrip.ROUND_TRIP, name_first=name_first))
    return roundtrip.dump(seq, (offset + 2, offset)).rstrip("\n")


def _update(text: str, item: MappingNode, entry: Entry) -> list[_Cut]:
    start, column = item.start_mark.index, item.start_mark.column
    end = _line_end(text, _content_end(text, item))  # a comment ending the entry goes with it
    lines = text[start:end].split("\n")
    if any(line.strip() and not line.startswith(" " * column) for line in lines[1:]):
        raise CannotSplice
    snippet = "\n".join([lines[0], *(line[column:] for line in lines[1:])]) + "\n"
    try:
        data, style = roundtrip.load(snippet)
    except roundtrip.YAMLError:
        raise CannotSplice from None
    if not merge.update_item(data, entry, roundtrip.ROUND_TRIP):
        return []
    new = roundtrip.dump(data, style).rstrip("\n")
    return [_Cut(start, end, _indent(new, column))]


def _remove(text: str, keys: dict[str, tuple[ScalarNode, Node]], edit: merge.Remove) -> list[_Cut]:
    list_key = merge.LIST_KEYS[edit.kind]
    items = _items(keys, list_key) or []
    doomed = [item for item in items if _name(item) == edit.name]
    if doomed and len(doomed) == len(items):
        key = keys[list_key][0]
        return [_Cut(key.end_mark.index, _content_end(text, items[-1]), ": []")]
    cuts = []
    for item in doomed:
        dash = item.start_mark.index - 1
        while dash >= 0 and text[dash] == " ":
            dash -= 1
        line_start = text.rfind("\n", 0, max(dash, 0)) + 1
        if dash < 0 or text[dash] != "-" or text[line_start:dash].strip():
            raise CannotSplice
        line_end = text.find("\n", _content_end(text, item))
        cuts.append(_Cut(line_start, len(text) if line_end < 0 else line_end + 1, ""))
    return cuts


def _current_context(
    keys: dict[str, tuple[ScalarNode, Node]], name: str, root_end: int
) -> list[_Cut]:
    value_text = roundtrip.scalar_text(name)
    if merge.CURRENT_CONTEXT not in keys:
        if not name:
            return []
        return [_Cut(root_end, root_end, f"\n{merge.CURRENT_CONTEXT}: {value_text}")]
    value = keys[merge.CURRENT_CONTEXT][1]
    if not isinstance(value, ScalarNode):
        raise CannotSplice
    current = None if _is_empty(value) else value.value
    if current == name or (not name and not current):
        return []
    start, end = value.start_mark.index, value.end_mark.index
    return [_Cut(start, end, value_text if end > start else " " + value_text)]


def _content_end(text: str, node: Node) -> int:
    """Where the node's own text ends: before trailing blank lines and the next entry's comments."""
    while True:
        if isinstance(node, MappingNode) and not node.flow_style and node.value:
            node = node.value[-1][1]
        elif isinstance(node, SequenceNode) and not node.flow_style and node.value:
            node = node.value[-1]
        else:
            break
    end = int(node.end_mark.index)
    if isinstance(node, ScalarNode) and node.style in ("|", ">"):
        while end > node.start_mark.index and text[end - 1] in "\n ":
            end -= 1
    return end


def _line_end(text: str, position: int) -> int:
    """The end of the line holding `position` (past a trailing comment), before its newline."""
    newline = text.find("\n", position)
    return len(text) if newline < 0 else newline


def _indent(text: str, column: int) -> str:
    pad = " " * column
    return "\n".join(
        line if not line or i == 0 else pad + line for i, line in enumerate(text.split("\n"))
    )
