"""`rgpu-exec doctor`: diagnose why kubectl cannot get RemoteGPU credentials (see `doctor`)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from rgpu_exec import output
from rgpu_exec.commands import support
from rgpu_exec.errors import ExitCode
from rgpu_exec.usecases.doctor.diagnose import DoctorOptions, diagnose
from rgpu_exec.usecases.doctor.findings import problem_count
from rgpu_exec.usecases.doctor.render import render_json, render_text

_EXIT_CODES = f"""\
  {ExitCode.OK}  no problem found
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
    options = DoctorOptions(
        kubeconfig=args.kubeconfig, api_url=args.api_url, profile=args.profile, context=args.context
    )
    environ = os.environ
    findings = diagnose(options, environ)
    shown = [f for f in findings if f.status == "problem"] if args.problems_only else findings
    if args.output == "json":
        output.document(render_json(shown))
    else:
        output.write(render_text(shown, output.colour(environ)))
    return ExitCode.PROBLEMS_FOUND if problem_count(findings) else ExitCode.OK
