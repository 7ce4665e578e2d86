"""The use cases of `rgpu-exec kubeconfig generate | remove`, and the write both they and
`import` (usecases/kubeconfig_import.py) end in.

plan on every file kubectl would read (`kubeconfig.edit`) → dry run: the diff, nothing else (no
network) | nothing to change: say so, spend nothing | else: verify (one exchange with the key
the exec stanza will use) → lock, re-plan if another writer was quicker, back up, write → say
what changed and how to use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rgpu_exec import fixes
from rgpu_exec.hotpath import request
from rgpu_exec.hotpath.request import namespace_label
from rgpu_exec.kubeconfig import edit, entries, planners
from rgpu_exec.redact import key_prefix
from rgpu_exec.sourced import Sourced, checked
from rgpu_exec.sourced import api_url as resolve_api_url
from rgpu_exec.usecases.kubeconfig_report import (
    WriteRequest,
    WriteResult,
    add_report,
    apply,
    kubeconfig_flag,
    no_ca_warning,
    usage_hints,
    without_ca,
)
from rgpu_exec.usecases.kubeconfig_verify import (
    GIVEN_WITH_SERVER,
    ClusterTrust,
    ServerSource,
    not_a_kubernetes_server,
    verify,
    written_cluster,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.kubeconfig.entries import ExecApiVersion, InteractiveMode, Spec


@dataclass(frozen=True)
class StanzaRequest:
    """How `generate` and `import` write the exec stanza and name the entries (flags as given)."""

    context: str | None = None  # default: rgpu-<namespace>
    profile: str | None = None
    exec_command: str | None = None  # default: the launcher run (kubeconfig.launcher)
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
    ca_data = entries.ca_data_from_flags(
        flags.certificate_authority, flags.certificate_authority_data
    )
    spec = spec_for(
        flags.stanza,
        environ,
        namespace=namespace,
        namespace_id=checked(request.resolve_namespace_id(flags.namespace_id)),
        server=entries.check_server(flags.server),
        ca_data=ca_data,
        api_url=_chosen_url(options, environ).value,
    )
    return write_namespace(spec, options, environ)


def spec_for(stanza: StanzaRequest, environ: Mapping[str, str], **facts: Any) -> Spec:
    context = stanza.context if stanza.context is not None else None
    return entries.Spec(
        context=entries.check_context(context or entries.default_context(facts["namespace"])),
        profile=checked(request.resolve_profile(stanza.profile, environ)),
        exec_command=entries.exec_command(stanza.exec_command, environ),
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
    backed_up: edit.Backups | None = None,
    imported: str | None = None,
) -> WriteResult:
    """`generate` and `import` (of the file `imported`): the namespace's cluster, user and
    context; with `replace`, the console's own contexts for the namespace are swapped out for
    it."""
    planner = planners.upsert_planner(
        spec.entries(),
        options.set_current_context,
        spec.namespace_id if replace else None,
        force=options.force,
    )
    namespace = namespace_label(spec.namespace, spec.namespace_id)
    report = WriteResult()
    url_source = _chosen_url(options, environ).source
    not_a_kubernetes_server(spec, url_source, server_source, {}, environ)

    def before_writing(plan: edit.Plan) -> None:
        not_a_kubernetes_server(spec, url_source, server_source, plan.docs, environ)
        if not options.verify:
            return
        trust = ClusterTrust(
            *written_cluster(spec, plan.docs),
            rerun=options.rerun,
            imported=not server_source.chosen,
        )
        key, paired = verify(spec, environ, url_source, server_source, trust)
        # The API is one the user chose (an imported file's must be that one): its word is
        # verified. The cluster's clause says whose word it is (`_pairing`).
        report.lines.append(
            f"rgpu-exec: verified with {spec.api_url} ({url_source}): the key "
            f"{key_prefix(key.value)} ({key.origin}) may get tokens for namespace ID "
            f"{spec.namespace_id}{paired}."
        )

    done = apply(
        options.kubeconfig,
        environ,
        planner,
        before_writing,
        dry_run=options.dry_run,
        backed_up=backed_up,
    )
    add_report(done, report)
    if done.diff is None and not done.outcomes:
        file = kubeconfig_flag(done, environ)
        files_read = ", ".join(str(p) for p in done.targets.paths)
        report.lines.append(
            f"rgpu-exec: {files_read} already has context {spec.context!r} as asked; nothing "
            "changed, and no exchange was spent "
            f"({fixes.command('rgpu-exec', 'check', *file, '--context', spec.context)} tests "
            "the key's access)."
        )
    elif done.diff is None:
        if not options.verify:
            asks = ("--context", spec.context)
            check, doctor = (
                fixes.command("rgpu-exec", verb, *kubeconfig_flag(done, environ), *asks)
                for verb in ("check", "doctor")
            )
            report.lines.append(
                "rgpu-exec: not verified: --no-verify wrote it without asking the API about the "
                f"key or the cluster about its certificate; {check} asks the API about the key, "
                f"{doctor} asks the cluster about its certificate."
            )
        report.lines += usage_hints(
            done, spec, namespace, options, environ, replace=replace, imported=imported
        )
    if spec.ca_data is None and without_ca(done.plan.docs, spec.context):
        report.warnings.append(no_ca_warning(spec.context))
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
    done = apply(options.kubeconfig, environ, planner, lambda _: None, dry_run=options.dry_run)
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
