"""The cache-hit path of `rgpu-exec token`: kubectl runs it before every command.

It imports only the standard library, and only cheap parts of it (no `json`, `re`, `hashlib`,
`argparse`, `pathlib`, `typing`, `dataclasses`); a test runs it under `python -X importtime`.
It answers when it can be sure of the answer: a fresh cached token, or a failure recorded
seconds ago (failure damping, see `token_cache.lookup`). Everything else (a miss, an unusual
argument, malformed exec info, a stale token, a client asking again for a token the cluster
rejected: see `second_ask`) goes to the full command, which gives the same answers and all the
error messages: `main` returns None, and the launcher (`scripts/rgpu-exec`) runs `cli.main`.
"""

from __future__ import annotations

import os
import sys
import time

from rgpu_exec.hotpath import (
    entry_lock,
    exec_credential,
    private_files,
    request,
    second_ask,
    settings,
    token_cache,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


def token_options(argv: Sequence[str]) -> dict[str, str] | None:
    """The options of a plain `token --namespace-id …` command line, or None for anything else."""
    if not argv or argv[0] != "token":
        return None
    options = request.parse_token_flags(argv[1:])
    return options if options is not None and "namespace_id" in options else None


def serve(
    argv: Sequence[str], environ: Mapping[str, str], now: float
) -> tuple[int, str, str] | None:
    """(exit code, stdout, stderr) from the cache, or None to hand over to the full command."""
    options = token_options(argv)
    exec_info = exec_credential.recognise_exec_info(settings.exec_info(environ))
    if options is None or exec_info is None:
        return None
    wanted = request.resolve(
        options["namespace_id"],
        options.get("api_url"),
        options.get("profile"),
        environ,
        options.get("namespace_name"),
    )
    directory = settings.cache_dir(environ)
    if isinstance(wanted, str) or directory is None or private_files.directory_problem(directory):
        return None

    client = second_ask.client(environ)
    _, found = token_cache.lookup(directory, wanted.cache_key, now, wanted.exchange_settings)
    if isinstance(found, token_cache.Entry) and second_ask.asked_again(
        directory, found, client, now
    ):
        # The same client asks again for the fresh token it was given: the cluster rejected it.
        # The full command exchanges a new one (and decides again, under the entry's lock).
        return None
    answer = _answer(exec_info[0], found, now)
    if answer is not None:
        return answer
    # A miss: take the entry's lock now, before the full command's costly imports, so that a
    # herd of kubectl processes waits here for one exchange and then answers from the cache.
    stem = wanted.cache_key.stem
    private_files.ensure_directory(directory)
    lock_path = os.path.join(directory, stem + token_cache.LOCK_SUFFIX)
    give_up_at = time.monotonic() + wanted.deadline + entry_lock.WAIT_GRACE
    if not entry_lock.acquire(lock_path, stem, give_up_at):
        return None
    now = time.time()
    _, found = token_cache.lookup(directory, wanted.cache_key, now, wanted.exchange_settings)
    if isinstance(found, token_cache.Entry):
        # Written while this process waited: its client cannot hold it yet, whoever asked.
        second_ask.note(directory, found, client, now)
    answer = _answer(exec_info[0], found, now)
    if answer is not None:
        entry_lock.release(stem)
    return answer  # None: the full command exchanges, holding the lock


def _answer(
    api_version: str, found: token_cache.Entry | token_cache.Failure | None, now: float
) -> tuple[int, str, str] | None:
    if isinstance(found, token_cache.Entry):
        return 0, exec_credential.render(api_version, found.token, found.kubectl_expiry(now)), ""
    if isinstance(found, token_cache.Failure):
        return found.exit_code, "", found.replay(now)
    return None


def main(argv: Sequence[str] | None = None) -> int | None:
    """The exit code when the cache answered (its output written), else None: the caller (the
    `rgpu-exec` launcher) then runs the full command, `rgpu_exec.cli.main`, in this process, so
    an entry lock taken here stays held. This module never imports the CLI."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        answer = serve(args, os.environ, time.time())
    except Exception:
        # The fast path must never be worse than the full command: on any surprise, defer to it.
        answer = None
    if answer is not None:
        code, out, err = answer
        if settings.debug(os.environ):
            what = "a cached token" if code == 0 else "a failure recorded moments ago"
            err = f"rgpu-exec: DEBUG: rgpu_exec.hotpath.cache_hit: answered with {what}\n{err}"
        try:
            sys.stdout.write(out)
            sys.stdout.flush()
        except BrokenPipeError:
            return exec_credential.output_gone()
        sys.stderr.write(err)
        return code
    return None
