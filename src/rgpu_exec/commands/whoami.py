"""`rgpu-exec whoami`: which API key would be used now (`usecases.whoami`), never the key.

Flags in, `usecases.whoami.run` decides (the exit code too), `commands.render` prints."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from rgpu_exec import terminal
from rgpu_exec.commands import support
from rgpu_exec.errors import ExitCode
from rgpu_exec.hotpath import settings
from rgpu_exec.redact import key_prefix

if TYPE_CHECKING:
    from rgpu_exec.kubeconfig.listing import ManagedContext
    from rgpu_exec.usecases.whoami import WhoamiResult

_EXIT_CODES = f"""\
  {ExitCode.OK}  a key would be used (shown by its prefix)
  {ExitCode.USAGE}  bad flags or kubeconfig, or the key in {settings.ENV_API_KEY} is malformed
  {ExitCode.API_KEY}  no key would be found, or the API rejects it (revoked, expired, unknown)
"""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "whoami",
        help="show which API key would be used now, and from where (never the key itself)",
        description="Show which API key `rgpu-exec token` would use now: its prefix, where it "
        "comes from (REMOTEGPU_API_KEY, a keyring profile, or the key file of `login "
        "--insecure-storage`) and the profile, for a kubeconfig "
        "context (--context, else the current context when it runs rgpu-exec) or a profile "
        "(--profile), and whether the API accepts it: one exchange for a namespace no account "
        "has, which issues no token (--offline: not asked). Also lists the profiles stored in "
        "the keyring, when its backend can list them. `rgpu-exec check` says which namespaces "
        "the key may use.",
        epilog=support.epilog(
            "rgpu-exec whoami",
            "rgpu-exec whoami --context rgpu-team-ml",
            "rgpu-exec whoami --profile ci -o json",
            exit_codes=_EXIT_CODES,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--context", metavar="NAME", help="the key this kubeconfig context would use"
    )
    support.add_profile(
        which, "the key this keyring profile holds, even if $REMOTEGPU_API_KEY is set"
    )
    support.add_kubeconfig(parser)
    parser.add_argument(
        "--offline", action="store_true", help="do not ask the API whether it accepts the key"
    )
    support.add_output(parser)
    parser.set_defaults(func=run)


def document(found: WhoamiResult) -> dict[str, Any]:
    context = found.context
    return {
        "key": None
        if found.key is None
        else {
            "prefix": key_prefix(found.key.value).rstrip("…"),
            "source": found.key.source,
            "profile": found.key.profile,
        },
        "problem": found.problem.message if found.problem else None,
        "valid": found.verdict.state if found.verdict else None,
        "verdict": found.verdict.detail if found.verdict else None,
        "profile": found.profile,
        "profile_source": found.profile_source,
        "context": context.name if context else None,
        "namespace": context.namespace if context else None,
        # The namespace its exec stanza gets tokens for: the ID's (`namespace` may be switched).
        "token_namespace": context.token_namespace if context else None,
        "namespace_id": context.namespace_id if context else None,
        "api_url": found.api_url,
        "keyring": {
            "backend": found.keyring_backend,
            "usable": found.keyring_problem is None,
            "problem": found.keyring_problem,
            "profiles": found.keyring_profiles,
        },
        "key_file": None
        if found.key_file is None
        else {
            "path": found.key_file.path,
            "profiles": found.key_file.profiles,
            "problem": found.key_file.problem,
        },
    }


def _context_row(context: ManagedContext) -> str:
    """The context, and the namespace its token is for (the ID's): a namespace switched away
    from it (kubens) is said as such, never next to the other namespace's ID."""
    where = " (the current context)" if context.current else ""
    return f"{context.name}{where}, tokens for namespace {context.label}"


def render_table(found: WhoamiResult) -> str:
    rows = []
    if found.key is not None:
        rows.append(("key", f"{key_prefix(found.key.value)} {found.key.origin}"))
        if found.verdict is None:
            rows.append(("valid", "not asked (--offline)"))
        else:
            # The row is named "valid": its answer, not the word again ("valid: valid: …").
            shown = {"rejected": "REJECTED", "valid": "yes"}.get(
                found.verdict.state, found.verdict.state
            )
            rows.append(("valid", f"{shown}: {found.verdict.detail}"))
    else:
        rows.append(("key", "none" if found.problem is None else f"none: {found.problem.message}"))
    rows.append(("profile", f"{found.profile} ({found.profile_source})"))
    if found.context is not None:
        rows.append(("context", _context_row(found.context)))
        if found.context.mismatch:
            rows.append(("warning", f"context {found.context.name!r}: {found.context.mismatch}"))
    if found.api_url:
        rows.append(("API URL", found.api_url))
    profiles = found.keyring_profiles
    listed = (
        f"profiles {', '.join(repr(p) for p in profiles)}"
        if profiles
        else "no profile holds a key"
        if profiles is not None
        else "cannot list its profiles (this backend has no listing; `rgpu-exec whoami "
        "--profile` with a profile's name checks one)"
    )
    if not found.keyring_holds_keys:  # no keyring at all: say so, not "cannot list"
        rows.append(("keyring", f"none usable: {found.keyring_problem}"))
    elif found.keyring_problem is not None:  # a plaintext one: read and deleted, not written
        used = f"{found.keyring_backend}: {listed}; keys there are used, but `rgpu-exec login`"
        rows.append(("keyring", f"{used} stores no new one: {found.keyring_problem}"))
    else:
        rows.append(("keyring", f"{found.keyring_backend}: {listed}"))
    key_file = found.key_file
    if key_file is not None and (key_file.profiles or key_file.problem):
        held = ", ".join(repr(p) for p in key_file.profiles)
        state = f"refused: {key_file.problem}" if key_file.problem else f"profiles {held}"
        rows.append(("key file", f"{key_file.path}: {state}"))
    width = max(len(name) for name, _ in rows)
    return "".join(f"{name:<{width}}  {terminal.shown(value)}\n" for name, value in rows)


def run(args: argparse.Namespace) -> int:
    from rgpu_exec.commands import render  # noqa: PLC0415
    from rgpu_exec.usecases.whoami import WhoamiRequest  # noqa: PLC0415
    from rgpu_exec.usecases.whoami import run as whoami  # noqa: PLC0415

    request = WhoamiRequest(
        profile=args.profile,
        context=args.context,
        kubeconfig=args.kubeconfig,
        ask_api=not args.offline,
    )
    found = whoami(request, os.environ)
    render.render(args.output, document=lambda: document(found), table=lambda: render_table(found))
    return int(found.exit_code)
