"""The flow shared by generate, import and remove.

read every file kubectl would read → decide which file each edit goes to (kubectl's rules) →
render the new texts → [verify] → dry run: the diff | nothing to do: say so | else: lock the
files to change → read them again and redo the plan → back up → write → report.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rgpu_exec.credentials.api_key import ApiKey, find_api_key, rejected
from rgpu_exec.errors import ApiError, ApiKeyError, RgpuExecError, UsageError
from rgpu_exec.kubeconfig import files, merge
from rgpu_exec.kubeconfig.document import Document

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from rgpu_exec.kubeconfig.entries import Spec
    from rgpu_exec.kubeconfig.files import Targets
    from rgpu_exec.kubeconfig.planners import Planner

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
    nothing else (no network: `before_writing` is not run). When nothing would change, nothing
    else is done either (verification guards a write, and there is none); else run
    `before_writing` (verification) and write what changes."""
    targets = files.select_targets(kubeconfig, environ)
    first = plan(targets, planner)
    if dry_run:
        return Applied(targets, first.files, diff(first.files), [])
    if not first.files:
        return Applied(targets, [], None, [])
    before_writing()
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
    entries rgpu-exec does not touch, which show up as context lines) and certificates cut to
    their start and size (`LS0t…(1.2 KB)`)."""
    out = []
    for item in plans:
        before = (item.before or "").splitlines(keepends=True)
        after = item.after.splitlines(keepends=True)
        source = str(item.path) if item.before is not None else "/dev/null"
        lines = difflib.unified_diff(before, after, source, str(item.path))
        out.append("".join(_masked(line.rstrip("\n")) + "\n" for line in lines))
    return "".join(out)


# Certificates (base64 PEM, kilobytes on one line): shown by their start and size.
_CERTIFICATE_LINE = re.compile(
    r"^(?P<lead>[ +-]\s*(?:-\s+)?)(?P<key>certificate-authority-data|client-certificate-data)"
    r"(?P<sep>\s*:[ \t]+)(?P<value>[^\s#]{16,})(?P<end>\s*(?:#.*)?)$"
)
_SHOWN_CERTIFICATE = 4  # `LS0t`: base64 of `---`, how every PEM starts


def _masked(line: str) -> str:
    if line.startswith(("+++ ", "--- ", "@@ ")):
        return line
    match = _SECRET_LINE.match(line)
    if match is not None:
        return f"{match['lead']}{match['key']}{match['sep']}<secret, not shown>{match['end']}"
    match = _CERTIFICATE_LINE.match(line)
    if match is not None:
        value = match["value"]
        short = f"{value[:_SHOWN_CERTIFICATE]}…({_size(len(value))})"
        return f"{match['lead']}{match['key']}{match['sep']}{short}{match['end']}"
    return line


def _size(length: int) -> str:
    return f"{length / 1024:.1f} KB" if length >= 1024 else f"{length} B"  # noqa: PLR2004


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


def verify(spec: Spec, environ: Mapping[str, str], url_source: str = "the API URL") -> ApiKey:
    """One exchange with the key the exec stanza will use (which it returns); failures say
    nothing was written."""
    from rgpu_exec.usecases.key_exchange import exchange_once  # noqa: PLC0415 - httpx

    asked = False  # whether the API answered: after a definite "no", --no-verify is no help
    try:
        key = find_api_key(environ, spec.profile, interactive=False, profile_flag=spec.profile_flag)
        asked = True
        try:
            exchange_once(
                spec.api_url,
                key.value,
                spec.namespace_id,
                environ,
                url_source,
                namespace_name=spec.namespace,
            )
        except ApiKeyError as rejection:
            raise rejected(rejection, key) from None
    except RgpuExecError as exc:
        # Offered when no key is at hand or the API could not answer (an offline set-up); not
        # after a definite "no" (a rejected key, a namespace out of scope): a context written
        # anyway could not work.
        offline = (
            " (--no-verify writes the kubeconfig without this check, e.g. to set up offline.)"
            if not asked or (isinstance(exc, ApiError) and exc.status is None)
            else ""
        )
        exc.message = f"verification failed, so nothing was written: {exc.message}{offline}"
        raise
    return key
