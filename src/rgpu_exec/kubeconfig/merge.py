"""The merge rules, pure: they change mappings in memory and say what changed.

The same functions run on plain dicts (to decide what changes and what the file must read
back as) and on round-trip ruamel.yaml maps (to change the text, comments kept). Rules:

- An entry is found by `name` in its list (`clusters`, `users`, `contexts`); every entry of
  that name in the file is updated the same way, so duplicates cannot disagree.
- Inside an entry, rgpu-exec owns a few keys (`OWNED`): each is set to what we want, or removed
  when we want it absent (so no static `token` ever sits beside `exec`, and a CA file path never
  fights the CA data). An entry may leave some owned keys alone (`Entry.keep`: the cluster's CA
  fields when no CA was given). Every other key (extensions, proxy-url, unknown fields) is kept.
- A value only counts as changed when it differs, so a second run changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, MutableSequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Kind = Literal["cluster", "user", "context"]
LIST_KEYS: dict[Kind, str] = {"cluster": "clusters", "user": "users", "context": "contexts"}
CURRENT_CONTEXT = "current-context"

_CLUSTER_OWNED = ("server", "certificate-authority-data", "certificate-authority")
_USER_SECRETS = ("token", "tokenFile", "username", "password", "auth-provider")
_USER_CERTS = ("client-certificate", "client-certificate-data", "client-key", "client-key-data")
OWNED: dict[Kind, tuple[str, ...]] = {
    "cluster": (*_CLUSTER_OWNED, "insecure-skip-tls-verify"),
    "user": ("exec", *_USER_SECRETS, *_USER_CERTS),
    "context": ("cluster", "user", "namespace"),
}
# Inside `exec`, these are ours; anything else the user added there (env, …) stays.
EXEC_OWNED = (
    "apiVersion",
    "command",
    "args",
    "interactiveMode",
    "provideClusterInfo",
    "installHint",
)


class Factory(Protocol):
    """Makes the containers of the representation being edited (dict/list or ruamel's)."""

    def mapping(self) -> MutableMapping[str, Any]: ...
    def sequence(self) -> MutableSequence[Any]: ...
    def scalar(self, value: str) -> str: ...


class PlainFactory:
    def mapping(self) -> MutableMapping[str, Any]:
        return {}

    def sequence(self) -> MutableSequence[Any]:
        return []

    def scalar(self, value: str) -> str:
        return value


PLAIN = PlainFactory()


@dataclass(frozen=True)
class Entry:
    """What we want one named entry to hold: the owned keys of its body (absent = remove),
    except the owned keys in `keep`, which an existing entry keeps as they are."""

    kind: Kind
    name: str
    body: Mapping[str, Any]
    keep: tuple[str, ...] = ()

    def owned(self) -> tuple[str, ...]:
        return tuple(key for key in OWNED[self.kind] if key not in self.keep)


@dataclass(frozen=True)
class Upsert:
    entry: Entry
    replacing: str = ""  # `--force` over an entry rgpu-exec did not write: what it was


@dataclass(frozen=True)
class Remove:
    kind: Kind
    name: str


@dataclass(frozen=True)
class SetCurrentContext:
    name: str  # "" clears it, as kubectl writes it


Edit = Upsert | Remove | SetCurrentContext


@dataclass
class Changes:
    """What an edit list did to one file, in words for the user."""

    lines: list[str] = field(default_factory=list)
    # What current-context became, when the edits changed it ("" when they cleared it).
    current_context: str | None = None

    def __bool__(self) -> bool:
        return bool(self.lines)


def build(value: Any, factory: Factory) -> Any:
    """A desired value in the representation being edited."""
    if isinstance(value, Mapping):
        out = factory.mapping()
        for key, item in value.items():
            out[key] = build(item, factory)
        return out
    if isinstance(value, list | tuple):
        seq = factory.sequence()
        seq.extend(build(item, factory) for item in value)
        return seq
    if isinstance(value, str):
        return factory.scalar(value)
    return value


def new_item(entry: Entry, factory: Factory, name_first: bool = True) -> MutableMapping[str, Any]:
    item = factory.mapping()
    if name_first:
        item["name"] = factory.scalar(entry.name)
    item[entry.kind] = build(entry.body, factory)
    if not name_first:
        item["name"] = factory.scalar(entry.name)
    return item


def update_item(item: MutableMapping[str, Any], entry: Entry, factory: Factory) -> bool:
    """Bring one existing entry to what `entry` wants; True when anything changed."""
    body = item.get(entry.kind)
    changed = False
    if not isinstance(body, MutableMapping):
        body = item[entry.kind] = factory.mapping()
        changed = True
    return _sync(body, entry.body, entry.owned(), factory) or changed


def _sync(
    target: MutableMapping[str, Any],
    desired: Mapping[str, Any],
    owned: tuple[str, ...],
    factory: Factory,
) -> bool:
    changed = False
    for key, value in desired.items():
        current = target.get(key)
        if key == "exec" and isinstance(value, Mapping):
            if not isinstance(current, MutableMapping):
                current = target[key] = factory.mapping()
                changed = True
            changed = _sync(current, value, EXEC_OWNED, factory) or changed
        elif key not in target or not _same(current, value):
            target[key] = build(value, factory)
            changed = True
    for key in owned:
        if key not in desired and key in target:
            del target[key]
            changed = True
    return changed


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, str):
        return isinstance(current, str) and current == wanted
    if isinstance(wanted, Mapping):
        return isinstance(current, Mapping) and dict(current) == dict(wanted)
    if isinstance(wanted, list | tuple):
        return isinstance(current, list) and list(current) == list(wanted)
    return type(current) is type(wanted) and current == wanted


