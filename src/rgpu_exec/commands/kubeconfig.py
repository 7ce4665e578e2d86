"""`rgpu-exec kubeconfig generate | import | list | remove`: the parsers.

The writing commands run in `kubeconfig_write`, `list` in `kubeconfig_list`. Imports stay light
at module level (the CLI imports this to build its parser); YAML, HTTP and the rest load inside
the command functions.
"""

from __future__ import annotations

import argparse
from typing import Any

from rgpu_exec.commands import kubeconfig_list, kubeconfig_write, support, usage
from rgpu_exec.errors import ExitCode
from rgpu_exec.hotpath import settings
from rgpu_exec.kubeconfig import entries

_VERIFY_EXIT_CODES = f"""\
  {ExitCode.API_KEY}  verification: no API key, or the API rejected it
  {ExitCode.NAMESPACE_ACCESS}  verification: the key may not use that namespace, or there is no such
     namespace
  {ExitCode.API}  verification: the RemoteGPU API is unreachable or answered nonsense
"""
_EXIT_CODES_MERGE = (
    f"""\
  {ExitCode.OK}  done (or nothing to change)
  {ExitCode.USAGE}  bad flags or input, a malformed or read-only kubeconfig, a lock still held,
     an entry of that name rgpu-exec did not write (without --force), an API URL that is a
     Kubernetes server, or a cluster whose certificate is not trusted (without --no-verify)
"""
    + _VERIFY_EXIT_CODES
)
_EXIT_CODES_REMOVE = f"""\
  {ExitCode.OK}  removed (or, with --ignore-not-found, there was no such context)
  {ExitCode.USAGE}  bad flags, no such context, a malformed or read-only kubeconfig, a lock still
     held, or a context whose user does not run rgpu-exec (without --force)
"""
_EXIT_CODES_LIST = f"""\
  {ExitCode.OK}  listed (maybe nothing)
  {ExitCode.USAGE}  a malformed kubeconfig, or a --kubeconfig that does not exist
"""
_EXIT_CODES = f"""\
  {ExitCode.OK}  done (or nothing to change)
  {ExitCode.USAGE}  bad flags or input, a malformed or read-only kubeconfig, a lock still held;
     remove: no such context, or one rgpu-exec did not write (without --force)
""" + _VERIFY_EXIT_CODES.replace("verification:", "generate/import verification:")
_FILES = """files: like kubectl, --kubeconfig, else the KUBECONFIG list (an entry that exists is
updated in the file holding it, new ones go to the first existing file), else ~/.kube/config
(created 0600). Writes take kubectl's <file>.lock, go through a temp file and a rename (a
symlinked kubeconfig is written through to its target), keep the file's mode, and first save
the previous content as <file>.rgpu-exec.bak.
"""
_READ_FILES = """files: like kubectl, --kubeconfig, else every file of the KUBECONFIG list, else
~/.kube/config. Reads only: takes no lock, writes no file and no backup.
"""
_MERGE_NOTE = (
    "current-context is set to the new context when no file sets one (a plain `kubectl get "
    "pods` then works), else it changes only with --set-current-context; the same command run "
    "twice changes nothing the second time. A user, cluster or context of the same name that "
    "rgpu-exec did not write is refused (nothing is written, a dry run included) unless "
    "--force. Before writing, the API is asked whether the key may get a token for the "
    "namespace, and the cluster whether it accepts that token; a cluster whose certificate is "
    "not trusted with the CA it will have fails the command (exit 2, nothing written): give "
    "its CA, or opt out with --no-verify. Several files imported at once leave one backup: "
    "each file as it was before the command.\n"
)
_REMOVE_NOTE = """current-context is cleared if it named a removed context. Only a context whose
user runs rgpu-exec is removed, unless --force; a context that is in no file is an error unless
--ignore-not-found.
"""
_UUID = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    top = subparsers.add_parser(
        "kubeconfig",
        help="generate, import, list or remove RemoteGPU namespace contexts in your kubeconfig",
        description="Write per-namespace kubeconfig entries that use rgpu-exec, merged safely; "
        "list and remove them.",
        epilog=support.epilog(
            f"rgpu-exec kubeconfig generate --namespace team-ml --namespace-id {_UUID} "
            "--server https://k8s.remotegpu.ai",
            "rgpu-exec kubeconfig import remotegpu-team-ml-kubeconfig.yaml --dry-run",
            "rgpu-exec kubeconfig list",
            "rgpu-exec kubeconfig remove rgpu-team-ml",
            exit_codes=_EXIT_CODES,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(title="commands", metavar="COMMAND", parser_class=type(top))
    top.set_defaults(func=lambda _args: usage.name_a_command(top))
    _add_generate(commands)
    _add_import(commands)
    _add_list(commands)
    _add_remove(commands)


def _parser(
    commands: argparse._SubParsersAction[Any],
    name: str,
    summary: str,
    *examples: str,
    note: str = _MERGE_NOTE,
    exit_codes: str = _EXIT_CODES_MERGE,
    files: str = _FILES,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}.\n\n{files}{note}",
        epilog=support.epilog(*examples, exit_codes=exit_codes),
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
        "--set-current-context",
        action="store_true",
        help="also make it kubectl's default (done anyway when the kubeconfig has none)",
    )
    parser.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="write without asking anyone: neither the API whether the key may get a credential "
        "for the namespace, nor the cluster whether its certificate is trusted (the output "
        "says it was not verified)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace a user, cluster or context of that name that rgpu-exec did not write (a "
        "client certificate, a static token, a cluster at another server); refused without it",
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


def _add_ca(parser: argparse.ArgumentParser, instead: str) -> None:
    """--certificate-authority FILE | --certificate-authority-data B64: one definition for
    generate and import (read by `entries.ca_data_from_flags`)."""
    ca = parser.add_mutually_exclusive_group()
    ca.add_argument(
        "--certificate-authority",
        metavar="FILE",
        help=f"PEM file of the server's CA{instead} (without a CA, kubectl trusts only the "
        "system's CAs, and a server whose certificate is not trusted fails the command)",
    )
    ca.add_argument("--certificate-authority-data", metavar="B64", help="base64 of that PEM")


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
    _add_ca(parser, "")
    support.add_api_url(parser)
    _add_merge_options(parser)
    parser.set_defaults(func=kubeconfig_write.run_generate)


def _add_import(commands: argparse._SubParsersAction[Any]) -> None:
    parser = _parser(
        commands,
        "import",
        "add the namespace of a kubeconfig downloaded from the RemoteGPU console",
        "rgpu-exec kubeconfig import ~/Downloads/remotegpu-team-ml-kubeconfig.yaml --replace",
        "rgpu-exec kubeconfig import ~/Downloads/remotegpu-*-kubeconfig.yaml",
        'curl -fsS -H "Authorization: Bearer $SESSION" \\\n'
        "      https://api.remotegpu.ai/v1/kubernetes/namespaces/$NS_ID/kubeconfig \\\n"
        "      | rgpu-exec kubeconfig import - --set-current-context",
    )
    parser.add_argument(
        "files",
        nargs="*",  # none: a usage error that says where the file comes from, and about -
        metavar="FILE",
        help="the console's kubeconfig, or the console API's JSON answer that holds it; - for "
        "stdin; several files import several namespaces, one context each",
    )
    parser.add_argument(
        "--api-url",
        help=f"the RemoteGPU API the file must name (default: ${settings.ENV_API_URL} or "
        f"{settings.DEFAULT_API_URL}); your key is sent only to an API URL you chose, never to "
        "one a file names",
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="also remove the console's own context for this namespace (the one that runs curl "
        "on every kubectl command), with its user and cluster; current-context follows",
    )
    _add_ca(parser, ", instead of the file's own certificate-authority-data")
    _add_merge_options(parser)
    parser.set_defaults(func=kubeconfig_write.run_import)


def _add_list(commands: argparse._SubParsersAction[Any]) -> None:
    parser = _parser(
        commands,
        "list",
        "list the contexts that use rgpu-exec",
        "rgpu-exec kubeconfig list",
        "rgpu-exec kubeconfig list -o json",
        note="Shows each context's namespace (name and ID), the profile and API URL its exec "
        "args pass to `rgpu-exec token` ('(default)': $RGPU_EXEC_PROFILE / $REMOTEGPU_API_URL or "
        "the built-in default), its command, and which is current.\n",
        exit_codes=_EXIT_CODES_LIST,
        files=_READ_FILES,
    )
    support.add_kubeconfig(parser)
    parser.add_argument("--context", metavar="NAME", help="show this context only")
    support.add_output(parser)
    parser.set_defaults(func=kubeconfig_list.run)


def _add_remove(commands: argparse._SubParsersAction[Any]) -> None:
    parser = _parser(
        commands,
        "remove",
        "remove contexts, and their user and cluster when nothing else uses them",
        "rgpu-exec kubeconfig remove rgpu-team-ml --dry-run",
        "rgpu-exec kubeconfig remove --all",
        note=_REMOVE_NOTE,
        exit_codes=_EXIT_CODES_REMOVE,
    )
    parser.add_argument(
        "names", nargs="*", metavar="CONTEXT", help="a context to remove (as kubectl names it)"
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="remove every context rgpu-exec manages, and the users that run rgpu-exec which no "
        "context uses any more (left by `kubectl config delete-context`), with their clusters; "
        "nothing else",
    )
    parser.add_argument(
        "--ignore-not-found",
        action="store_true",
        help="a context that is in no file is no error",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="remove it even if its user does not run rgpu-exec (a context rgpu-exec did not "
        "write)",
    )
    _add_target(parser)
    parser.set_defaults(func=kubeconfig_write.run_remove)
