"""`rgpu-exec kubeconfig generate | import | remove`: flags in, one use case, a short report.

Imports stay light at module level (the CLI imports this to build its parser); YAML, HTTP and
the rest load inside the command functions.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rgpu_exec.commands import support
from rgpu_exec.credentials.redact import key_prefix
from rgpu_exec.errors import ExitCode, UsageError
from rgpu_exec.hotpath import settings
from rgpu_exec.kubeconfig import entries

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from rgpu_exec.kubeconfig.entries import Spec
    from rgpu_exec.kubeconfig.usecase import Outcome, Planner

_EXIT_CODES_MERGE = """  0  done (or nothing to change)
  2  bad flags or input, a malformed or read-only kubeconfig, a lock still held
  3  verification: no API key, or the API rejected it
  4  verification: the key may not use that namespace, or it does not exist
  5  verification: the RemoteGPU API is unreachable or answered nonsense
"""
_EXIT_CODES_REMOVE = """  0  removed, or there was no such context (nothing to remove)
  2  bad flags, a malformed or read-only kubeconfig, a lock still held, or a context whose
     user does not run rgpu-exec (without --force)
"""
_EXIT_CODES = """  0  done (or nothing to change)
  2  bad flags or input, a malformed or read-only kubeconfig, a lock still held; remove: a
     context rgpu-exec did not write (without --force)
  3  generate/import verification: no API key, or the API rejected it
  4  generate/import verification: the key may not use that namespace, or it does not exist
  5  generate/import verification: the RemoteGPU API is unreachable or answered nonsense
