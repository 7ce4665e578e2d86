"""What `kubeconfig generate | import | remove` say after a plan: the diff of a dry run or a line
per file written, how to use the new context, and what kubectl will still need (a CA)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rgpu_exec import fixes
from rgpu_exec.hotpath import private_files, settings
from rgpu_exec.kubeconfig import edit, entries, files, planners, unwritable

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from rgpu_exec.kubeconfig.document import Document
    from rgpu_exec.kubeconfig.entries import Spec
    from rgpu_exec.kubeconfig.files import Targets
    from rgpu_exec.kubeconfig.planners import Planner
    from rgpu_exec.sourced import Sourced


@dataclass(frozen=True)
class WriteRequest:
    """How to write: the target file, dry run, and (generate/import) the verification."""

    kubeconfig: str | None = None
    dry_run: bool = False
    set_current_context: bool = False
    verify: bool = True
    # --api-url, else the environment's, else the default, with its source (None: resolved
    # from the environment; `remove` has no use for it)
    api_url: Sourced[str] | None = None
    force: bool = False  # generate/import: replace an entry of the same name that is not ours
    # generate/import: the command as given, without its CA flags, for a fix that adds one
    rerun: tuple[str, ...] = ()


@dataclass
class WriteResult:
    """What happened, for the command to print: the dry run's diff (None when not a dry run),
    lines for stdout, and warnings for stderr."""

    diff: str | None = None
    would_change: int = 0  # files a dry run would change
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Applied:
    """What `apply` did: the plan (with the documents it read), the dry run's diff (None when it
    wrote), or what it wrote (empty when nothing needed to change)."""

    targets: Targets
    plan: edit.Plan
    diff: str | None
    outcomes: list[edit.Outcome]


def apply(
    kubeconfig: str | None,
    environ: Mapping[str, str],
    planner: Planner,
    before_writing: Callable[[edit.Plan], None],
    *,
    dry_run: bool,
    backed_up: edit.Backups | None = None,
) -> Applied:
    """Plan on the files kubectl would use; a dry run shows the diff and does nothing else (no
    network: `before_writing` is not run). When nothing would change, nothing else is done
    either (verification guards a write, and there is none); else run `before_writing`
    (verification) on the plan and write what changes. `backed_up`: the files this command
    already backed up (or created), which keep that backup (one per command)."""
    targets = files.select_targets(kubeconfig, environ)
    first = edit.plan(targets, planner)
    if dry_run:
        return Applied(targets, first, edit.diff(first.files), [])
    if not first.files:
        return Applied(targets, first, None, [])
    unwritable.refuse_unwritable_list(targets, kubeconfig, environ)  # before any network
    before_writing(first)
    return Applied(targets, first, None, edit.write(targets, planner, first, backed_up))


def add_report(done: Applied, report: WriteResult) -> None:
    """The diff of a dry run, or a line for each file written; a warning for each of those
    files in a directory that other users can write to."""
    for item in done.plan.files:
        exposed = _exposed_warning(item.path)
        if exposed is not None and exposed not in report.warnings:
            report.warnings.append(exposed)
    if done.diff is not None:
        report.diff = done.diff
        report.would_change = len(done.plan.files)
        return
    for outcome in done.outcomes:
        plan = outcome.plan
        if outcome.kept:  # written earlier in this command: its backup stays the one before it
            saved = (
                f"its content before this command stays in {outcome.backup}"
                if outcome.backup is not None
                else "created by this command"
            )
        elif outcome.backup is not None:
            saved = f"previous content saved in {outcome.backup}"
        else:
            saved = "new file, mode 0600"
        report.lines.append(
            f"rgpu-exec: wrote {plan.path} ({', '.join(plan.changes.lines)}; {saved})."
        )


def _exposed_warning(path: Path) -> str | None:
    """A warning when other users can write to a directory above this kubeconfig (the write
    rule's `exposed_directory`); else None."""
    directory = private_files.exposed_directory(str(path))
    if directory is None:
        return None
    return (
        f"rgpu-exec: warning: other users can write to {directory}, which holds the kubeconfig "
        f"{path}: they could replace it or plant its lock. Keep kubeconfigs in a directory of "
        "yours (such as ~/.kube)."
    )


def usage_hints(
    done: Applied,
    spec: Spec,
    namespace: str,
    options: WriteRequest,
    environ: Mapping[str, str],
    *,
    replace: bool,
    imported: str | None = None,
) -> list[str]:
    """How to use what was written: a console context left beside it, and how kubectl gets to
    the new context (or the file)."""
    lines = []
    if not replace:
        curl = [
            c
            for c in planners.console_contexts(done.plan.docs, spec.namespace_id)
            if c != spec.context
        ]
        if curl:
            lines.append(
                f"rgpu-exec: note: context {curl[0]!r} still calls the API with curl on every "
                f"kubectl command for namespace {namespace}; "
                f"{_replace_hint(spec, options, imported)}"
            )
    file = kubeconfig_flag(done, environ)
    # --set-current-context, `import --replace` of the console context that was current, or a
    # kubeconfig that had no current context.
    current = options.set_current_context or any(
        o.plan.changes.current_context == spec.context for o in done.outcomes
    )
    if (
        current
        and not options.set_current_context
        and not planners.has_current_context(done.targets, done.plan.docs)
    ):
        lines.append(
            f"rgpu-exec: the kubeconfig had no current context, so {spec.context!r} is now "
            f"kubectl's default: {fixes.command('kubectl', *file, 'get', 'pods')} uses it "
            f"({fixes.command('kubectl', *file, 'config', 'get-contexts')} lists the others "
            "to switch to with use-context)."
        )
    docs = done.plan.docs  # kubectl's current context: the first file read that sets one
    already = next(
        (c for p in done.targets.paths if p in docs and (c := docs[p].current_context)), ""
    )
    if not current and already == spec.context:
        lines.append(
            f"rgpu-exec: {spec.context!r} is kubectl's current context: use it with "
            f"{fixes.command('kubectl', *file, 'get', 'pods')}."
        )
    elif not current:
        lines.append(
            "rgpu-exec: use it with "
            f"{fixes.command('kubectl', *file, '--context', spec.context, 'get', 'pods')}, or "
            "make it the default with "
            f"{fixes.command('kubectl', *file, 'config', 'use-context', spec.context)}."
        )
    elif file:
        lines.append(
            f"rgpu-exec: kubectl does not read that file by default: use it with "
            f"{fixes.command('kubectl', *file, 'get', 'pods')}, or add it to "
            f"{settings.ENV_KUBECONFIG}."
        )
    return lines


def without_ca(docs: dict[Path, Document], cluster: str) -> bool:
    """Whether no file gives this cluster a CA (generate keeps an existing one: see `Spec`)."""
    for doc in docs.values():
        found = doc.find("cluster", cluster)
        if found is not None:
            body = found.get("cluster") or {}
            return not any(body.get(key) for key in entries.CA_KEYS)
    return True


def _replace_hint(spec: Spec, options: WriteRequest, imported: str | None) -> str:
    """How to swap the console's context out: this import again, with --replace (a file on
    stdin is read once, so it is to be given again); after generate, the console's download."""
    if imported is None:
        return (
            "to swap it out for this one, import the console's kubeconfig download with "
            "`rgpu-exec kubeconfig import --replace` followed by its path."
        )
    if imported == "-":
        return (
            "to swap it out for this one, pipe the same file into this import again with --replace."
        )
    kubeconfig = ["--kubeconfig", options.kubeconfig] if options.kubeconfig else []
    profile = ["--profile", spec.profile] if spec.profile != settings.DEFAULT_PROFILE else []
    given = options.api_url is not None and options.api_url.given
    url = ["--api-url", spec.api_url] if given else []
    again = fixes.command(
        "rgpu-exec", "kubeconfig", "import", imported, "--replace",
        "--context", spec.context, *profile, *url, *kubeconfig,
    )  # fmt: skip
    return f"{again} swaps it out for this one."


def kubeconfig_flag(done: Applied, environ: Mapping[str, str]) -> list[str]:
    """`--kubeconfig PATH` (as argv words) when kubectl would not read the file written
    without it; else none."""
    written = {outcome.plan.path for outcome in done.outcomes} or {done.targets.default}
    read_by_default = set(files.select_targets(None, environ).paths)
    outside = sorted(written - read_by_default)
    return ["--kubeconfig", str(outside[0])] if outside else []


def no_ca_warning(context: str) -> str:
    """The warning for a cluster written without a CA (none given, none kept)."""
    return (
        f"rgpu-exec: warning: cluster {context!r} has no certificate authority, so kubectl will "
        "trust only this system's CAs and fail with `x509: certificate signed by unknown "
        "authority` for a server whose certificate the cluster's own CA signed. The kubeconfig "
        "the console offers for download on the namespace's page holds it as "
        "certificate-authority-data: run this again with --certificate-authority-data and that "
        "value (or with --certificate-authority and the CA file your cluster admin gives you)."
    )
