"""`rgpu-exec login` / `rgpu-exec logout`: flags in, `usecases.login` does the work."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from rgpu_exec import output
from rgpu_exec.commands import support
from rgpu_exec.errors import ExitCode

if TYPE_CHECKING:
    from rgpu_exec.usecases.login import LoginResult

_UUID = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"
_EXIT_CODES = f"""\
  {ExitCode.OK}  done
  {ExitCode.USAGE}  bad input, no usable OS keyring (--insecure-storage, or set
     REMOTEGPU_API_KEY instead), or a key file others can read
"""
_LOGIN_EXIT_CODES = (
    _EXIT_CODES
    + f"""  {ExitCode.API_KEY}  verification: the API rejected the key (nothing stored)
  {ExitCode.NAMESPACE_ACCESS}  verification: the key may not use the namespace, or it does not exist
  {ExitCode.API}  verification: the RemoteGPU API is unreachable or answered nonsense
"""
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    login = subparsers.add_parser(
        "login",
        help="store an API key in the OS keyring (or, opted in, a private file) for a profile",
        description="Store a RemoteGPU API key in the OS keyring (service 'rgpu-exec', user = the "
        "profile), so kubectl needs no key in its environment. On a machine without a keyring "
        "(a headless server), --insecure-storage keeps it in plain text in a file only you can "
        "read (0600, in the user config directory); `rgpu-exec token` looks in the environment, "
        "then the keyring, then that file. Reads the key from stdin when it "
        "is not a terminal, else prompts without echo. First verifies it with one exchange for "
        "a namespace it should reach: --namespace-id, --context, or the current kubeconfig "
        "context when it runs rgpu-exec with this profile; a key the API rejects is not stored. "
        "Without any such namespace, the key is stored unverified, and the output says so. "
        "Removes the profile's cached tokens.",
        epilog=support.epilog(
            f"rgpu-exec login --namespace-id {_UUID}",
            "pass show remotegpu/ci | rgpu-exec login --profile ci --context rgpu-team-ml",
            "rgpu-exec login --insecure-storage      (a server without a keyring)",
            exit_codes=_LOGIN_EXIT_CODES,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    support.add_profile(login, "profile to store the key under")
    login.add_argument(
        "--namespace-id", metavar="ID", help="verify the key with a namespace it should reach"
    )
    login.add_argument(
        "--context",
        metavar="NAME",
        help="verify it with this kubeconfig context's namespace (default: the current context, "
        "when it runs rgpu-exec with this profile)",
    )
    support.add_kubeconfig(login)
    support.add_api_url(login)
    login.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="store the key without checking it with the API",
    )
    login.add_argument(
        "--insecure-storage",
        action="store_true",
        help="store the key in plain text in a file only you can read (0600, under the user "
        "config directory), not in the OS keyring: for machines without one",
    )
    login.set_defaults(func=_run_login)
    logout = subparsers.add_parser(
        "logout",
        help="delete a profile's API key from the OS keyring and the key file",
        description="Delete the profile's API key from the OS keyring and from the key file of "
        "`login --insecure-storage`, and remove its cached tokens. Logging out of a profile that "
        "holds no key is not an error.",
        epilog=support.epilog("rgpu-exec logout --profile ci", exit_codes=_EXIT_CODES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    support.add_profile(logout, "profile whose key to delete")
    logout.set_defaults(func=_run_logout)


def _run_login(args: argparse.Namespace) -> int:
    from rgpu_exec.usecases import login  # noqa: PLC0415

    environ = os.environ
    profile = support.profile(args.profile, environ).value
    named = args.namespace_id if args.verify else None  # only a verification uses them
    request = login.LoginRequest(
        profile,
        verify=args.verify,
        namespace_id=support.namespace_id(named) if named else None,
        api_url=support.api_url(args.api_url, environ) if args.api_url and args.verify else None,
        context=args.context,
        kubeconfig=args.kubeconfig,
        insecure_storage=args.insecure_storage,
    )
    keyboard = login.KeyInput(
        stdin_is_tty=sys.stdin is not None and sys.stdin.isatty(),
        read_stdin=sys.stdin.read,
        prompt=output.ask_hidden,
    )
    return _render(login.run(request, environ, keyboard))


def _run_logout(args: argparse.Namespace) -> int:
    from rgpu_exec.usecases import login  # noqa: PLC0415

    environ = os.environ
    request = login.LogoutRequest(support.profile(args.profile, environ).value)
    return _render(login.run_logout(request, environ))


def _render(done: LoginResult) -> int:
    for kind, text in done.said:
        (output.line if kind == "line" else output.say)(text)
    if done.error is not None:
        raise done.error
    return ExitCode.OK
