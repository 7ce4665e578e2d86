"""What `generate`, `import` and `remove` change, decided on every file kubectl reads (a
`Planner` for `usecase.apply`): which entries go to which file, and what goes.

- upsert: an entry that exists is updated in the first file that holds it; a new one, and
  `current-context`, go to the default file.
- remove: a context goes from the file that defines it; its user and cluster too when no other
  context (in any file) uses them; `current-context` is cleared where it names it. Only contexts
  rgpu-exec manages, unless forced; `--all` is every context rgpu-exec manages, and nothing else.
- replace (`import --replace`): the console's own contexts for the namespace (their user calls
  the exchange endpoint with curl on every kubectl command) go, as `remove` takes them out, and
  the new context takes their place, `current-context` included.

Every planner asks `ownership.judge` before it changes or removes an entry: upsert refuses to
overwrite a user, cluster or context of the same name that is not rgpu-exec's (unless forced),
remove and orphan cleanup take only rgpu-exec's, each in the file that holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from rgpu_exec import fixes
from rgpu_exec.errors import UsageError
from rgpu_exec.kubeconfig import console, entries, merge, ownership

if TYPE_CHECKING:
    from pathlib import Path

    from rgpu_exec.kubeconfig.document import Document
    from rgpu_exec.kubeconfig.files import Targets

_REMOVABLE = (ownership.RGPU_EXEC, ownership.CONSOLE)
Planner = Callable[["Targets", dict["Path", "Document"]], dict["Path", list[merge.Edit]]]


def upsert_planner(
    wanted: list[merge.Entry],
    set_current: bool,
    replace_namespace: str | None = None,
    *,
    force: bool = False,
) -> Planner:
    """The entries written; with `replace_namespace`, the console's contexts for that namespace
    ID are swapped out for them. The context becomes `current-context` with `set_current`, and
    also when no file sets one (as `aws eks update-kubeconfig` does: a plain `kubectl get pods`
    then works). An entry of a wanted name that is not rgpu-exec's is refused unless `force`
    (`ownership`)."""
    context = next(e.name for e in wanted if e.kind == "context")

    def planner(targets: Targets, docs: dict[Path, Document]) -> dict[Path, list[merge.Edit]]:
        strangers = _strangers(targets, docs, wanted, replace_namespace)
        if strangers and not force:
            _refuse(strangers, replace_namespace)
        replacing = {(v.kind, v.name): v.what for v in strangers}
        edits: dict[Path, list[merge.Edit]] = {}
        doomed = console_contexts(docs, replace_namespace) if replace_namespace else []
        doomed = [name for name in doomed if name != context]
        if doomed:
            keep: set[tuple[str, str]] = {(e.kind, e.name) for e in wanted}
            edits = _removals(targets, docs, doomed, keep=keep, current_to=context)
        for entry in wanted:
            home = _holder(targets, docs, entry.kind, entry.name) or targets.default
            was = replacing.get((entry.kind, entry.name), "")
            edits.setdefault(home, []).append(merge.Upsert(entry, was))
        if set_current or not has_current_context(targets, docs):
            edits.setdefault(targets.default, []).append(merge.SetCurrentContext(context))
        return edits

    return planner


def _strangers(
    targets: Targets,
    docs: dict[Path, Document],
    wanted: list[merge.Entry],
    replace_namespace: str | None,
) -> list[ownership.Verdict]:
    """The entries of a wanted name that are not rgpu-exec's, which writing would overwrite: a
    user with a client certificate, a static token or another plugin, a context of such a user,
    a cluster with another server (the same server is the same cluster: only its CA may be
    filled in), or the console's entries of another namespace (or without --replace)."""
    strangers = []
    for entry in wanted:
        verdict = ownership.judge(targets.paths, docs, entry.kind, entry.name)
        if verdict.owner in (ownership.RGPU_EXEC, ownership.ABSENT):
            continue
        if verdict.owner == ownership.CONSOLE and verdict.namespace_id == replace_namespace:
            continue
        if entry.kind == "cluster" and verdict.server == entry.body.get("server"):
            continue
        strangers.append(verdict)
    return strangers