"""
_FILES = """files: like kubectl, --kubeconfig, else the KUBECONFIG list (an entry that exists is
updated in the file holding it, new ones go to the first existing file), else ~/.kube/config
(created 0600). Writes take kubectl's <file>.lock, go through a temp file and a rename (a
symlinked kubeconfig is written through to its target), keep the file's mode, and first save
the previous content as <file>.rgpu-exec.bak.
"""
_MERGE_NOTE = (
    "current-context changes only with --set-current-context; the same command run twice "
    "changes nothing the second time.\n"
)
_REMOVE_NOTE = """current-context is cleared if it named the context. Only a context whose user
runs rgpu-exec is removed, unless --force; a context that is not there is nothing to remove
(exit 0, nothing written).
"""
_UUID = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    top = subparsers.add_parser(
        "kubeconfig",
        help="add, import or remove RemoteGPU namespace contexts in your kubeconfig",
        description="Write per-namespace kubeconfig entries that use rgpu-exec, merged safely.",
        epilog=support.epilog(
            f"rgpu-exec kubeconfig generate --namespace team-ml --namespace-id {_UUID} "
            "--server https://k8s.remotegpu.ai",
            "rgpu-exec kubeconfig import team-ml-kubeconfig.yaml --dry-run",
            "rgpu-exec kubeconfig remove --context rgpu-team-ml",
            exit_codes=_EXIT_CODES,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(title="commands", metavar="COMMAND", parser_class=type(top))
    top.set_defaults(func=lambda _args: _usage(top))
    _add_generate(commands)
    _add_import(commands)
    _add_remove(commands)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return ExitCode.USAGE


def _parser(
    commands: argparse._SubParsersAction[Any], name: str, summary: str, *examples: str
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}.\n\n{_FILES}"
        + (_REMOVE_NOTE if name == "remove" else _MERGE_NOTE),
        epilog=support.epilog(
            *examples, exit_codes=_EXIT_CODES_REMOVE if name == "remove" else _EXIT_CODES_MERGE
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", metavar="PATH", help="write this file only")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the unified diff; write nothing"
    )


def _add_merge_options(parser: argparse.ArgumentParser) -> None:
    _add_target(parser)
    parser.add_argument(
        "--context", help="name of the context, cluster and user (default: rgpu-<namespace>)"
    )
    parser.add_argument(
        "--set-current-context", action="store_true", help="also make it kubectl's default"
    )
    parser.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="skip the check that the API key can get a credential for the namespace",
    )
    support.add_profile(parser, "keyring profile written into the exec stanza")
    parser.add_argument(
        "--exec-api-version",
        choices=("v1", "v1beta1"),
        default="v1",
        help="client.authentication.k8s.io version of the exec stanza (default: v1; v1beta1 "
        "for lightkube)",
    )
    parser.add_argument(
        "--interactive-mode",
        choices=entries.INTERACTIVE_MODES,
        default="IfAvailable",
        help="interactiveMode of the exec stanza: IfAvailable (default) lets rgpu-exec prompt "
        "for a key when kubectl runs in a terminal and none is stored; Never for CI and scripts",
    )
    parser.add_argument(
        "--exec-command",
        metavar="CMD",
        help="command kubectl runs (default: the absolute path of this rgpu-exec, so kubectl "
        "needs no PATH; `rgpu-exec` makes a portable file that relies on PATH)",
    )


def _add_generate(commands: argparse._SubParsersAction[Any]) -> None:
    parser = _parser(
        commands,
        "generate",
        "add or update the context for one RemoteGPU namespace",
        f"rgpu-exec kubeconfig generate --namespace team-ml --namespace-id {_UUID} \\\n"
        "      --server https://k8s.remotegpu.ai --certificate-authority ca.pem",
    )
    parser.add_argument(
        "--namespace",
        required=True,
        help="the namespace's name, written as the context's namespace (not checked against "
        "--namespace-id: verification tests the ID only, so copy both from the same console "
        "page)",
    )
    parser.add_argument(
        "--namespace-id", required=True, help="the namespace's UUID (what verification tests)"
    )
    parser.add_argument("--server", required=True, help="the Kubernetes API server (https://)")
    ca = parser.add_mutually_exclusive_group()
    ca.add_argument("--certificate-authority", metavar="FILE", help="PEM file of the server's CA")
    ca.add_argument("--certificate-authority-data", metavar="B64", help="base64 of that PEM")
    support.add_api_url(parser)
    _add_merge_options(parser)
    parser.set_defaults(func=_run_generate)


def _add_import(commands: argparse._SubParsersAction[Any]) -> None:
    parser = _parser(
        commands,
        "import",
        "add the namespace of a kubeconfig downloaded from the RemoteGPU console",
        "rgpu-exec kubeconfig import ~/Downloads/team-ml-kubeconfig.yaml",
        "curl ... | rgpu-exec kubeconfig import - --set-current-context",
    )
    parser.add_argument("file", metavar="FILE", help="the console's kubeconfig, or - for stdin")
    parser.add_argument(
        "--api-url",
        help=f"the RemoteGPU API the file must name (default: ${settings.ENV_API_URL} or "
        f"{settings.DEFAULT_API_URL}); your key is sent only to an API URL you chose, never to "
        "one a file names",
    )
    _add_merge_options(parser)
    parser.set_defaults(func=_run_import)


def _add_remove(commands: argparse._SubParsersAction[Any]) -> None:
    parser = _parser(
        commands,
        "remove",
        "remove a context, and its user and cluster when nothing else uses them",
        "rgpu-exec kubeconfig remove --context rgpu-team-ml --dry-run",
    )
    parser.add_argument("--context", required=True, help="the context to remove")
    parser.add_argument(
        "--force",
        action="store_true",
        help="remove it even if its user does not run rgpu-exec (a context rgpu-exec did not "
        "write)",
    )
    _add_target(parser)
    parser.set_defaults(func=_run_remove)


def _run_generate(args: argparse.Namespace) -> int:
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


def _run_import(args: argparse.Namespace) -> int:
    from rgpu_exec.kubeconfig import console  # noqa: PLC0415 - ruamel

    found = console.read(None if args.file == "-" else Path(args.file), sys.stdin.buffer)
    chosen = support.api_url(args.api_url, os.environ)
    if found.api_url.rstrip("/") != chosen:
        source = "--api-url" if args.api_url else _default_api_url_source(os.environ)
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
    return _merge(args, spec)


def _default_api_url_source(environ: Mapping[str, str]) -> str:
    if settings.api_url_from_environment(environ):
        return f"from {settings.ENV_API_URL}"
    return "the default"


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


def _merge(args: argparse.Namespace, spec: Spec) -> int:
    from rgpu_exec.kubeconfig import usecase  # noqa: PLC0415

    planner = usecase.upsert_planner(spec.entries(), args.set_current_context)
    hint = (
        ""
        if args.set_current_context
        else (
            f"rgpu-exec: use it with `kubectl --context {spec.context} get pods`, or make it the "
            f"default with `kubectl config use-context {spec.context}`."
        )
    )

    def before_writing() -> None:
        if args.verify:
            key = usecase.verify(spec, os.environ)
            source = (
                f"from {settings.ENV_API_KEY}"
                if key.source == "env"
                else f"keyring profile {spec.profile!r}"
            )
            print(
                f"rgpu-exec: verified with {spec.api_url}: the key {key_prefix(key.value)} "
                f"({source}) may use namespace {spec.namespace_id}."
            )

    def unchanged(files: str) -> str:
        return f"rgpu-exec: {files} already has context {spec.context!r} as asked; nothing changed."

    return _apply(args, planner, before_writing, unchanged, hint)


def _run_remove(args: argparse.Namespace) -> int:
    from rgpu_exec.kubeconfig import usecase  # noqa: PLC0415

    planner = usecase.remove_planner(args.context, force=args.force)

    def unchanged(files: str) -> str:
        return (
            f"rgpu-exec: there is no context {args.context!r} in {files}; nothing to remove. "
            "(`kubectl config get-contexts` lists the contexts.)"
        )

    return _apply(args, planner, lambda: None, unchanged, "")


def _apply(
    args: argparse.Namespace,
    planner: Planner,
    check: Callable[[], None],
    unchanged: Callable[[str], str],
    hint: str,
) -> int:
    from rgpu_exec.kubeconfig import usecase  # noqa: PLC0415

    done = usecase.apply(args.kubeconfig, os.environ, planner, check, dry_run=args.dry_run)
    if done.diff is not None:
        sys.stdout.write(done.diff)
        changed = len(done.planned)
        what = f"{changed} file(s) would change" if changed else "nothing would change"
        print(f"rgpu-exec: dry run, nothing was written ({what}).", file=sys.stderr)
        return ExitCode.OK
    if not done.outcomes:
        print(unchanged(", ".join(str(p) for p in done.targets.paths)))
        return ExitCode.OK
    for outcome in done.outcomes:
        print(_report(outcome))
    if hint:
        print(hint)
    return ExitCode.OK


def _report(outcome: Outcome) -> str:
    plan = outcome.plan
    saved = (
        f"previous content saved in {outcome.backup}"
        if outcome.backup is not None
        else "new file, mode 0600"
    )
    return f"rgpu-exec: wrote {plan.path} ({', '.join(plan.changes.lines)}; {saved})."
