"""The cache-hit path of `rgpu-exec token`: kubectl runs it before every command.

It imports only the standard library, and only cheap parts of it (no `json`, `re`, `hashlib`,
`argparse`, `pathlib`, `typing`, `dataclasses`); a test runs it under `python -X importtime`.
It answers when it can be sure of the answer: a fresh cached token, or a failure recorded
seconds ago (failure damping, see `token_cache.lookup`). Everything else (a miss, an unusual
argument or exec info, a stale token) goes to the full command, which gives the same answers
and all the error messages.
"""

from __future__ import annotations

import os
import sys
import time

from rgpu_exec import exec_credential, settings, token_cache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_TOKEN_FLAGS = {"--namespace-id": "namespace_id", "--api-url": "api_url", "--profile": "profile"}


def _token_args(argv: Sequence[str]) -> dict[str, str] | None:
    """The options of a plain `token ...` command line, or None for anything else."""
    if not argv or argv[0] != "token":
        return None
    options: dict[str, str] = {}
    rest = list(argv[1:])
    while rest:
        flag, sep, value = rest.pop(0).partition("=")
        if not sep:
            if not rest:
                return None
            value = rest.pop(0)
        name = _TOKEN_FLAGS.get(flag)
        if name is None or name in options or not value:
            return None
        options[name] = value
    return options if "namespace_id" in options else None


def serve(
    argv: Sequence[str], environ: Mapping[str, str], now: float
) -> tuple[int, str, str] | None:
    """(exit code, stdout, stderr) from the cache, or None to hand over to the full command."""
    options = _token_args(argv)
    exec_info = exec_credential.recognise_exec_info(environ.get(settings.ENV_EXEC_INFO))
    if options is None or exec_info is None:
        return None
    namespace_id = options["namespace_id"].lower()
    api_url = settings.api_url(options.get("api_url"), environ)
    if not settings.looks_like_uuid(namespace_id) or settings.url_problem(api_url):
        return None
    profile = settings.profile(options.get("profile"), environ)
    if not settings.valid_profile(profile):
        return None
    identity = token_cache.identity(settings.api_key(environ), profile)
    directory = settings.cache_dir(environ)
    if directory is None or token_cache.directory_problem(directory):
        return None

    answer = _answer(exec_info[0], directory, api_url, namespace_id, identity, now)
    if answer is not None:
        return answer
    # A miss: take the entry's lock now, before the full command's costly imports, so that a
    # herd of kubectl processes waits here for one exchange and then answers from the cache.
    deadline = settings.deadline(environ)
    if deadline is None:
        return None
    from rgpu_exec import entry_lock  # noqa: PLC0415

    stem = token_cache.entry_stem(api_url, namespace_id, identity)
    token_cache.ensure_directory(directory)
    lock_path = os.path.join(directory, stem + token_cache.LOCK_SUFFIX)
    if not entry_lock.acquire(lock_path, stem, time.monotonic() + deadline + entry_lock.WAIT_GRACE):
        return None
    answer = _answer(exec_info[0], directory, api_url, namespace_id, identity, time.time())
    if answer is not None:
        entry_lock.release(stem)
    return answer  # None: the full command exchanges, holding the lock


def _answer(  # noqa: PLR0917
    api_version: str, directory: str, api_url: str, namespace_id: str, identity: str, now: float
) -> tuple[int, str, str] | None:
    _, answer = token_cache.lookup(directory, api_url, namespace_id, identity, now)
    if isinstance(answer, token_cache.Entry):
        return 0, _credential(api_version, answer, now), ""
    if isinstance(answer, token_cache.Failure):
        return answer.exit_code, "", answer.replay(now)
    return None


def _credential(api_version: str, entry: token_cache.Entry, now: float) -> str:
    return exec_credential.render(api_version, entry.token, entry.kubectl_expiry(now))


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        answer = serve(args, os.environ, time.time())
    except Exception:
        # The fast path must never be worse than the full command: on any surprise, defer to it.
        answer = None
    if answer is not None:
        code, out, err = answer
        if os.environ.get(settings.ENV_LOG, "").strip().lower() == "debug":
            what = "a cached token" if code == 0 else "a failure recorded moments ago"
            err = f"rgpu-exec: DEBUG: rgpu_exec._fast: answered with {what}\n{err}"
        sys.stdout.write(out)
        sys.stdout.flush()
        sys.stderr.write(err)
        return code
    from rgpu_exec.cli import main as cli_main  # noqa: PLC0415

    return cli_main(args)
