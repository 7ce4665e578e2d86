"""`rgpu-exec cache list` / `rgpu-exec cache clear`: flags in, `usecases.cache_admin` does the
work, `commands.render` prints a table, JSON or YAML (never a token)."""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from rgpu_exec import output, terminal
from rgpu_exec.commands import support, usage
from rgpu_exec.errors import ExitCode
from rgpu_exec.hotpath import settings
from rgpu_exec.hotpath.request import namespace_label

_EXIT_CODES = """\
  0  done
  2  bad flags, (list) a --context that does not run rgpu-exec or an unreadable
     --kubeconfig, or (clear) the cache directory is not a directory
"""
_STATES = """states:
  fresh        served as is
  refresh due  the next use exchanges a new token (this one is the fallback if that fails)
  expired      no longer served
  invalid      unreadable, and ignored
  failing      an exchange failed moments ago: kubectl's reruns get that failure again (or,
               after a network failure, the still-valid token) without asking the API
"""


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
        help="list cached tokens (never a token)",
        description="List the cached tokens: namespace, API URL, whose key obtained it, and its "
        "state. A key is shown by its prefix when rgpu-exec can tell which it was (a keyring "
        f"profile's, or the {settings.ENV_API_KEY} set now); another key from the environment "
        "or a prompt by the start of its fingerprint (an HMAC with a secret of yours, so it "
        f"names no key by itself: set that key in {settings.ENV_API_KEY} and list again to see "
        "it by its prefix). Never a token.",
        epilog=_STATES
        + "\n"
        + support.epilog(
            "rgpu-exec cache list", "rgpu-exec cache list --output json", exit_codes=_EXIT_CODES
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    support.add_output(listing)
    support.add_kubeconfig(listing)
    listing.add_argument(
        "--context", metavar="NAME", help="only the tokens of this context's namespace"
    )
    listing.set_defaults(func=_run_list)
    clear = commands.add_parser(
        "clear",
        help="remove cached tokens: all, or a namespace's or profile's",
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
    parser.set_defaults(func=lambda _args: usage.name_a_command(parser))


def _state(row: dict[str, Any]) -> str:
    state = str(row["state"]).replace("-", " ")
    left = row.get("expires_in_seconds")
    if state in ("fresh", "refresh due") and left is not None:
        return f"{state}, {terminal.duration(max(int(left), 0))} left"
    return state


def _failing(row: dict[str, Any]) -> str:
    left = terminal.duration(max(int(row["expires_in_seconds"]), 0))
    return f"failing (exit {row['exit_code']}, replayed {left} more)"


def render_table(
    directory: str, rows: list[dict[str, Any]], owners: dict[str, str], names: dict[str, str]
) -> str:
    if not rows:
        return f"No cached tokens in {terminal.shown(directory)}.\n"
    by_stem: dict[str, list[str]] = {}
    order: list[str] = []
    for r in rows:
        stem = str(r["file"]).rsplit(".", 1)[0]
        if stem not in by_stem:
            namespace = r.get("namespace_id")
            label = namespace_label(names.get(namespace), namespace) if namespace else "?"
            if "namespace_id" not in r and r["state"] != "failed":
                label = r["file"]
            owner = owners.get(str(r.get("identity_kind")) + ":" + str(r.get("identity")), "?")
            by_stem[stem] = [label, r.get("api_url", "-"), owner, ""]
            order.append(stem)
        state = _failing(r) if r["state"] == "failed" else _state(r)
        cells = by_stem[stem]
        cells[3] = f"{cells[3]}; {state}" if cells[3] else state
    header = ["NAMESPACE", "API URL", "KEY", "STATE"]
    table = terminal.table([by_stem[stem] for stem in order], header)
    lines = ["  ".join(row).rstrip() for row in table]
    failures = [
        "  "
        + terminal.shown(
            (
                f"{namespace_label(names.get(r['namespace_id']), r['namespace_id'])}: "
                if "namespace_id" in r
                else ""
            )
            + f"exit {r['exit_code']}: {r['message']}"
        )
        for r in rows
        if r["state"] == "failed"
    ]
    if failures:
        lines += ["", "Recorded failures (`rgpu-exec cache clear` forgets them):", *failures]
    return f"Cache directory: {terminal.shown(directory)}\n\n" + "\n".join(lines) + "\n"


def _run_list(args: argparse.Namespace) -> int:
    from rgpu_exec.commands import render  # noqa: PLC0415
    from rgpu_exec.usecases.cache_admin import CacheListRequest, run_list  # noqa: PLC0415

    environ = os.environ
    wanted = CacheListRequest(
        kubeconfig=args.kubeconfig, context=args.context, name_owners=args.output == "table"
    )
    found = run_list(wanted, environ, time.time())
    directory, problem, rows = found.directory, found.problem, found.rows
    if args.output != "table" or problem is None or rows:
        render.render(
            args.output,
            document=lambda: {"cache_dir": directory, "problem": problem, "entries": rows},
            table=lambda: render_table(directory, rows, found.owners, found.names),
        )
    if problem:
        output.tell(
            terminal.shown(
                f"rgpu-exec: warning: the cache directory {directory} {problem}, so rgpu-exec "
                f"caches no tokens: every kubectl command exchanges a new one. To fix: "
                f"{found.fix}."
            )
            + "\n"
        )
    return ExitCode.OK


def _run_clear(args: argparse.Namespace) -> int:
    from rgpu_exec.usecases.cache_admin import CacheClearRequest, run_clear  # noqa: PLC0415

    environ = os.environ
    namespace_id = support.namespace_id(args.namespace_id) if args.namespace_id else None
    profile = support.profile(args.profile, environ).value if args.profile else None
    done = run_clear(CacheClearRequest(namespace_id, profile), environ)
    removed = done.removed
    output.write(
        terminal.shown(
            f"rgpu-exec: removed {removed} cached token{'s' if removed != 1 else ''} from "
            f"{done.directory}."
        )
        + "\n"
    )
    return ExitCode.OK
