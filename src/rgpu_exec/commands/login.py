"""`rgpu-exec login` / `rgpu-exec logout`: flags in, `credentials.login` does the work."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from rgpu_exec.commands import support
from rgpu_exec.credentials.login import login, logout, read_key
from rgpu_exec.errors import ExitCode

_EXIT_CODES = """\
  0  done
  2  bad input, or no usable OS keyring (set REMOTEGPU_API_KEY instead)
"""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    login = subparsers.add_parser(
        "login",
        help="store an API key in the OS keyring for a profile",
        description="Store a RemoteGPU API key in the OS keyring (service 'rgpu-exec', user = the "
        "profile), so kubectl needs no key in its environment. Reads the key from stdin when it "
        "is not a terminal, else prompts without echo. Removes the profile's cached tokens.",
        epilog=support.epilog(
            "rgpu-exec login",
            "pass show remotegpu/ci | rgpu-exec login --profile ci",
            exit_codes=_EXIT_CODES,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    support.add_profile(login, "profile to store the key under")
    login.set_defaults(func=_run_login)
    logout = subparsers.add_parser(
        "logout",
        help="delete a profile's API key from the OS keyring",
        description="Delete the profile's API key from the OS keyring and remove its cached "
        "tokens. Logging out of a profile that holds no key is not an error.",
        epilog=support.epilog("rgpu-exec logout --profile ci", exit_codes=_EXIT_CODES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    support.add_profile(logout, "profile whose key to delete")
    logout.set_defaults(func=_run_logout)


def _run_login(args: argparse.Namespace) -> int:
    environ = os.environ
    profile = support.profile(args.profile, environ)
    key = read_key(
        profile,
        stdin_is_tty=sys.stdin is not None and sys.stdin.isatty(),
        read_stdin=sys.stdin.read,
        prompt=getpass.getpass,
    )
    login(profile, key, environ, out=print, warn=lambda msg: print(msg, file=sys.stderr))
    return ExitCode.OK


def _run_logout(args: argparse.Namespace) -> int:
    environ = os.environ
    logout(support.profile(args.profile, environ), environ, out=print)
    return ExitCode.OK
