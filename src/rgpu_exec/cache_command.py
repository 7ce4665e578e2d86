"""`rgpu-exec cache list` / `rgpu-exec cache clear`: see and empty the token cache.

Never shows a token: an entry is described by its API URL, namespace, whose it is (a keyring
profile, or the start of the SHA-256 of a key from the environment), when it expires and its
state. A failure recorded moments ago (replayed to kubectl's reruns, see `token_cache.lookup`) is
listed too, with its message.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from rgpu_exec import command_support, settings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.token_cache import Entry

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
        epilog=command_support.epilog(
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
        epilog=command_support.epilog(
            "rgpu-exec cache list", "rgpu-exec cache list --output json", exit_codes=_EXIT_CODES
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command_support.add_output(listing, '{"cache_dir", "problem", "entries": [...]}')
    listing.set_defaults(func=_run_list)
    clear = commands.add_parser(
        "clear",
        help="remove cached tokens: all, or those of a namespace and/or profile",
        description="Remove cached tokens. With no option, everything in the cache directory "
        "(tokens, locks and recorded failures). With --namespace-id and/or --profile, only the "
        "tokens matching all the given options (and every recorded failure).",
        epilog=command_support.epilog(
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
    return 2


def state(entry: Entry | None, now: float) -> str:
    if entry is None:
        return "invalid"
    if entry.fresh(now):
        return "fresh"
    return "refresh-due" if entry.valid(now) else "expired"


def _identity(entry: Entry) -> dict[str, Any]:
    kind, _, who = entry.identity.partition(":")
    return {
        "api_url": entry.api_url,
        "namespace_id": entry.namespace_id,
        "identity_kind": "profile" if kind == "profile" else "env-key",
        "identity": who if kind == "profile" else entry.identity,
    }


def describe(directory: str, now: float) -> list[dict[str, Any]]:
    """Every token entry, then every failure still being replayed (never a token)."""
    from rgpu_exec import token_cache  # noqa: PLC0415
    from rgpu_exec.exec_credential import rfc3339  # noqa: PLC0415

    rows: list[dict[str, Any]] = []
    entries = token_cache.iter_entries(directory)
    for stem, entry in entries:
        row: dict[str, Any] = {"file": stem + token_cache.ENTRY_SUFFIX, "state": state(entry, now)}
        if entry is not None:
            row |= _identity(entry)
            row |= {
                "issued_at": rfc3339(entry.issued_at),
                "expires_at": rfc3339(entry.expires_at),
                "expires_in_seconds": round(entry.expires_at - now),
            }
        rows.append(row)
    known = {stem: entry for stem, entry in entries if entry is not None}
    for stem in token_cache.stems_in(directory):
        # A failure past its window is no longer replayed: harmless, and not listed.
        failure = token_cache.read_failure(directory, stem, now)
        if failure is None:
            continue
        row = {"file": stem + token_cache.FAILURE_SUFFIX, "state": "failed"}
        if stem in known:
            row |= _identity(known[stem])
        row |= {
            "replayed_until": rfc3339(failure.until),
            "expires_in_seconds": round(failure.until - now),
            "exit_code": failure.exit_code,
            "message": " ".join(failure.message.split()),
        }
        rows.append(row)
    return rows


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
    lines = ["  ".join(row).rstrip() for row in command_support.table(cells, header)]
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
    from rgpu_exec import token_cache  # noqa: PLC0415

    environ = os.environ
    directory = command_support.cache_directory(environ)
    problem = token_cache.directory_problem(directory)
    rows = describe(directory, time.time())
    if args.output == "json":
        import json  # noqa: PLC0415

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
            f"{command_support.cache_directory_fix(directory)}.",
            file=sys.stderr,
        )
    return 0


def clear(
    directory: str, namespace_id: str | None, profile: str | None, environ: Mapping[str, str]
) -> int:
    """Remove the matching entries (all files when no filter is given); how many tokens."""
    from rgpu_exec import token_cache  # noqa: PLC0415

    entries = token_cache.iter_entries(directory)
    if namespace_id is None and profile is None:
        tokens = len(entries)
        for stem in token_cache.stems_in(directory):
            for suffix in (token_cache.ENTRY_SUFFIX, token_cache.LOCK_SUFFIX):
                token_cache.remove(directory, stem, suffix)
        token_cache.purge(directory, [])
        return tokens
    identity = (
        token_cache.profile_identity(command_support.profile(profile, environ)) if profile else None
    )
    stems = [
        stem
        for stem, entry in entries
        if entry is not None
        and (namespace_id is None or entry.namespace_id == namespace_id)
        and (identity is None or entry.identity == identity)
    ]
    return token_cache.purge(directory, stems)


def _run_clear(args: argparse.Namespace) -> int:
    from pathlib import Path  # noqa: PLC0415

    from rgpu_exec.errors import UsageError  # noqa: PLC0415

    environ = os.environ
    namespace_id = command_support.namespace_id(args.namespace_id) if args.namespace_id else None
    directory = command_support.cache_directory(environ)
    if Path(directory).exists() and not Path(directory).is_dir():
        raise UsageError(
            f"the cache directory {directory} is not a directory, so there is no cached token "
            f"to clear (and none is cached). To fix: "
            f"{command_support.cache_directory_fix(directory)}."
        )
    removed = clear(directory, namespace_id, args.profile, environ)
    print(
        f"rgpu-exec: removed {removed} cached token{'s' if removed != 1 else ''} from {directory}."
    )
    return 0