def items_named(items: Any, name: str) -> list[MutableMapping[str, Any]]:
    if not isinstance(items, list):
        return []
    return [i for i in items if isinstance(i, MutableMapping) and i.get("name") == name]


def apply_edits(doc: MutableMapping[str, Any], edits: list[Edit], factory: Factory) -> Changes:
    """Apply edits to a whole document (plain, or round-trip ruamel); say what changed."""
    changes = Changes()
    for edit in edits:
        if isinstance(edit, Upsert):
            _upsert(doc, edit.entry, factory, changes, edit.replacing)
        elif isinstance(edit, Remove):
            key = LIST_KEYS[edit.kind]
            items = doc.get(key)
            doomed = items_named(items, edit.name)
            if isinstance(items, MutableSequence) and doomed:
                for index in reversed(range(len(items))):
                    if any(items[index] is item for item in doomed):
                        del items[index]
                changes.lines.append(f"removed {edit.kind} {edit.name!r}")
        elif doc.get(CURRENT_CONTEXT) != edit.name and (edit.name or doc.get(CURRENT_CONTEXT)):
            doc[CURRENT_CONTEXT] = factory.scalar(edit.name)
            changes.current_context = edit.name
            changes.lines.append(
                f"set current-context to {edit.name!r}" if edit.name else "cleared current-context"
            )
    return changes


def _upsert(
    doc: MutableMapping[str, Any],
    entry: Entry,
    factory: Factory,
    changes: Changes,
    replacing: str = "",
) -> None:
    key = LIST_KEYS[entry.kind]
    items = doc.get(key)
    existing = items_named(items, entry.name)
    if existing:
        changed = False
        for item in existing:
            changed = update_item(item, entry, factory) or changed
        if changed and replacing:
            changes.lines.append(f"replaced {entry.kind} {entry.name!r} ({replacing})")
        elif changed:
            changes.lines.append(f"updated {entry.kind} {entry.name!r}")
        return
    if not isinstance(items, MutableSequence):
        items = doc[key] = factory.sequence()
    items.append(new_item(entry, factory, name_first=name_first(items)))
    changes.lines.append(f"added {entry.kind} {entry.name!r}")


def name_first(items: Any) -> bool:
    """New entries follow their neighbours' layout: `name` first, or last as kubectl writes it."""
    for item in items or ():
        if isinstance(item, Mapping) and "name" in item:
            return bool(next(iter(item)) == "name")
    return True
