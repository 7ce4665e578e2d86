"""`rgpu-exec token`: the whole flow when the cache-hit path (`_fast`) could not answer alone.

read exec info → cache key → read cache → fresh? answer : lock → read again → fresh? answer :
find the key → exchange → save → answer. Failures are remembered for a few seconds (so kubectl's
reruns fail fast without reaching the API); a refresh that fails on the network or a 5xx falls
back to the still-valid cached token, with one warning.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import filelock

from rgpu_exec import settings, token_cache
from rgpu_exec.api_key import find_api_key
from rgpu_exec.errors import (
    ApiError,
    ApiKeyError,
    NamespaceAccessError,
    RecentFailureError,
    RgpuExecError,
    UsageError,
)
from rgpu_exec.exchange import Exchanger
from rgpu_exec.exec_credential import render
from rgpu_exec.exec_info import parse_exec_info

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import httpx

    from rgpu_exec.api_key import ApiKey

log = logging.getLogger(__name__)

# How long a failed exchange is replayed to kubectl's reruns instead of asking the API again.
FAILURE_DAMPING_SECONDS = 5.0
# A refresh while a valid token is still in hand gives up sooner than a cold exchange.
STALE_REFRESH_DEADLINE = 5.0
# The bounded wait for another process's exchange of the same entry is that exchange's deadline
# plus this; after it, exchange anyway rather than hang kubectl (it has no timeout on plugins).
LOCK_WAIT_GRACE = 2.0


@dataclass(frozen=True)
class TokenRequest:
    namespace_id: str
    api_url: str | None = None
    profile: str | None = None


@dataclass
class TokenCommand:
    environ: Mapping[str, str]
    clock: Callable[[], float] = time.time
    transport: httpx.BaseTransport | None = None  # tests only; None means the network
    warn: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr))

    def run(self, request: TokenRequest) -> str:
        """The ExecCredential JSON for kubectl, or an RgpuExecError."""
        exec_info = parse_exec_info(self.environ.get(settings.ENV_EXEC_INFO))
        api_url = settings.api_url(request.api_url, self.environ)
        problem = settings.url_problem(api_url)
        if problem:
            raise UsageError(
                f"the API URL {api_url!r} {problem}. Use an https:// URL "
                f"(--api-url or {settings.ENV_API_URL})."
            )
        if not settings.looks_like_uuid(request.namespace_id):
            raise UsageError(
                f"--namespace-id {request.namespace_id!r} is not a namespace ID (a lower-case "
                "UUID such as 2f1c…-…). Copy it from the console's namespace page."
            )
        profile = settings.profile(request.profile, self.environ)
        if not settings.valid_profile(profile):
            raise UsageError(
                f"profile name {profile!r} is not valid: use 1-64 letters, digits, '.', '_' or '-'."
            )
        cold_deadline = settings.deadline(self.environ)
        if cold_deadline is None:
            raise UsageError(
                f"{settings.ENV_DEADLINE} must be a number of seconds between 0.1 and 300 "
                f"(got {self.environ.get(settings.ENV_DEADLINE)!r}); unset it for the default "
                f"of {settings.DEFAULT_DEADLINE:.0f} s."
            )
        identity = token_cache.identity(settings.api_key(self.environ), profile)
        cache = self._cache()
        stem = token_cache.entry_stem(api_url, request.namespace_id, identity)

        def answer(entry: token_cache.Entry) -> str:
            return render(exec_info.api_version, entry.token, entry.kubectl_expiry(self.clock()))

        def cached() -> tuple[token_cache.Entry | None, str | None]:
            if cache is None:
                return None, None
            entry, verdict = token_cache.lookup(
                cache.directory, api_url, request.namespace_id, identity, self.clock()
            )
            if isinstance(verdict, token_cache.Failure):
                log.debug("replaying a failure recorded for this entry moments ago")
                raise RecentFailureError(verdict.message, verdict.exit_code)
            return entry, answer(verdict) if verdict is not None else None

        _, output = cached()
        if output is not None:
            log.debug("answered from the cache")
            return output
        with _single_flight(cache, stem, cold_deadline + LOCK_WAIT_GRACE):
            entry, output = cached()
            if output is not None:
                log.debug("answered from the cache after waiting for another process")
                return output
            stale = entry if entry is not None and entry.valid(self.clock()) else None
            key = find_api_key(self.environ, profile, interactive=exec_info.interactive)
            deadline = min(STALE_REFRESH_DEADLINE, cold_deadline) if stale else cold_deadline
            try:
                issued = self._exchanger(api_url, key, deadline).exchange(request.namespace_id)
            except ApiError as exc:
                if stale is not None and exc.transient:
                    self.warn(
                        f"rgpu-exec: warning: could not refresh the token ({exc.message}); using "
                        f"the cached one, valid until {_clock_time(stale.expires_at)}."
                    )
                    if cache:
                        cache.remember_failure(stem, exc, self.clock())
                    return answer(stale)
                if cache:
                    cache.remember_failure(stem, exc, self.clock())
                raise
            except (ApiKeyError, NamespaceAccessError) as exc:
                if cache:
                    cache.remember_failure(stem, exc, self.clock())
                raise
            now = self.clock()
            # Local expiry from the lifetime the server states: immune to our clock's skew.
            fresh = token_cache.Entry(
                api_url, request.namespace_id, identity, now, now + issued.lifetime, issued.token
            )
            if cache:
                cache.write(fresh)
            return answer(fresh)

    def _exchanger(self, api_url: str, key: ApiKey, deadline: float) -> Exchanger:
        return Exchanger(
            api_url, key.value, self.environ, deadline=deadline, transport=self.transport
        )

    def _cache(self) -> _Cache | None:
        directory = settings.cache_dir(self.environ)
        if directory is None:
            import platformdirs  # noqa: PLC0415

            directory = platformdirs.user_cache_dir(settings.APP_NAME, appauthor=False)
        problem = token_cache.directory_problem(directory)
        if problem:
            self.warn(
                f"rgpu-exec: warning: not using the token cache: {directory} {problem}. Every "
                f"kubectl command will exchange a new token until you fix it (chmod 700 it, or "
                f"set {settings.ENV_CACHE_DIR} to a private directory)."
            )
            return None
        return _Cache(directory, self.warn)


@dataclass
class _Cache:
    directory: str
    warn: Callable[[str], None]

    def read(self, api_url: str, namespace_id: str, identity: str) -> token_cache.Entry | None:
        return token_cache.read_entry(self.directory, api_url, namespace_id, identity)

    def write(self, entry: token_cache.Entry) -> None:
        try:
            token_cache.write_entry(self.directory, entry)
        except OSError as exc:
            self.warn(
                f"rgpu-exec: warning: could not save the token in {self.directory} "
                f"({exc.strerror or exc}); the next kubectl command will exchange again."
            )

    def remember_failure(self, stem: str, exc: RgpuExecError, now: float) -> None:
        transient = isinstance(exc, ApiError) and exc.transient
        failure = token_cache.Failure(
            now + FAILURE_DAMPING_SECONDS, int(exc.exit_code), transient, str(exc)
        )
        try:
            token_cache.write_failure(self.directory, stem, failure)
        except OSError as exc2:
            log.debug("could not record the failure: %s", exc2)

    def lock_path(self, stem: str) -> str:
        return f"{self.directory}/{stem}{token_cache.LOCK_SUFFIX}"


class _single_flight:  # noqa: N801 - used as a context manager, reads like one
    """Hold the entry's lock, with a bounded wait; never hang kubectl, never fail for a lock."""

    def __init__(self, cache: _Cache | None, stem: str, wait: float) -> None:
        self._wait = wait
        self._lock: filelock.BaseFileLock | None = None
        if cache is None:
            return
        try:
            token_cache.ensure_directory(cache.directory)
        except OSError as exc:
            log.debug("cannot create the cache directory: %s", exc)
            return
        self._lock = filelock.FileLock(cache.lock_path(stem), timeout=wait)

    def __enter__(self) -> None:
        if self._lock is None:
            return
        try:
            self._lock.acquire()
        except filelock.Timeout:
            log.debug("lock wait over %.0f s: exchanging without it", self._wait)
            self._lock = None
        except OSError as exc:
            log.debug("cannot take the lock (%s): exchanging without it", exc)
            self._lock = None

    def __exit__(self, *exc_info: object) -> None:
        if self._lock is not None:
            self._lock.release()


def _clock_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%H:%M:%S UTC")
