"""`rgpu-exec token`: the whole flow when the cache-hit path (`hotpath.cache_hit`) could not
answer alone.

read exec info → cache key → read cache → fresh? answer : lock → read again → fresh? answer :
find the key → exchange → save → answer. Failures are remembered for a few seconds (so kubectl's
reruns fail fast without reaching the API); a refresh that fails on the network or a 5xx falls
back to the still-valid cached token, with one warning.
"""

from __future__ import annotations

import logging
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from rgpu_exec.cache.directory import cache_directory, cache_directory_fix
from rgpu_exec.credentials.api_key import find_api_key, rejected
from rgpu_exec.errors import (
    ApiError,
    ApiKeyError,
    NamespaceAccessError,
    RecentFailureError,
    RgpuExecError,
    UsageError,
)
from rgpu_exec.hotpath import entry_lock, private_files, request, second_ask, settings, token_cache
from rgpu_exec.hotpath.exec_credential import recognise_exec_info, render
from rgpu_exec.redact import key_prefix

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import httpx

log = logging.getLogger(__name__)

# How long a failed exchange is replayed to kubectl's reruns instead of asking the API again.
FAILURE_DAMPING_SECONDS = 5.0
# While a still-valid token is served because the API is failing, ask the API again this often.
STALE_DAMPING_SECONDS = 30.0
# A refresh while a valid token is still in hand gives up sooner than a cold exchange.
STALE_REFRESH_DEADLINE = 5.0


@dataclass(frozen=True)
class TokenFlags:
    """`token`'s flags as given (see `hotpath.request.TOKEN_FLAGS`), not yet validated."""

    namespace_id: str
    api_url: str | None = None
    profile: str | None = None
    namespace_name: str | None = None  # for messages only


@dataclass(frozen=True)
class _Plan:
    """A validated request, and what to answer in."""

    request: request.TokenRequest
    api_version: str
    interactive: bool


@dataclass
class TokenCommand:
    environ: Mapping[str, str]
    clock: Callable[[], float] = time.time
    transport: httpx.BaseTransport | None = None  # tests only; None means the network
    warn: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr))

    def run(self, flags: TokenFlags) -> str:
        """The ExecCredential JSON for kubectl, or an RgpuExecError."""
        plan = self._plan(flags)
        wanted = plan.request
        cache = self._cache(plan)
        output, _ = cache.answer(self.clock())
        if output is not None:
            return output
        with cache.single_flight(wanted.deadline + entry_lock.WAIT_GRACE):
            # Read again: another process may have just refreshed it.
            output, stale = cache.answer(self.clock())
            if output is not None:
                return output
            key = find_api_key(
                self.environ,
                wanted.profile,
                interactive=plan.interactive,
                profile_flag=flags.profile,  # a flag beats REMOTEGPU_API_KEY
            )
            if key.source == "prompt":
                # A typed key is known by its fingerprint, like a key from the environment, never
                # by the profile: a second key typed for the same profile must not get the first
                # key's token. A token cached for this very key may still answer.
                cache = cache.for_key(token_cache.key_identity(key.value))
                output, stale = cache.answer(self.clock())
                if output is not None:
                    return output
            margin = f" ({cache.why_refresh()})" if stale else ""
            log.debug(
                "exchanging the key from %s (%s) for a token for namespace %s%s",
                *(key.source, key_prefix(key.value), wanted.namespace_id, margin),
            )
            deadline = min(STALE_REFRESH_DEADLINE, wanted.deadline) if stale else wanted.deadline
            # httpx and pydantic load only once this process holds the lock and must exchange.
            from rgpu_exec.api.exchange import Exchanger  # noqa: PLC0415

            exchanger = Exchanger(
                wanted.api_url, key.value, self.environ, deadline=deadline, transport=self.transport
            )
            exchanger.interactive, exchanger.notify = plan.interactive, self.warn
            exchanger.url_source = request.api_url_source(flags.api_url, self.environ)
            try:
                try:
                    issued = exchanger.exchange(wanted.namespace_id, wanted.namespace_name)
                except ApiKeyError as rejection:  # say why, and what to do for this key's source
                    raise rejected(rejection, key) from None
            except (ApiError, ApiKeyError, NamespaceAccessError) as exc:
                if stale is None or not (isinstance(exc, ApiError) and exc.transient):
                    cache.remember_failure(exc, self.clock(), FAILURE_DAMPING_SECONDS)
                    raise
                window = min(STALE_DAMPING_SECONDS, stale.expires_at - self.clock())
                cache.remember_failure(exc, self.clock(), window)
                self.warn(
                    f"rgpu-exec: warning: could not refresh the token ({exc.message}); using "
                    f"the cached one, valid until {_clock_time(stale.expires_at)}."
                )
                return cache.render(stale, self.clock())
            now = self.clock()
            # Local expiry from the lifetime the server states: immune to our clock's skew.
            fresh = token_cache.Entry(cache.key, now, now + issued.lifetime, issued.token)
            log.debug("got a token for %.0f s (server's clock); caching it", issued.lifetime)
            cache.save(fresh)
            return cache.render(fresh, now)

    def _plan(self, flags: TokenFlags) -> _Plan:
        raw_exec_info = settings.exec_info(self.environ)
        known = recognise_exec_info(raw_exec_info)
        if known is None:  # not kubectl's usual form: parse it in full (pydantic)
            from rgpu_exec.kube.exec_info import parse_exec_info  # noqa: PLC0415

            parsed = parse_exec_info(raw_exec_info)
            known = (parsed.api_version, parsed.interactive)
        wanted = request.resolve(
            flags.namespace_id, flags.api_url, flags.profile, self.environ, flags.namespace_name
        )
        if isinstance(wanted, str):
            raise UsageError(wanted)
        return _Plan(wanted, *known)

    def _cache(self, plan: _Plan) -> _CacheSlot:
        directory = cache_directory(self.environ)
        problem = private_files.directory_problem(directory)
        if problem:
            self.warn(
                f"rgpu-exec: warning: not using the token cache: {directory} {problem}. Every "
                f"kubectl command will exchange a new token until you fix it "
                f"({cache_directory_fix(directory)})."
            )
        slot = _CacheSlot(None if problem else directory, plan, plan.request.cache_key, self.warn)
        slot.client = second_ask.client(self.environ)
        return slot


