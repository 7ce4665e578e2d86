"""The cache-hit path of `rgpu-exec token`: kubectl runs it before every command.

It imports only the standard library, and only cheap parts of it (none of the costly modules
that `tests/process/test_import_cost.py` lists; it runs this path under `python -X importtime`).
It answers when it can be sure of the answer: a fresh cached token, or a failure recorded
seconds ago (failure damping, see `cache_hit.lookup`). Everything else (a miss, an unusual
argument, malformed exec info, a stale token, a client asking again for a token the cluster
rejected: see `second_ask`) goes to the full command, which gives the same answers and all the
error messages: `main` returns None, and the launcher (`scripts/rgpu-exec`) runs `cli.main`.
"""

import os
import sys
import time

from rgpu_exec.hotpath import (
    exec_credential,
    private_files,
    request,
    second_ask,
    settings,
    token_cache,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from rgpu_exec.hotpath import failures


def token_options(argv: "Sequence[str]") -> "dict[str, str] | None":
    """The options of a plain `token --namespace-id …` command line, or None for anything else."""
    if not argv or argv[0] != "token":
        return None
    options = request.parse_token_flags(argv[1:])
    return options if options is not None and "namespace_id" in options else None


def lookup(
    directory: str,
    key: "token_cache.CacheKey",
    now: float,
    exchange_settings: "Callable[[], str] | None" = None,
) -> "tuple[token_cache.Entry | None, token_cache.Entry | failures.Failure | None]":
    """What the cache alone can answer, and the entry it holds (fresh or not).

    The answer is an Entry to serve, a Failure to replay (failure damping), or None when an
    exchange is needed. A token inside its refresh margin is served only while a failure to
    refresh it that is not the API's verdict is being damped, and only while it still lasts a
    kubectl command (the stale-but-valid fallback, `failures.lasts_a_command`).
    """
    entry = token_cache.read_entry(directory, key)
    if entry is not None and entry.fresh(now):
        return entry, entry
    from rgpu_exec.hotpath import failures  # noqa: PLC0415 - not on a usual hit

    failure = failures.read_failure(directory, key.stem, now, exchange_settings)
    if failure is None:
        return entry, None
    if entry is not None and failure.fallback and failures.lasts_a_command(entry, now):
        return entry, entry
    return entry, failure


class Consulted:
    """What the cache says for one request, after `consult`.

    `answer`: an Entry to serve, or a Failure to replay; None when an exchange is needed.
    `fallback`: the entry held when an exchange is needed and it still lasts a kubectl command
    (a token inside its refresh margin, or the one a client asks again for): served if a refresh
    fails other than by the API's verdict (`failures.lasts_a_command`). `forced`: the exchange
    replaces a fresh token that the client asks again for (the cluster rejected it). `locked`:
    this process holds the entry's lock (release it, or exchange under it). `at`: the time of
    the read that decided.
    """

    __slots__ = ("answer", "at", "fallback", "forced", "locked")

    def __init__(
        self,
        answer: "token_cache.Entry | failures.Failure | None",
        at: float,
        fallback: "token_cache.Entry | None" = None,
        *,
        forced: bool = False,
        locked: bool = False,
    ) -> None:
        self.answer = answer
        self.at = at
        self.fallback = fallback
        self.forced = forced
        self.locked = locked


def consult(
    directory: str,
    wanted: "request.ExecRequest",
    client: "int | None",
    now: float,
    clock: "Callable[[], float]" = time.time,
    *,
    exec_info: "str | None" = None,
) -> "Consulted":
    """The cache protocol, one owner for both paths of `token`: read → second ask? → lock →
    read again.

    1. Read. A fresh entry is the answer, unless `client` asks again for the very token it was
       given (`second_ask.asked_again`: the cluster rejected it), and the cluster named in
       `exec_info` did not say moments ago that it accepts it. A failure being damped is the
       answer. Otherwise, and on a second ask, go on.
    2. Take the entry's lock, waiting at most the request's deadline plus
       `entry_lock.WAIT_GRACE` (not again if this process already dealt with it: the hit path
       hands over to the full command in the same process, holding it).
    3. Read again: another process may have written the entry meanwhile. A newer token is the
       answer (the client is remembered without being judged: it asked before that token
       existed). The same token asked for again is a forced refresh (the caller records it,
       `second_ask.begin_forced_refresh`, when it exchanges). A miss needs an exchange.
    """
    key = wanted.cache_key
    settings_now = wanted.exchange_settings
    entry, found = lookup(directory, key, now, settings_now)
    rejected = None
    if isinstance(found, token_cache.Entry):
        if not second_ask.asked_again(directory, found, client, now):
            return Consulted(found, now)
        fresh = found  # an Entry, for the closure below
        if second_ask.kept(
            fresh, now, lambda: second_ask.accepted_recently(directory, fresh, now, exec_info)
        ):
            return Consulted(found, now)  # the cluster said moments ago it accepts this token
        rejected = found
    elif found is not None:
        return Consulted(found, now)
    # Only on a miss or a second ask: the lock is not loaded for a usual hit.
    from rgpu_exec.hotpath import entry_lock  # noqa: PLC0415

    stem = key.stem
    locked = entry_lock.holds(stem)
    if not entry_lock.held(stem):
        try:
            private_files.ensure_directory(directory)
        except OSError:  # never fail for a lock: exchange without it
            pass
        else:
            lock_path = token_cache.file_path(directory, stem, token_cache.LOCK_SUFFIX)
            give_up_at = time.monotonic() + wanted.deadline + entry_lock.WAIT_GRACE
            locked = entry_lock.acquire(lock_path, stem, give_up_at)
    now = clock()
    entry, found = lookup(directory, key, now, settings_now)
    if isinstance(found, token_cache.Entry):
        if rejected is not None and _same_token(found, rejected):
            return Consulted(None, now, found, forced=True, locked=locked)
        second_ask.note(directory, found, client, now)
        return Consulted(found, now, locked=locked)
    if found is not None:
        return Consulted(found, now, locked=locked)
    if entry is None:
        return Consulted(None, now, locked=locked)
    from rgpu_exec.hotpath import failures  # noqa: PLC0415 - loaded by lookup: not fresh

    usable = entry if failures.lasts_a_command(entry, now) else None
    return Consulted(None, now, usable, locked=locked)


def _same_token(one: "token_cache.Entry", other: "token_cache.Entry") -> bool:
    return (one.token, one.issued_at) == (other.token, other.issued_at)


def serve(
    argv: "Sequence[str]", environ: "Mapping[str, str]", now: float
) -> "tuple[int, str, str] | None":
    """(exit code, stdout, stderr) from the cache, or None to hand over to the full command
    (holding the entry's lock when it was taken: the full command exchanges under it)."""
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
        check_url=False,  # the cache holds nothing for a URL the full command refuses
    )
    directory = settings.cache_dir(environ)
    if isinstance(wanted, str) or directory is None or private_files.directory_problem(directory):
        return None
    if wanted.needs_secret:  # a key from the environment: its fingerprint names the entry
        where = settings.config_dir(environ)
        secret = token_cache.read_secret(where) if where is not None else None
        if secret is None:
            return None  # none yet: the full command makes it
        wanted.use_secret(secret)
    consulted = consult(
        directory, wanted, second_ask.client(environ), now, exec_info=settings.exec_info(environ)
    )
    found = consulted.answer
    if found is None:
        return None  # an exchange is needed: the full command makes it
    if consulted.locked:
        from rgpu_exec.hotpath import entry_lock  # noqa: PLC0415 - loaded by consult already

        entry_lock.release(wanted.cache_key.stem)
    at = consulted.at
    if isinstance(found, token_cache.Entry):
        render = exec_credential.render(exec_info[0], found.token, found.kubectl_expiry(at))
        return 0, render, ""
    return found.exit_code, "", found.replay(at)


def main(argv: "Sequence[str] | None" = None) -> "int | None":
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
        warning = settings.log_warning(os.environ)
        if warning:
            err = warning + err
        elif settings.debug(os.environ):
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