def _refuse(strangers: list[ownership.Verdict], replace_namespace: str | None) -> NoReturn:
    console_hint = (
        " (for the console's own entries of this namespace, --replace swaps them out)"
        if any(v.owner == ownership.CONSOLE for v in strangers) and replace_namespace is None
        else ""
    )
    raise UsageError(
        f"the kubeconfig already has {'; '.join(v.describe() for v in strangers)}, which "
        "rgpu-exec did not write, and this would replace it (a user's client certificate, key "
        "or token, a cluster's server). Choose another name with --context NAME, or add --force "
        f"to replace it anyway{console_hint}. Nothing was changed."
    )


def has_current_context(targets: Targets, docs: dict[Path, Document]) -> bool:
    """Whether kubectl has a current context: some file it reads sets one."""
    return any(docs[path].current_context for path in targets.paths if path in docs)


def console_contexts(docs: dict[Path, Document], namespace_id: str | None) -> list[str]:
    """The contexts whose user is the console's curl stanza for this namespace
    (`console.console_stanza_target`), by name, once each."""
    found: list[str] = []
    for doc in docs.values():
        for item in doc.items("context"):
            body = item.get("context") or {}
            user = _find_any(docs, "user", body.get("user"))
            target = console.console_stanza_target((user or {}).get("user"))
            if target is not None and target[1] == namespace_id and item["name"] not in found:
                found.append(item["name"])
    return found


def remove_planner(
    contexts: tuple[str, ...] | None, *, force: bool = False, ignore_not_found: bool = False
) -> Planner:
    """The contexts named (None: every context rgpu-exec manages). A context that is in no file
    is an error unless `ignore_not_found`; one rgpu-exec does not manage is refused unless
    `force`."""

    def planner(targets: Targets, docs: dict[Path, Document]) -> dict[Path, list[merge.Edit]]:
        if contexts is None:
            names = [
                name
                for name in _context_names(docs)
                if ownership.judge(targets.paths, docs, "context", name).owner
                == ownership.RGPU_EXEC
            ]
            edits = _removals(targets, docs, names)
            # Each orphan goes from the file that holds it, never a namesake in another file.
            for path, kind, name in orphans(docs):
                edits.setdefault(path, []).append(merge.Remove(kind, name))
            return edits
        names = []
        for name in dict.fromkeys(contexts):
            if _holder(targets, docs, "context", name) is None:
                if ignore_not_found:
                    continue
                raise UsageError(
                    f"there is no context {name!r} in {', '.join(str(p) for p in targets.paths)}"
                    f"{_did_you_mean(name, _context_names(docs))}; nothing was changed. "
                    "`rgpu-exec kubeconfig list` lists the contexts rgpu-exec manages, and "
                    "--ignore-not-found makes a missing one no error."
                )
            if not force:
                _check_ours(targets, docs, name)
            names.append(name)
        return _removals(targets, docs, names, force=force)

    return planner


def _did_you_mean(name: str, known: list[str]) -> str:
    """` (did you mean 'rgpu-team-ml'?)` for `team-ml` (the namespace for its context), or for a
    near miss; nothing when no context is close."""
    if entries.default_context(name) in known:
        return f" (did you mean {entries.default_context(name)!r}?)"
    import difflib  # noqa: PLC0415 - only for an error

    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def orphans(docs: dict[Path, Document]) -> list[tuple[Path, merge.Kind, str]]:
    """Users that run rgpu-exec and that no context uses (left by `kubectl config
    delete-context`), each with the cluster of the same name in the same file when no context
    uses it either (rgpu-exec names both after the context): what `remove --all` takes too.
    Each is judged in the file that holds it (`ownership.judge`), and named with that file: a
    foreign user of the same name in another file is not an orphan of rgpu-exec's."""
    paths = tuple(docs)
    found: list[tuple[Path, merge.Kind, str]] = []
    for path, doc in docs.items():
        for item in doc.items("user"):
            name = item.get("name")
            if not isinstance(name, str) or (path, "user", name) in found:
                continue
            verdict = ownership.judge(paths, docs, "user", name, path)
            if verdict.owner != ownership.RGPU_EXEC or _uses(docs, set(), "user", name):
                continue
            found.append((path, "user", name))
            cluster = ownership.judge(paths, docs, "cluster", name, path)
            if cluster.owner == ownership.RGPU_EXEC and not _uses(docs, set(), "cluster", name):
                found.append((path, "cluster", name))
    return found


