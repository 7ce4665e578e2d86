"""The flow shared by generate, import and remove.

read every file kubectl would read → decide which file each edit goes to (kubectl's rules) →
render the new texts → [verify] → dry run: the diff | nothing to do: say so | else: lock the
files to change → read them again and redo the plan → back up → write → report.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rgpu_exec.credentials.api_key import ApiKey, find_api_key
from rgpu_exec.errors import RgpuExecError, UsageError
from rgpu_exec.hotpath import settings
from rgpu_exec.kubeconfig import entries, files, merge
from rgpu_exec.kubeconfig.document import Document

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from rgpu_exec.kubeconfig.entries import Spec
    from rgpu_exec.kubeconfig.files import Targets

Planner = Callable[["Targets", dict["Path", Document]], dict["Path", list[merge.Edit]]]
_PLAN_ATTEMPTS = 3


@dataclass(frozen=True)
class FilePlan:
    path: Path
    before: str | None
    after: str
    changes: merge.Changes


@dataclass(frozen=True)
class Outcome:
    """What happened to one file: its changes and where its previous content went."""

    plan: FilePlan
    backup: Path | None


@dataclass(frozen=True)
class Plan:
    """The texts read (None: no such file), and the files that would change."""

    texts: dict[Path, str | None]
    files: list[FilePlan]


@dataclass(frozen=True)
class Applied:
    """What `apply` did: the dry run's diff (None when it wrote), or what it wrote (empty when
    nothing needed to change)."""

    targets: Targets
    planned: list[FilePlan]
    diff: str | None
    outcomes: list[Outcome]


def apply(
    kubeconfig: str | None,
    environ: Mapping[str, str],
    planner: Planner,
    before_writing: Callable[[], None],
    *,
    dry_run: bool,
) -> Applied:
    """The whole flow: plan on the files kubectl would use; a dry run shows the diff and does
    nothing else (no network: `before_writing` is not run); else run `before_writing`
    (verification) and write what changes."""
    targets = files.select_targets(kubeconfig, environ)
    first = plan(targets, planner)
    if dry_run:
        return Applied(targets, first.files, diff(first.files), [])
    before_writing()
    if not first.files:
        return Applied(targets, [], None, [])
    return Applied(targets, first.files, None, write(targets, planner, first))


def plan(targets: Targets, planner: Planner) -> Plan:
    """Read the files and work out the changed texts; malformed files raise UsageError."""
    texts = {path: files.read_text(path) for path in targets.paths}
    docs = {path: Document.parse(text, str(path)) for path, text in texts.items()}
    changed = []
    for path, edits in planner(targets, docs).items():
        after, changes = docs[path].apply(edits)  # every destination is one of targets.paths
        if changes:
            changed.append(FilePlan(path, texts[path], after, changes))
    return Plan(texts, changed)


# A YAML `key: value` line whose value is a secret (kubeconfig users' `token`, `password`,
# `client-key-data`, auth-provider `id-token` / `refresh-token` / `client-secret`, …).
_SECRET_LINE = re.compile(
    r"^(?P<lead>[ +-]\s*(?:-\s+)?)(?P<key>(?:[\w-]*-)?(?:token|secret|password)|[\w-]*key-data)"
    r"(?P<sep>\s*:[ \t]+)(?P<value>[^\s#].*?)(?P<end>\s*(?:#.*)?)$"
)


def diff(plans: list[FilePlan]) -> str:
    """The unified diff of every file that would change, secret values masked (also those of
    entries rgpu-exec does not touch, which show up as context lines)."""
    out = []
    for item in plans:
        before = (item.before or "").splitlines(keepends=True)
        after = item.after.splitlines(keepends=True)
        source = str(item.path) if item.before is not None else "/dev/null"
        lines = difflib.unified_diff(before, after, source, str(item.path))
        out.append("".join(_masked(line.rstrip("\n")) + "\n" for line in lines))
    return "".join(out)


def _masked(line: str) -> str:
    if line.startswith(("+++ ", "--- ", "@@ ")):
        return line
    match = _SECRET_LINE.match(line)
    if match is None:
        return line
    return f"{match['lead']}{match['key']}{match['sep']}<secret, not shown>{match['end']}"


def write(targets: Targets, planner: Planner, first: Plan) -> list[Outcome]:
    """Lock what changes, re-plan if another writer was quicker, back up and write."""
    current = first
    paths = [item.path for item in first.files]
    for _ in range(_PLAN_ATTEMPTS):
        for path in paths:
            files.check_writable(path)
        with files.locked(paths):
            if any(files.read_text(path) != text for path, text in current.texts.items()):
                current = plan(targets, planner)
            if {item.path for item in current.files} <= set(paths):
                return [
                    Outcome(item, files.write(item.path, item.after, item.before))
                    for item in current.files
                ]
        paths = sorted({*paths, *(item.path for item in current.files)})
    raise UsageError(
        "the kubeconfig files kept changing while rgpu-exec was waiting to write them. Run "
        "this again when nothing else is changing them; nothing was changed."
    )


def upsert_planner(entries: list[merge.Entry], set_current: bool) -> Planner:
    """An entry that exists is updated in the first file that holds it; a new one, and
    `current-context`, go to the default file."""

    def planner(targets: Targets, docs: dict[Path, Document]) -> dict[Path, list[merge.Edit]]:
        edits: dict[Path, list[merge.Edit]] = {}
        for entry in entries:
            home = _holder(targets, docs, entry.kind, entry.name) or targets.default
            edits.setdefault(home, []).append(merge.Upsert(entry))
        if set_current:
            context = next(e.name for e in entries if e.kind == "context")
            edits.setdefault(targets.default, []).append(merge.SetCurrentContext(context))
        return edits

    return planner


def remove_planner(context: str, force: bool = False) -> Planner:
    """The context goes; its user and cluster too when no other context (in any file) uses
    them; `current-context` is cleared where it names it. No such context: nothing to do. A
    context whose user does not run rgpu-exec is refused unless `force`."""

    def planner(targets: Targets, docs: dict[Path, Document]) -> dict[Path, list[merge.Edit]]:
        home = _holder(targets, docs, "context", context)
        if home is None:
            return {}
        found = docs[home].find("context", context) or {}
        body = found.get("context") or {}
        if not force:
            _check_ours(targets, docs, context, body.get("user"))
        edits: dict[Path, list[merge.Edit]] = {home: [merge.Remove("context", context)]}
        for kind in ("user", "cluster"):
            name = body.get(kind)
            if not isinstance(name, str) or _uses(docs, home, context, kind, name):
                continue
            holder = _holder(targets, docs, kind, name)
            if holder is not None:
                edits.setdefault(holder, []).append(merge.Remove(kind, name))
        current = next((p for p in targets.paths if docs[p].current_context), None)
        if current is not None and docs[current].current_context == context:
            edits.setdefault(current, []).append(merge.SetCurrentContext(""))
        return edits

    return planner


def _check_ours(targets: Targets, docs: dict[Path, Document], context: str, user: object) -> None:
    """Refuse to remove a context rgpu-exec did not write: its user must run rgpu-exec."""
    if not isinstance(user, str) or not user:
        why = "it names no user"
    else:
        holder = _holder(targets, docs, "user", user)
        found = docs[holder].find("user", user) if holder is not None else None
        problem = "does not exist" if found is None else entries.foreign_exec(found.get("user"))
        if problem is None:
            return
        why = f"its user {user!r} {problem}"
    raise UsageError(
        f"context {context!r} was not written by rgpu-exec: {why}. rgpu-exec removes only the "
        f"contexts it manages; to remove this one anyway (with its user and cluster when no "
        f"other context uses them), add --force, or use `kubectl config delete-context "
        f"{context}`. Nothing was changed."
    )


def _holder(
    targets: Targets, docs: dict[Path, Document], kind: merge.Kind, name: str
) -> Path | None:
    return next((p for p in targets.paths if docs[p].find(kind, name) is not None), None)


def _uses(
    docs: dict[Path, Document], home: Path, context: str, kind: merge.Kind, name: str
) -> bool:
    """Whether any context other than the one being removed points at this user or cluster."""
    for path, doc in docs.items():
        for item in doc.items("context"):
            if path == home and item.get("name") == context:
                continue
            body = item.get("context")
            if isinstance(body, dict) and body.get(kind) == name:
                return True
    return False


def verify(spec: Spec, environ: Mapping[str, str]) -> ApiKey:
    """One exchange with the key the exec stanza will use (which it returns); failures say
    nothing was written."""
    from rgpu_exec.token.exchange import Exchanger  # noqa: PLC0415

    try:
        key = find_api_key(environ, spec.profile, interactive=False)
        deadline = settings.deadline(environ) or settings.DEFAULT_DEADLINE
        Exchanger(spec.api_url, key.value, environ, deadline=deadline).exchange(spec.namespace_id)
    except RgpuExecError as exc:
        exc.message = (
            f"verification failed, so nothing was written: {exc.message} (--no-verify writes "
            "the kubeconfig without this check, e.g. to set up offline.)"
        )
        raise
    return key