@dataclass
class _CacheSlot:
    """The one cache entry a request uses; every method is a no-op when the cache is off."""

    directory: str | None
    plan: _Plan
    key: token_cache.CacheKey
    warn: Callable[[str], None]
    # The client process that asks (see `hotpath.second_ask`), and whether it asks again for the
    # fresh token it was given: None until the first read decides.
    client: int | None = None
    asked_again: bool | None = None

    @property
    def stem(self) -> str:
        return self.key.stem

    def for_key(self, identity: str) -> _CacheSlot:
        """The same request's slot for another identity (a key typed at the prompt)."""
        wanted = self.plan.request
        key = token_cache.CacheKey(wanted.api_url, wanted.namespace_id, identity)
        return _CacheSlot(self.directory, self.plan, key, self.warn, self.client, self.asked_again)

    def render(self, entry: token_cache.Entry, now: float) -> str:
        return render(self.plan.api_version, entry.token, entry.kubectl_expiry(now))

    def answer(self, now: float) -> tuple[str | None, token_cache.Entry | None]:
        """What the cache alone answers (see `token_cache.lookup`), else None; and the entry it
        holds if that has not expired yet (it may be inside its refresh margin)."""
        if self.directory is None:
            return None, None
        settings_now = self.plan.request.exchange_settings
        entry, verdict = token_cache.lookup(self.directory, self.key, now, settings_now)
        if isinstance(verdict, token_cache.Failure):
            log.debug("replaying the failure recorded for this entry")
            raise RecentFailureError(verdict.replay(now), verdict.exit_code)
        if verdict is not None:
            if self._asked_again(self.directory, verdict, now):
                return None, verdict
            log.debug("answered from the cache")
            return self.render(verdict, now), entry
        if self.asked_again is None:
            self.asked_again = False  # a miss: the client holds nothing of this entry
        return None, entry if entry is not None and entry.valid(now) else None

    def _asked_again(self, directory: str, entry: token_cache.Entry, now: float) -> bool:
        """Whether to exchange although `entry` is fresh: the client asks again for it (the
        cluster rejected it). Decided on the first read, confirmed on the next (under the lock),
        when the forced refresh begins; after a first read that missed, never."""
        if self.asked_again is False:
            second_ask.note(directory, entry, self.client, now)
            return False
        again = second_ask.asked_again(directory, entry, self.client, now)
        if again and self.asked_again:
            log.debug("the same client asks again for the fresh token it was given: exchanging")
            second_ask.begin_forced_refresh(directory, self.stem, now)
        self.asked_again = again
        return again

    def why_refresh(self) -> str:
        if self.asked_again:
            return "the client asks again for the cached token: the cluster rejected it"
        return "the cached token is inside its refresh margin"

    def save(self, entry: token_cache.Entry) -> None:
        if self.directory is None:
            return
        try:
            token_cache.write_entry(self.directory, entry)
            second_ask.note(self.directory, entry, self.client, entry.issued_at)
        except OSError as exc:
            self.warn(
                f"rgpu-exec: warning: could not save the token in {self.directory} "
                f"({exc.strerror or exc}); the next kubectl command will exchange again."
            )

    def remember_failure(self, exc: RgpuExecError, now: float, window: float) -> None:
        if self.directory is None:
            return
        transient = isinstance(exc, ApiError) and exc.transient
        failure = token_cache.Failure(
            now,
            now + window,
            int(exc.exit_code),
            transient,
            str(exc),
            settings_hash=token_cache.settings_hash(self.plan.request.exchange_settings),
            key=self.key,
        )
        try:
            token_cache.write_failure(self.directory, self.stem, failure)
        except OSError as exc2:
            log.debug("could not record the failure: %s", exc2)

    def single_flight(self, wait: float) -> entry_lock.SingleFlight | nullcontext[None]:
        """The entry's lock with a bounded wait; never hang kubectl, never fail for a lock."""
        if self.directory is None:
            return nullcontext()
        try:
            private_files.ensure_directory(self.directory)
        except OSError as exc:
            log.debug("cannot create the cache directory (%s): exchanging without the lock", exc)
            return nullcontext()
        lock_path = f"{self.directory}/{self.stem}{token_cache.LOCK_SUFFIX}"
        log.debug("taking the entry's lock (waiting at most %.0f s)", wait)
        return entry_lock.SingleFlight(lock_path, self.stem, wait)


def _clock_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%H:%M:%S UTC")
