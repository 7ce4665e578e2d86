"""`rgpu-exec token`: what the kubeconfig exec stanza runs (see `usecases.token`).

Its flags are `hotpath.request.TOKEN_FLAGS`, the table the cache-hit path parses too.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from rgpu_exec import output
from rgpu_exec.errors import ExitCode, exit_codes_help
from rgpu_exec.hotpath import request, settings

_HELP = {
    "namespace_id": "the namespace's UUID",
    "namespace_name": "the namespace's name, shown in messages (the ID decides)",
    "api_url": f"RemoteGPU API base URL (default: ${settings.ENV_API_URL} or "
    f"{settings.DEFAULT_API_URL})",
    "profile": f"keyring profile holding the key (default: ${settings.ENV_PROFILE} or "
    f"{settings.DEFAULT_PROFILE!r})",
}

# Every code but doctor's: token never gives it.
_EXIT_CODES = exit_codes_help(*(code for code in ExitCode if code != ExitCode.PROBLEMS_FOUND))


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "token",
        help="print an ExecCredential for kubectl (what the kubeconfig exec stanza runs)",
        description="Print an ExecCredential for kubectl: from the cache when it holds a fresh "
        "token, else by exchanging the API key for a namespace token.",
        epilog=f"example:\n  rgpu-exec token --namespace-id {request.EXAMPLE_NAMESPACE_ID}\n\n"
        + _EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for flag, name in request.TOKEN_FLAGS.items():
        parser.add_argument(flag, dest=name, required=name == "namespace_id", help=_HELP[name])
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rgpu_exec.usecases.token import TokenRequest  # noqa: PLC0415
    from rgpu_exec.usecases.token import run as token  # noqa: PLC0415

    flags = TokenRequest(
        args.namespace_id,
        api_url=args.api_url,
        profile=args.profile,
        namespace_name=args.namespace_name,
    )
    result = token(flags, os.environ)
    output.credential(result.exec_credential)  # the gate's one exception: for kubectl only
    return int(result.exit_code)
