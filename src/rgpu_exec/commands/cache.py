"""`rgpu-exec cache list` / `rgpu-exec cache clear`: flags in, `token.cache_admin` does the
work, a table or JSON out (never a token)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from rgpu_exec import terminal
from rgpu_exec.commands import support
from rgpu_exec.errors import ExitCode, UsageError
from rgpu_exec.hotpath import settings, token_cache
from rgpu_exec.token import cache_dir
from rgpu_exec.token.cache_admin import clear, describe

_EXIT_CODES = """\
  0  done
  2  bad flags, or (clear) the cache directory is not a directory
"""
_FINGERPRINT_SHOWN = 8  # hex digits of the key's SHA-256, as `sha256sum` prints them
_STATES = (
    "fresh: served as is; refresh-due: the next use exchanges a new one (the cached token is the "
    "fallback if that fails); expired; invalid: unreadable, and ignored; failed: an exchange "
    "failed moments ago, and kubectl's reruns get that failure again (or, after a network "
    "failure, the still-valid cached token) without asking the API until EXPIRES IN runs out"
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "cache",
        help="list or clear cached namespace tokens",
        description="List or clear the namespace tokens rgpu-exec keeps between kubectl runs.",
        epilog=support.epilog(
            "rgpu-exec cache list", "rgpu-exec cache clear --profile ci", exit_codes=_EXIT_CODES
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    listing = commands.add_parser(
        "list",
        help="list cached tokens (never the tokens themselves)",
        description="List the cached tokens: API URL, namespace ID, whose key (a keyring profile, "
        f"or a key from {settings.ENV_API_KEY} or a prompt, shown by the start of its SHA-256: "
        f'compare `printf %s "${settings.ENV_API_KEY}" | sha256sum`), when each expires, and its '
        f"state ({_STATES}).",
        epilog=support.epilog(
            "rgpu-exec cache list", "rgpu-exec cache list --output json", exit_codes=_EXIT_CODES
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    support.add_output(listing, '{"cache_dir", "problem", "entries": [...]}')
    listing.set_defaults(func=_run_list)
    clear = commands.add_parser(
        "clear",
        help="remove cached tokens: all, or those of a namespace and/or profile",
        description="Remove cached tokens. With no option, everything in the cache directory "
        "(tokens, locks and recorded failures). With --namespace-id and/or --profile, only the "
        "tokens matching all the given options (and every recorded failure).",
        epilog=support.epilog(
            "rgpu-exec cache clear",
            "rgpu-exec cache clear --namespace-id 6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f",
            exit_codes=_EXIT_CODES,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    clear.add_argument(
        "--namespace-id",
        metavar="ID",
        help="only tokens for this namespace (whoever's key obtained them)",
    )
    clear.add_argument("--profile", help="only tokens obtained with this keyring profile's key")
    clear.set_defaults(func=_run_clear)
    parser.set_defaults(func=lambda _args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return ExitCode.USAGE


def _who(row: dict[str, Any], current_key: str | None) -> str:
    if row.get("identity_kind") == "profile":
        return f"keyring profile {row['identity']}"
    if "identity" in row:  # `key-sha256:<hex>`: a fingerprint, not the key
        fingerprint = str(row["identity"]).partition(":")[2]
        shown = fingerprint[:_FINGERPRINT_SHOWN] + "…"
        if row["identity"] == current_key:
            shown += ", the one set now"
        return f"key from {settings.ENV_API_KEY} (sha256 {shown})"
    return "?"


def _in(seconds: int) -> str:
    if seconds <= 0:
        return "expired"
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def render_table(directory: str, rows: list[dict[str, Any]], current_key: str | None = None) -> str:
    if not rows:
        return f"No cached tokens in {directory}.\n"
    cells = [
        [
            r.get("namespace_id", "?" if r["state"] == "failed" else r["file"]),
            r.get("api_url", "-"),
            _who(r, current_key),
            _in(r["expires_in_seconds"]) if "expires_in_seconds" in r else "-",
            r["state"],
        ]
        for r in rows
    ]
    header = ["NAMESPACE", "API URL", "KEY", "EXPIRES IN", "STATE"]
    lines = ["  ".join(row).rstrip() for row in terminal.table(cells, header)]
    failures = [
        "  "
        + (f"{r['namespace_id']}: " if "namespace_id" in r else "")
        + f"exit {r['exit_code']}: {r['message']}"
        for r in rows
        if r["state"] == "failed"
    ]
    if failures:
        lines += ["", "Recorded failures (`rgpu-exec cache clear` forgets them):", *failures]
    return f"Cache directory: {directory}\n\n" + "\n".join(lines) + "\n"


def _run_list(args: argparse.Namespace) -> int:
    environ = os.environ
    directory = cache_dir.cache_directory(environ)
    problem = token_cache.directory_problem(directory)
    rows = describe(directory, time.time())
    if args.output == "json":
        document = {"cache_dir": directory, "problem": problem, "entries": rows}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    elif problem is None or rows:
        env_key = settings.api_key(environ)
        current = token_cache.key_identity(env_key) if env_key else None
        sys.stdout.write(render_table(directory, rows, current))
    if problem:
        print(
            f"rgpu-exec: warning: the cache directory {directory} {problem}, so rgpu-exec caches "
            "no tokens: every kubectl command exchanges a new one. To fix: "
            f"{cache_dir.cache_directory_fix(directory)}.",
            file=sys.stderr,
        )
    return ExitCode.OK


def _run_clear(args: argparse.Namespace) -> int:
    environ = os.environ
    namespace_id = support.namespace_id(args.namespace_id) if args.namespace_id else None
    profile = support.profile(args.profile, environ) if args.profile else None
    directory = cache_dir.cache_directory(environ)
    problem = token_cache.directory_problem(directory)
    if problem:
        # Not a directory of ours: nothing in it is a token rgpu-exec cached (it uses none of
        # it), and what is there may well be someone else's.
        raise UsageError(
            f"the cache directory {directory} {problem}, so rgpu-exec neither caches tokens "
            f"there nor clears it; nothing was removed. To fix: "
            f"{cache_dir.cache_directory_fix(directory)}."
        )
    removed = clear(directory, namespace_id, profile)
    print(
        f"rgpu-exec: removed {removed} cached token{'s' if removed != 1 else ''} from {directory}."
    )
    return ExitCode.OK
