"""`rgpu-exec kubeconfig generate | import | remove`: flags in, one use case, a short report.

The parsers are in `commands.kubeconfig`; YAML, HTTP and the rest load inside the functions.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from rgpu_exec import output, terminal
from rgpu_exec.commands import support
from rgpu_exec.errors import ExitCode, UsageError

if TYPE_CHECKING:
    import argparse

    from rgpu_exec.usecases.kubeconfig_report import WriteRequest, WriteResult
    from rgpu_exec.usecases.kubeconfig_write import StanzaRequest


def run_generate(args: argparse.Namespace) -> int:
    from rgpu_exec.usecases.kubeconfig_write import GenerateRequest, generate  # noqa: PLC0415

    flags = GenerateRequest(
        namespace=args.namespace,
        namespace_id=args.namespace_id,
        server=args.server,
        certificate_authority=args.certificate_authority,
        certificate_authority_data=args.certificate_authority_data,
        stanza=_stanza(args),
    )
    rerun = (
        "rgpu-exec", "kubeconfig", "generate", "--namespace", args.namespace,
        "--namespace-id", args.namespace_id, "--server", args.server,
    )  # fmt: skip
    return _print(generate(flags, _options(args, rerun), os.environ))


def run_import(args: argparse.Namespace) -> int:
    from rgpu_exec.usecases.kubeconfig_import import ImportRequest  # noqa: PLC0415 - YAML
    from rgpu_exec.usecases.kubeconfig_import import run_import as import_files  # noqa: PLC0415

    if not args.files:
        raise UsageError(
            "name the kubeconfig to import: the file downloaded from the console's namespace "
            "page (its path after `rgpu-exec kubeconfig import`), or - to read it from stdin "
            "(`rgpu-exec kubeconfig import -` reads what is piped into it)"
        )
    rerun = ("rgpu-exec", "kubeconfig", "import", *args.files)
    wanted = ImportRequest(
        tuple(args.files),
        _stanza(args),
        _options(args, (*rerun, *(["--replace"] if args.replace else []))),
        replace=args.replace,
        certificate_authority=args.certificate_authority,
        certificate_authority_data=args.certificate_authority_data,
    )
    done = import_files(wanted, os.environ, sys.stdin.buffer)
    for result in done.results:
        _print(result)
    if done.error is not None:
        raise done.error
    return ExitCode.OK


def _stanza(args: argparse.Namespace) -> StanzaRequest:
    from rgpu_exec.usecases.kubeconfig_write import StanzaRequest  # noqa: PLC0415 - YAML

    return StanzaRequest(
        context=args.context,
        profile=args.profile,
        exec_command=args.exec_command,
        exec_api_version=args.exec_api_version,
        interactive_mode=args.interactive_mode,
    )


# The flags generate and import share, as `_rerun` gives them back: (flag, dest, default).
_SHARED_FLAGS = (
    ("--api-url", "api_url", None),
    ("--kubeconfig", "kubeconfig", None),
    ("--context", "context", None),
    ("--profile", "profile", None),
    ("--exec-command", "exec_command", None),
    ("--exec-api-version", "exec_api_version", "v1"),
    ("--interactive-mode", "interactive_mode", "IfAvailable"),
)
_SHARED_SWITCHES = (("--set-current-context", "set_current_context"), ("--force", "force"))


def _rerun(args: argparse.Namespace, command: tuple[str, ...]) -> tuple[str, ...]:
    """The command as given (its CA flags left out), for a fix that runs it again with one."""
    words = list(command)
    for flag, dest, default in _SHARED_FLAGS:
        value = getattr(args, dest, None)
        if value is not None and value != default:
            words += [flag, value]
    words += [flag for flag, dest in _SHARED_SWITCHES if getattr(args, dest, False)]
    return tuple(words)


def _options(args: argparse.Namespace, rerun: tuple[str, ...] = ()) -> WriteRequest:
    from rgpu_exec.usecases.kubeconfig_report import WriteRequest  # noqa: PLC0415

    return WriteRequest(
        rerun=_rerun(args, rerun) if rerun else (),
        kubeconfig=args.kubeconfig,
        dry_run=args.dry_run,
        set_current_context=getattr(args, "set_current_context", False),
        verify=getattr(args, "verify", True),
        api_url=support.api_url(args.api_url, os.environ) if "api_url" in args else None,
        force=getattr(args, "force", False),
    )


def run_remove(args: argparse.Namespace) -> int:
    from rgpu_exec.usecases.kubeconfig_write import remove_contexts  # noqa: PLC0415

    if args.all == bool(args.names):
        raise UsageError(
            "name the contexts to remove (`rgpu-exec kubeconfig list` lists them), or give --all "
            "to remove every context rgpu-exec manages, not both."
            if args.all
            else "name the context to remove after `rgpu-exec kubeconfig remove` "
            "(`rgpu-exec kubeconfig list` lists them), or give --all."
        )
    report = remove_contexts(
        None if args.all else tuple(args.names),
        _options(args),
        os.environ,
        force=args.force,
        ignore_not_found=args.ignore_not_found,
    )
    return _print(report)


def _print(report: WriteResult) -> int:
    if report.diff is not None:
        output.write(terminal.shown(report.diff, lines=True))
        changed = report.would_change
        what = f"{changed} file(s) would change" if changed else "nothing would change"
        output.say(f"rgpu-exec: dry run, nothing was written ({what}).")
    for line in report.lines:
        output.line(line)
    for line in report.warnings:
        output.say(line)
    return ExitCode.OK
