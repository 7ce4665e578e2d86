"""`rgpu-exec kubeconfig generate | import | remove`: flags in, one use case, a short report.

The parsers are in `commands.kubeconfig`; YAML, HTTP and the rest load inside the functions.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rgpu_exec.commands import support
from rgpu_exec.errors import ExitCode, UsageError
from rgpu_exec.hotpath import request, settings
from rgpu_exec.hotpath.request import namespace_label
from rgpu_exec.kubeconfig import entries
from rgpu_exec.redact import key_prefix

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Mapping

    from rgpu_exec.kubeconfig.document import Document
    from rgpu_exec.kubeconfig.entries import Spec
    from rgpu_exec.kubeconfig.files import Targets
    from rgpu_exec.kubeconfig.merge import Edit
    from rgpu_exec.kubeconfig.planners import Planner
    from rgpu_exec.usecases.kubeconfig_write import Applied, Outcome


def run_generate(args: argparse.Namespace) -> int:
    namespace = entries.check_namespace(args.namespace)
    ca_data = None
    if args.certificate_authority:
        ca_data = entries.ca_data_from_file(args.certificate_authority)
    elif args.certificate_authority_data:
        ca_data = entries.check_ca_data(args.certificate_authority_data)
    spec = _spec(
        args,
        namespace=namespace,
        namespace_id=support.namespace_id(args.namespace_id),
        server=entries.check_server(args.server),
        ca_data=ca_data,
        api_url=support.api_url(args.api_url, os.environ),
    )
    return _merge(args, spec)


def run_import(args: argparse.Namespace) -> int:
    from rgpu_exec.kubeconfig import console  # noqa: PLC0415 - ruamel

    found = console.read(None if args.file == "-" else Path(args.file), sys.stdin.buffer)
    chosen = support.api_url(args.api_url, os.environ)
    if found.api_url.rstrip("/") != chosen:
        source = request.api_url_source(args.api_url, os.environ)
        raise UsageError(
            f"the file asks for credentials from the API at {found.api_url}, but the API URL "
            f"you chose is {chosen} ({source}). rgpu-exec sends your API key only to an API "
            f"URL you chose, never to one a file names; nothing was sent or written. If you "
            f"trust that API, run the import again with --api-url {found.api_url}."
        )
    spec = _spec(
        args,
        namespace=entries.check_namespace(found.namespace),
        namespace_id=support.namespace_id(found.namespace_id),
        server=entries.check_server(found.server),
        ca_data=entries.check_ca_data(found.ca_data) if found.ca_data else None,
        api_url=chosen,
    )
    return _merge(args, spec, replace=args.replace)


def _spec(args: argparse.Namespace, **facts: Any) -> Spec:
    context = (
        args.context if args.context is not None else entries.default_context(facts["namespace"])
    )
    return entries.Spec(
        context=entries.check_context(context),
        profile=support.profile(args.profile, os.environ),
        exec_command=entries.exec_command(args.exec_command),
        exec_api_version=args.exec_api_version,
        interactive_mode=args.interactive_mode,
        **facts,
    )


class _Seen:
    """Wraps a planner to keep the documents it was shown, for what is said after the plan."""

    def __init__(self, planner: Planner) -> None:
        self.planner = planner
        self.docs: dict[Path, Document] = {}

    def __call__(self, targets: Targets, docs: dict[Path, Document]) -> dict[Path, list[Edit]]:
        self.docs = docs
        return self.planner(targets, docs)


def _merge(args: argparse.Namespace, spec: Spec, *, replace: bool = False) -> int:
    from rgpu_exec.kubeconfig import planners  # noqa: PLC0415
    from rgpu_exec.usecases import kubeconfig_write as usecase  # noqa: PLC0415

    seen = _Seen(
        planners.upsert_planner(
            spec.entries(), args.set_current_context, spec.namespace_id if replace else None
        )
    )
    namespace = namespace_label(spec.namespace, spec.namespace_id)

    def before_writing() -> None:
        if args.verify:
            key = usecase.verify(spec, os.environ, request.api_url_source(args.api_url, os.environ))
            print(
                f"rgpu-exec: verified with {spec.api_url}: the key {key_prefix(key.value)} "
                f"({key.origin}) may use namespace {namespace}."
            )

    def unchanged(done: Applied) -> str:
        files = ", ".join(str(p) for p in done.targets.paths)
        file = _kubeconfig_flag(done, os.environ)
        return (
            f"rgpu-exec: {files} already has context {spec.context!r} as asked; nothing changed, "
            f"and no exchange was spent (`rgpu-exec check{file} --context {spec.context}` tests "
            "the key's access)."
        )

    def hint(done: Applied) -> list[str]:
        lines = []
        if not replace:
            curl = [
                c
                for c in planners.console_contexts(seen.docs, spec.namespace_id)
                if c != spec.context
            ]
            if curl:
                lines.append(
                    f"rgpu-exec: note: context {curl[0]!r} still calls the API with curl on every "
                    f"kubectl command for namespace {namespace}; `rgpu-exec kubeconfig import "
                    "--replace` swaps it out for this one."
                )
        file = _kubeconfig_flag(done, os.environ)
        # --set-current-context, or `import --replace` of the console context that was current.
        current = args.set_current_context or any(
            line.startswith("set current-context")
            for o in done.outcomes
            for line in o.plan.changes.lines
        )
        if not current:
            lines.append(
                f"rgpu-exec: use it with `kubectl{file} --context {spec.context} get pods`, or "
                f"make it the default with `kubectl{file} config use-context {spec.context}`."
            )
        elif file:
            lines.append(
                f"rgpu-exec: kubectl does not read that file by default: use it with "
                f"`kubectl{file} get pods`, or add it to {settings.ENV_KUBECONFIG}."
            )
        return lines

    done = _apply(args, seen, before_writing, unchanged, hint)
    if spec.ca_data is None and _without_ca(seen.docs, spec.context):
        print(
            f"rgpu-exec: warning: cluster {spec.context!r} has no certificate authority, so "
            "kubectl will trust only this system's CAs and fail with `x509: certificate signed "
            "by unknown authority` for a server whose certificate the cluster's own CA signed. "
            "Run this again with --certificate-authority-data (the value in the console's "
            "kubeconfig) or --certificate-authority FILE.",
            file=sys.stderr,
        )
    return done


def _without_ca(docs: dict[Path, Document], cluster: str) -> bool:
    """Whether no file gives this cluster a CA (generate keeps an existing one: see `Spec`)."""
    for doc in docs.values():
        found = doc.find("cluster", cluster)
        if found is not None:
            body = found.get("cluster") or {}
            return not any(body.get(key) for key in entries.CA_KEYS)
    return True


def _kubeconfig_flag(done: Applied, environ: Mapping[str, str]) -> str:
    """` --kubeconfig PATH` when kubectl would not read the file written without it."""
    from rgpu_exec.kubeconfig import files  # noqa: PLC0415

    written = {outcome.plan.path for outcome in done.outcomes} or {done.targets.default}
    read_by_default = set(files.select_targets(None, environ).paths)
    outside = sorted(written - read_by_default)
    return f" --kubeconfig {shlex.quote(str(outside[0]))}" if outside else ""


def run_remove(args: argparse.Namespace) -> int:
    from rgpu_exec.kubeconfig import planners  # noqa: PLC0415

    if args.all == bool(args.names):
        raise UsageError(
            "name the contexts to remove (`rgpu-exec kubeconfig remove NAME`), or give --all "
            "to remove every context rgpu-exec manages, not both."
            if args.all
            else "name the context to remove (`rgpu-exec kubeconfig remove NAME`; "
            "`rgpu-exec kubeconfig list` lists them), or give --all."
        )
    planner = planners.remove_planner(
        None if args.all else tuple(args.names),
        force=args.force,
        ignore_not_found=args.ignore_not_found,
    )

    def unchanged(done: Applied) -> str:
        files = ", ".join(str(p) for p in done.targets.paths)
        if args.all:
            return f"rgpu-exec: no context in {files} uses rgpu-exec; nothing to remove."
        return f"rgpu-exec: there is no such context in {files}; nothing to remove."

    return _apply(args, planner, lambda: None, unchanged, lambda _done: [])


def _apply(
    args: argparse.Namespace,
    planner: Planner,
    check: Callable[[], None],
    unchanged: Callable[[Applied], str],
    hint: Callable[[Applied], list[str]],
) -> int:
    from rgpu_exec.usecases import kubeconfig_write as usecase  # noqa: PLC0415

    done = usecase.apply(args.kubeconfig, os.environ, planner, check, dry_run=args.dry_run)
    if done.diff is not None:
        sys.stdout.write(done.diff)
        changed = len(done.planned)
        what = f"{changed} file(s) would change" if changed else "nothing would change"
        print(f"rgpu-exec: dry run, nothing was written ({what}).", file=sys.stderr)
        return ExitCode.OK
    if not done.outcomes:
        print(unchanged(done))
        return ExitCode.OK
    for outcome in done.outcomes:
        print(_report(outcome))
    for line in hint(done):
        print(line)
    return ExitCode.OK


def _report(outcome: Outcome) -> str:
    plan = outcome.plan
    saved = (
        f"previous content saved in {outcome.backup}"
        if outcome.backup is not None
        else "new file, mode 0600"
    )
    return f"rgpu-exec: wrote {plan.path} ({', '.join(plan.changes.lines)}; {saved})."
