"""`rgpu-exec doctor`: diagnose why kubectl cannot get RemoteGPU credentials.

Flags in, `usecases.doctor.diagnose.run` finds (and decides the exit code), `commands.render`
prints the findings for people (an aligned list, each problem with its fix) or for scripts.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from rgpu_exec import output, terminal
from rgpu_exec.commands import support
from rgpu_exec.errors import ExitCode

if TYPE_CHECKING:
    from rgpu_exec.usecases.doctor.findings import Finding, Status

_EXIT_CODES = f"""\
  {ExitCode.OK}  no problem found
  {ExitCode.USAGE}  bad flags (anything else wrong is a finding, with its fix)
  {ExitCode.PROBLEMS_FOUND}  at least one problem found (each is listed with its fix)
"""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="diagnose why kubectl cannot get RemoteGPU credentials",
        description="Check the API key (and ask the API whether it accepts it), keyring, "
        "settings, token cache, API reachability and clock, kubectl, the kubeconfig contexts "
        "that use rgpu-exec and kuberc's plugin policy, then, for every such context (or the one "
        "named with --context), its key and the cluster's own answer: kubectl asks the server "
        "whether the context's token may list pods in its namespace (`kubectl auth can-i`, "
        "which runs rgpu-exec as any kubectl command does). Each problem is printed with its "
        "fix. Asks the API with one keyless exchange per API URL in use and one exchange for a "
        "namespace no account has (no token is issued); without kubectl, spends one exchange "
        "per context instead, and says the cluster was not asked. The key is never sent for a "
        "context kubectl would not run. Tokens are never shown.",
        epilog=support.epilog(
            "rgpu-exec doctor",
            "rgpu-exec doctor --problems-only",
            "rgpu-exec doctor --context rgpu-team-ml",
            "rgpu-exec doctor --profile ci --output json",
            exit_codes=_EXIT_CODES,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    support.add_kubeconfig(parser, "inspect")
    parser.add_argument(
        "--context",
        metavar="NAME",
        help="check this kubeconfig context only (default: every context that runs rgpu-exec)",
    )
    parser.add_argument(
        "--problems-only",
        action="store_true",
        help="show only the problems (and their fixes); the exit code is the same",
    )
    support.add_output(parser)
    support.add_api_url(parser)
    support.add_profile(parser, "keyring profile to look for a key under")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rgpu_exec.commands import render  # noqa: PLC0415
    from rgpu_exec.usecases.doctor.diagnose import DoctorRequest  # noqa: PLC0415
    from rgpu_exec.usecases.doctor.diagnose import run as diagnose  # noqa: PLC0415

    wanted = DoctorRequest(
        kubeconfig=args.kubeconfig, api_url=args.api_url, profile=args.profile, context=args.context
    )
    environ = os.environ
    result = diagnose(wanted, environ)
    findings = result.findings
    shown = [f for f in findings if f.status == "problem"] if args.problems_only else findings
    render.render(
        args.output,
        document=lambda: document(shown),
        table=lambda: render_text(shown, output.colour(environ)),
    )
    return int(result.exit_code)


_TONES: dict[Status, str] = {"ok": "green", "note": "yellow", "problem": "red"}


def render_text(findings: list[Finding], colour: bool) -> str:
    width = max((len(terminal.shown(f.topic)) for f in findings), default=0)
    lines = []
    for f in findings:
        status = f.status.upper() if f.status == "problem" else f.status
        label = terminal.paint(f"{status:<8}", _TONES[f.status], colour)
        topic, detail = terminal.shown(f.topic), terminal.shown(f.detail)
        lines.append(f"{label} {topic:<{width}}  {detail}")
        if f.fix:
            lines.append(f"{'':<8} {'':<{width}}  fix: {terminal.shown(f.fix)}")
    problems = _problem_count(findings)
    verdict = "no problems found" if not problems else f"{problems} problem(s) found"
    return "\n".join([*lines, *([""] if lines else []), f"rgpu-exec doctor: {verdict}.", ""])


def document(findings: list[Finding]) -> dict[str, object]:
    """`{"ok", "findings": [{"topic", "status", "detail", "fix"}]}`, as `--output json` says."""
    # What people are told, as documented; `kind` and `about` are the doctor's own.
    shown = [_document(f) for f in findings]
    return {"ok": not _problem_count(findings), "findings": shown}


def _document(finding: Finding) -> dict[str, str | None]:
    return {
        "topic": finding.topic,
        "status": finding.status,
        "detail": finding.detail,
        "fix": finding.fix,
    }


def _problem_count(findings: list[Finding]) -> int:
    from rgpu_exec.usecases.doctor.findings import problem_count  # noqa: PLC0415

    return problem_count(findings)
