"""The use cases of `rgpu-exec kubeconfig generate | import | remove`.

plan on every file kubectl would read (`kubeconfig.edit`) → dry run: the diff, nothing else (no
network) | nothing to change: say so, spend nothing | else: verify (one exchange with the key
the exec stanza will use) → lock, re-plan if another writer was quicker, back up, write → say
what changed and how to use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from rgpu_exec.errors import RgpuExecError, UsageError
from rgpu_exec.hotpath import request, settings, url_rules
from rgpu_exec.hotpath.request import namespace_label
from rgpu_exec.kubeconfig import console, edit, entries, files, planners, unwritable
from rgpu_exec.redact import key_prefix
from rgpu_exec.sourced import Sourced, checked
from rgpu_exec.sourced import api_url as resolve_api_url
from rgpu_exec.terminal import printable, shown
from rgpu_exec.usecases.kubeconfig_report import (
    Applied,
    WriteRequest,
    WriteResult,
    add_report,
    kubeconfig_flag,
    usage_hints,
    without_ca,
)
from rgpu_exec.usecases.kubeconfig_verify import GIVEN_WITH_SERVER, ServerSource, verify

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from rgpu_exec.kubeconfig.entries import ExecApiVersion, InteractiveMode, Spec
    from rgpu_exec.kubeconfig.planners import Planner


def apply(
    kubeconfig: str | None,
    environ: Mapping[str, str],
    planner: Planner,
    before_writing: Callable[[], None],
    *,
    dry_run: bool,
) -> Applied:
    """Plan on the files kubectl would use; a dry run shows the diff and does nothing else (no
    network: `before_writing` is not run). When nothing would change, nothing else is done
    either (verification guards a write, and there is none); else run `before_writing`
    (verification) and write what changes."""
    targets = files.select_targets(kubeconfig, environ)
    first = edit.plan(targets, planner)
    if dry_run:
        return Applied(targets, first, edit.diff(first.files), [])
    if not first.files:
        return Applied(targets, first, None, [])
    unwritable.refuse_unwritable_list(targets, kubeconfig, environ)  # before any network
    before_writing()
    return Applied(targets, first, None, edit.write(targets, planner, first))


@dataclass(frozen=True)
class StanzaRequest:
    """How `generate` and `import` write the exec stanza and name the entries (flags as given)."""

    context: str | None = None  # default: rgpu-<namespace>
    profile: str | None = None
    exec_command: str | None = None  # default: the installed rgpu-exec, absolute
    exec_api_version: ExecApiVersion = "v1"
    interactive_mode: InteractiveMode = "IfAvailable"


@dataclass(frozen=True)
class GenerateRequest:
    namespace: str
    namespace_id: str
    server: str
    certificate_authority: str | None = None  # a PEM file
    certificate_authority_data: str | None = None  # base64 of one
    stanza: StanzaRequest = StanzaRequest()


def generate(
    flags: GenerateRequest, options: WriteRequest, environ: Mapping[str, str]
) -> WriteResult:
    """`kubeconfig generate`: the namespace's entries from the flags, checked."""
    namespace = entries.check_namespace(flags.namespace)
    ca_data = None
    if flags.certificate_authority:
        ca_data = entries.ca_data_from_file(flags.certificate_authority)
    elif flags.certificate_authority_data:
        ca_data = entries.check_ca_data(flags.certificate_authority_data)
    spec = _spec(
        flags.stanza,
        environ,
        namespace=namespace,
        namespace_id=checked(request.resolve_namespace_id(flags.namespace_id)),
        server=entries.check_server(flags.server),
        ca_data=ca_data,
        api_url=_chosen_url(options, environ).value,
    )
    return write_namespace(spec, options, environ)


@dataclass(frozen=True)
class ImportRequest:
    """`kubeconfig import FILE…`: the files (`-`: stdin), and how to write each namespace."""

    files: tuple[str, ...]
    stanza: StanzaRequest = StanzaRequest()
    write: WriteRequest = field(default_factory=WriteRequest)
    replace: bool = False  # swap out the console's own contexts for the namespace


@dataclass
class ImportResult:
    """What each import said, in order; and the failure that stopped a later one, if one did
    (the command says what the earlier ones did, then fails with it)."""

    results: list[WriteResult] = field(default_factory=list)
    error: RgpuExecError | None = None


def run_import(wanted: ImportRequest, environ: Mapping[str, str], stdin: BinaryIO) -> ImportResult:
    """`kubeconfig import`: several files only without `-` and without `--context` (each
    namespace gets its own context, rgpu-<namespace>); every file read first, so a bad one
    stops the run before anything is written; then one import each."""
    names = wanted.files
    if len(names) > 1 and ("-" in names or wanted.stanza.context is not None):
        raise UsageError(
            "import several files without - (stdin) and without --context (each namespace gets "
            "its own context, rgpu-<namespace>), or import them one at a time."
        )
    found = [console.read(None if n == "-" else Path(n), stdin) for n in names]
    done = ImportResult()
    try:
        for source in found:
            done.results.append(
                import_console(
                    source,
                    wanted.write.api_url,
                    wanted.stanza,
                    wanted.write,
                    environ,
                    replace=wanted.replace,
                )
            )
    except RgpuExecError as exc:
        if not done.results:
            raise
        done.error = exc
    return done


