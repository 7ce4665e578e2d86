"""Change kubeconfig files as kubectl would, by a plan: read every file kubectl would read →
decide which file each edit goes to (a `planners.Planner`) → render the new texts; a dry run's
diff (secrets masked); or lock the files to change → read them again and redo the plan → back
up → write (`files`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec.errors import UsageError
from rgpu_exec.kubeconfig import files, masking, merge
from rgpu_exec.kubeconfig.document import Document

if TYPE_CHECKING:
    from rgpu_exec.kubeconfig.files import Targets
    from rgpu_exec.kubeconfig.planners import Planner

_PLAN_ATTEMPTS = 3

# The files one command wrote, each with where its content before the command was saved (None:
# the command created it).
Backups = dict[Path, Path | None]


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
    # The backup is the one made earlier in this command (the file as it was before it), kept.
    kept: bool = False


@dataclass(frozen=True)
class Plan:
    """The texts read (None: no such file), the documents they hold, and the files that would
    change."""

    texts: dict[Path, str | None]
    docs: dict[Path, Document]
    files: list[FilePlan]


def plan(targets: Targets, planner: Planner) -> Plan:
    """Read the files and work out the changed texts; malformed files raise UsageError."""
    texts = {path: files.read_text(path) for path in targets.paths}
    docs = {path: Document.parse(text, str(path)) for path, text in texts.items()}
    changed = []
    for path, edits in planner(targets, docs).items():
        after, changes = docs[path].apply(edits)  # every destination is one of targets.paths
        if changes:
            changed.append(FilePlan(path, texts[path], after, changes))
    return Plan(texts, docs, changed)


def diff(plans: list[FilePlan]) -> str:
    """The unified diff of every file that would change, secret values masked (also those of
    entries rgpu-exec does not touch, which show up as context lines) and certificates cut to
    their start and size (`LS0t…(1.2 KB)`): see `masking`."""
    texts = masking.masked([text for item in plans for text in (item.before, item.after)])
    out = []
    for i, item in enumerate(plans):
        before, after = texts[2 * i], texts[2 * i + 1] or ""
        source = str(item.path) if before is not None else "/dev/null"
        lines = difflib.unified_diff(
            (before or "").splitlines(keepends=True),
            after.splitlines(keepends=True),
            source,
            str(item.path),
        )
        out.append("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    return "".join(out)


def write(
    targets: Targets, planner: Planner, first: Plan, backed_up: Backups | None = None
) -> list[Outcome]:
    """Lock what changes, re-plan if another writer was quicker, back up and write.
    `backed_up`: the files an earlier write of this command wrote, with their backup (None: it
    created the file); they are not backed up again, so their backup stays their content before
    the command (one backup per command), and the files written now join them."""
    done: Backups = {} if backed_up is None else backed_up
    current = first
    paths = [item.path for item in first.files]
    for _ in range(_PLAN_ATTEMPTS):
        for path in paths:
            files.check_writable(path)
        with files.locked(paths):
            if any(files.read_text(path) != text for path, text in current.texts.items()):
                current = plan(targets, planner)
            if {item.path for item in current.files} <= set(paths):
                outcomes = []
                for item in current.files:
                    kept = item.path in done
                    saved = files.write(item.path, item.after, None if kept else item.before)
                    backup = done[item.path] if kept else saved
                    outcomes.append(Outcome(item, backup, kept=kept))
                    done[item.path] = backup
                return outcomes
        paths = sorted({*paths, *(item.path for item in current.files)})
    raise UsageError(
        "the kubeconfig files kept changing while rgpu-exec was waiting to write them. Run "
        "this again when nothing else is changing them; nothing was changed."
    )