def _removals(
    targets: Targets,
    docs: dict[Path, Document],
    names: list[str],
    *,
    keep: set[tuple[str, str]] | None = None,
    current_to: str = "",
    force: bool = False,
) -> dict[Path, list[merge.Edit]]:
    """Remove these contexts, then each user and cluster they use that no other context uses
    (and that is not in `keep`), when it is rgpu-exec's or the console's (`ownership`; any,
    with `force`); `current-context` naming one of them becomes `current_to`."""
    edits: dict[Path, list[merge.Edit]] = {}
    doomed: set[tuple[Path, str]] = set()  # (the file that defines it, its name)
    for name in names:
        home = _holder(targets, docs, "context", name)
        if home is not None:
            doomed.add((home, name))
            edits.setdefault(home, []).append(merge.Remove("context", name))
    for kind in ("user", "cluster"):
        used = {_context_body(targets, docs, name).get(kind) for name in names}
        for item in sorted(u for u in used if isinstance(u, str)):
            if (kind, item) in (keep or set()) or _uses(docs, doomed, kind, item):
                continue
            verdict = ownership.judge(targets.paths, docs, kind, item)
            if verdict.file is None or not (force or verdict.owner in _REMOVABLE):
                continue
            edits.setdefault(verdict.file, []).append(merge.Remove(kind, item))
    current = next((p for p in targets.paths if docs[p].current_context), None)
    if current is not None and docs[current].current_context in set(names):
        edits.setdefault(current, []).append(merge.SetCurrentContext(current_to))
    return edits


def _check_ours(targets: Targets, docs: dict[Path, Document], context: str) -> None:
    """Refuse to remove a context rgpu-exec did not write: its user must run rgpu-exec."""
    verdict = ownership.judge(targets.paths, docs, "context", context)
    if verdict.owner == ownership.RGPU_EXEC:
        return
    raise UsageError(
        f"context {context!r} was not written by rgpu-exec: {verdict.reason}. rgpu-exec removes "
        "only the "
        f"contexts it manages; to remove this one anyway (with its user and cluster when no "
        f"other context uses them), add --force, or use "
        f"{fixes.command('kubectl', 'config', 'delete-context', context)}. Nothing was changed."
    )


def _context_names(docs: dict[Path, Document]) -> list[str]:
    return list(dict.fromkeys(i["name"] for doc in docs.values() for i in doc.items("context")))


def _context_body(targets: Targets, docs: dict[Path, Document], name: str) -> dict[str, object]:
    home = _holder(targets, docs, "context", name)
    found = docs[home].find("context", name) if home is not None else None
    body = (found or {}).get("context")
    return body if isinstance(body, dict) else {}


def _find_any(
    docs: dict[Path, Document], kind: merge.Kind, name: object
) -> dict[str, object] | None:
    if not isinstance(name, str):
        return None
    return next((f for doc in docs.values() if (f := doc.find(kind, name)) is not None), None)


def _holder(
    targets: Targets, docs: dict[Path, Document], kind: merge.Kind, name: str
) -> Path | None:
    return next((p for p in targets.paths if docs[p].find(kind, name) is not None), None)


def _uses(docs: dict[Path, Document], doomed: set[tuple[Path, str]], kind: str, name: str) -> bool:
    """Whether any context not being removed points at this user or cluster."""
    for path, doc in docs.items():
        for item in doc.items("context"):
            if (path, item.get("name")) in doomed:
                continue
            body = item.get("context")
            if isinstance(body, dict) and body.get(kind) == name:
                return True
    return False
