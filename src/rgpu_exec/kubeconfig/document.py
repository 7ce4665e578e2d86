"""One kubeconfig file: read and checked with a fast loader, edited without losing anything.

Reading uses PyYAML's libyaml loader (tens of milliseconds for a 1,000-context file, where a
round-trip load takes seconds). A file kubectl would refuse, or whose shape we cannot edit
safely, is reported as malformed (exit 2) and never written.

`apply` works out what the edits change on plain data first (so "nothing to change" costs no
rendering and writes nothing), then renders the new text by splicing (see `splice`), falling
back to a whole-file round trip, and finally reads the new text back: it must hold exactly the
expected data, or nothing is written.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from rgpu_exec.errors import RgpuExecError, UsageError
from rgpu_exec.kubeconfig import merge, roundtrip, splice
from rgpu_exec.kubeconfig.yaml_bounds import expansion_problem

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NAME_OF = {"clusters": "cluster", "users": "user", "contexts": "context"}
# What to do about a malformed kubeconfig that rgpu-exec was asked to change.
TARGET_FIX = (
    "Fix it (or move it away and run this again; kubectl cannot use it either). Nothing was "
    "changed."
)


@dataclass(frozen=True)
class Document:
    where: str
    text: str  # with \n line ends; `crlf` says the file had \r\n, which the new text keeps
    data: dict[str, Any]
    root: yaml.MappingNode | None
    crlf: bool = False

    @classmethod
    def parse(cls, text: str | None, where: str, fix: str = TARGET_FIX) -> Document:
        """Read a file's text (None: the file does not exist). Raises UsageError if malformed,
        saying `fix` (what to do about it: a kubeconfig to write and a downloaded one differ)."""
        if text is None:
            return cls(where, "", {}, None)
        crlf = "\r\n" in text
        text = text.replace("\r\n", "\n")
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            too_big = expansion_problem(root)
            if too_big:
                raise _malformed(where, too_big, fix)
            data = loader.construct_document(root) if root is not None else None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise _malformed(where, f"it is not valid YAML ({problem}{at})", fix) from None
        finally:
            loader.dispose()
        if data is None:
            return cls(where, text, {}, None, crlf)
        problem = shape_problem(data)
        if problem or not isinstance(root, yaml.MappingNode):
            raise _malformed(where, problem or "its top level is not a mapping", fix)
        return cls(where, text, data, root, crlf)

    def items(self, kind: merge.Kind) -> list[dict[str, Any]]:
        return list(self.data.get(merge.LIST_KEYS[kind]) or [])

    def find(self, kind: merge.Kind, name: str) -> dict[str, Any] | None:
        return next((i for i in self.items(kind) if i.get("name") == name), None)

    @property
    def current_context(self) -> str:
        return str(self.data.get(merge.CURRENT_CONTEXT) or "")

    def apply(self, edits: list[merge.Edit]) -> tuple[str, merge.Changes]:
        """The new text and what changed; the text is unchanged when nothing changes."""
        fresh = not self.data  # no file, an empty one, only comments, or `{}`
        expected = _working_copy(dict(roundtrip.fresh_document()) if fresh else self.data, edits)
        changes = merge.apply_edits(expected, edits, merge.PLAIN)
        if not changes:
            return self.text, changes  # (normalised line ends: callers write nothing here)
        for engine in ("splice", "round trip"):
            try:
                if engine == "splice":
                    if fresh or self.root is None:
                        continue
                    text = splice.render(self.text, self.root, edits)
                else:
                    text = roundtrip.render_whole(self.text, edits)
            except (splice.CannotSplice, roundtrip.YAMLError):
                continue
            if _reads_back(text, expected):
                return (text.replace("\n", "\r\n") if self.crlf else text), changes
        raise RgpuExecError(
            f"could not change {self.where} safely: the result would not read back as intended "
            "(the file may use YAML anchors, tags or a layout rgpu-exec cannot edit). Nothing "
            "was changed; add the entries by hand, or report this with the file's layout."
        )


def shape_problem(data: Any) -> str | None:
    """Why kubectl would refuse this document (or we could not edit it), or None."""
    if not isinstance(data, Mapping):
        return "its top level is not a mapping"
    current = data.get(merge.CURRENT_CONTEXT)
    if current is not None and not isinstance(current, str):
        return f"{merge.CURRENT_CONTEXT} is not a string"
    for key, kind in _NAME_OF.items():
        items = data.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            return f"{key} is not a list"
        for index, item in enumerate(items):
            where = f"{key}[{index}]"
            if not isinstance(item, Mapping):
                return f"{where} is not a mapping"
            if not isinstance(item.get("name"), str) or not item["name"]:
                return f"{where} has no name (or a name that is not a string)"
            body = item.get(kind)
            if body is not None and not isinstance(body, Mapping):
                return f"{where} ({item['name']}): {kind} is not a mapping"
    return None


def _malformed(where: str, problem: str, fix: str) -> UsageError:
    return UsageError(f"{where} is not a kubeconfig rgpu-exec can read: {problem}. {fix}")


def _working_copy(data: dict[str, Any], edits: list[merge.Edit]) -> dict[str, Any]:
    """A copy the edits may change, without deep-copying a thousand unrelated entries."""
    out = dict(data)
    touched: dict[str, set[str]] = {}
    for edit in edits:
        if isinstance(edit, merge.Upsert):
            touched.setdefault(merge.LIST_KEYS[edit.entry.kind], set()).add(edit.entry.name)
        elif isinstance(edit, merge.Remove):
            touched.setdefault(merge.LIST_KEYS[edit.kind], set()).add(edit.name)
    for key, names in touched.items():
        if isinstance(out.get(key), list):
            out[key] = [
                copy.deepcopy(item) if item.get("name") in names else item for item in out[key]
            ]
    return out


def _reads_back(text: str, expected: dict[str, Any]) -> bool:
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and data == expected