def import_console(
    source: console.ConsoleKubeconfig,
    api_url: Sourced[str] | None,
    stanza: StanzaRequest,
    options: WriteRequest,
    environ: Mapping[str, str],
    *,
    replace: bool = False,
) -> WriteResult:
    """`kubeconfig import`: the namespace of a console kubeconfig (`console.read`). The file
    never chooses where the key goes: its API must be the one the user chose."""
    sourced_url = api_url or resolve_api_url(None, environ)
    chosen = sourced_url.value
    if settings.normal_url(source.api_url) != chosen:
        where = sourced_url.source
        problem = url_rules.url_problem(source.api_url)
        if problem or not printable(source.api_url):
            # Shown escaped, never as a URL to copy: it is not one --api-url would take as is.
            raise UsageError(
                f"the file asks for credentials from the API at {shown(source.api_url)}, which "
                f"is not a usable API URL (it {problem or 'holds control characters'}). "
                f"rgpu-exec sends your API key only to an API URL you chose ({chosen}, "
                f"{where}); nothing was sent or written. Download the kubeconfig again from the "
                "console's namespace page."
            )
        raise UsageError(
            f"the file asks for credentials from the API at {source.api_url}, but the API URL "
            f"you chose is {chosen} ({where}). rgpu-exec sends your API key only to an API "
            f"URL you chose, never to one a file names; nothing was sent or written. If you "
            f"trust that API, run the import again with --api-url {source.api_url}."
        )
    spec = _spec(
        stanza,
        environ,
        namespace=entries.check_namespace(source.namespace),
        namespace_id=checked(request.resolve_namespace_id(source.namespace_id)),
        server=entries.check_server(source.server),
        ca_data=entries.check_ca_data(source.ca_data) if source.ca_data else None,
        api_url=chosen,
    )
    named_in = ServerSource(f"named in {source.origin}", chosen=False)
    return write_namespace(spec, options, environ, replace=replace, server_source=named_in)


def _spec(stanza: StanzaRequest, environ: Mapping[str, str], **facts: Any) -> Spec:
    context = stanza.context if stanza.context is not None else None
    return entries.Spec(
        context=entries.check_context(context or entries.default_context(facts["namespace"])),
        profile=checked(request.resolve_profile(stanza.profile, environ)),
        exec_command=entries.exec_command(stanza.exec_command),
        exec_api_version=stanza.exec_api_version,
        interactive_mode=stanza.interactive_mode,
        **facts,
    )


def _chosen_url(options: WriteRequest, environ: Mapping[str, str]) -> Sourced[str]:
    return options.api_url or resolve_api_url(None, environ)


def write_namespace(
    spec: Spec,
    options: WriteRequest,
    environ: Mapping[str, str],
    *,
    replace: bool = False,
    server_source: ServerSource = GIVEN_WITH_SERVER,
) -> WriteResult:
    """`generate` and `import`: the namespace's cluster, user and context; with `replace`, the
    console's own contexts for the namespace are swapped out for it."""
    planner = planners.upsert_planner(
        spec.entries(),
        options.set_current_context,
        spec.namespace_id if replace else None,
        force=options.force,
    )
    namespace = namespace_label(spec.namespace, spec.namespace_id)
    report = WriteResult()

    def before_writing() -> None:
        if options.verify:
            url_source = _chosen_url(options, environ).source
            key, paired = verify(spec, environ, url_source, server_source)
            # The API is one the user chose (an imported file's must be that one): its word is
            # verified. The cluster's clause says whose word it is (`_pairing`).
            report.lines.append(
                f"rgpu-exec: verified with {spec.api_url} ({url_source}): the key "
                f"{key_prefix(key.value)} ({key.origin}) may get tokens for namespace ID "
                f"{spec.namespace_id}{paired}."
            )

    done = apply(options.kubeconfig, environ, planner, before_writing, dry_run=options.dry_run)
    add_report(done, report)
    if done.diff is None and not done.outcomes:
        file = kubeconfig_flag(done, environ)
        files_read = ", ".join(str(p) for p in done.targets.paths)
        report.lines.append(
            f"rgpu-exec: {files_read} already has context {spec.context!r} as asked; nothing "
            f"changed, and no exchange was spent (`rgpu-exec check{file} --context "
            f"{spec.context}` tests the key's access)."
        )
    elif done.diff is None:
        report.lines += usage_hints(done, spec, namespace, options, environ, replace=replace)
    if spec.ca_data is None and without_ca(done.plan.docs, spec.context):
        report.warnings.append(
            f"rgpu-exec: warning: cluster {spec.context!r} has no certificate authority, so "
            "kubectl will trust only this system's CAs and fail with `x509: certificate signed "
            "by unknown authority` for a server whose certificate the cluster's own CA signed. "
            "Run this again with --certificate-authority-data (the value in the console's "
            "kubeconfig) or --certificate-authority FILE."
        )
    return report


def remove_contexts(
    names: tuple[str, ...] | None,
    options: WriteRequest,
    environ: Mapping[str, str],
    *,
    force: bool = False,
    ignore_not_found: bool = False,
) -> WriteResult:
    """`remove`: the contexts named (None: every context rgpu-exec manages)."""
    planner = planners.remove_planner(names, force=force, ignore_not_found=ignore_not_found)
    done = apply(options.kubeconfig, environ, planner, lambda: None, dry_run=options.dry_run)
    report = WriteResult()
    add_report(done, report)
    if done.diff is None and not done.outcomes:
        files_read = ", ".join(str(p) for p in done.targets.paths)
        report.lines.append(
            f"rgpu-exec: no context in {files_read} uses rgpu-exec; nothing to remove."
            if names is None
            else f"rgpu-exec: there is no such context in {files_read}; nothing to remove."
        )
    return report
