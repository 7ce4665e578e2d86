"""`rgpu-exec token`: the whole flow when the cache-hit path (`hotpath.cache_hit`) could not
answer alone.

read exec info → request → consult the cache (read → second ask → lock → read again: the
protocol both paths share, `cache_hit.consult`) → answer : find the key → exchange → save →
answer. Every failure passes one gate, `token_failures.damped`: it is told in full once,
then in one line to kubectl's reruns for a few seconds (without reaching the API). A
refresh that fails other than by the API's verdict on the key or the namespace falls back to the
cached token while it still lasts a kubectl command, with one warning.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from rgpu_exec import output
from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.errors import ExitCode, RecentFailureError, RgpuExecError, UsageError
from rgpu_exec.hotpath import (
    cache_hit,
    failures,
    request,
    second_ask,
    settings,
    token_cache,
)
from rgpu_exec.hotpath.exec_credential import recognise_exec_info, render
from rgpu_exec.redact import key_prefix
from rgpu_exec.usecases.key_exchange import (
    KeyExchange,
    ask_for_key,
    find_kept_key,
    not_a_kubernetes_server,
)
from rgpu_exec.usecases.token_failures import FAILURE_DAMPING_SECONDS, Where, damped
from rgpu_exec.usecases.token_storage import fingerprint_secret, usable_cache_directory

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from rgpu_exec.usecases.typed_key import TypedKey

__all__ = ["FAILURE_DAMPING_SECONDS", "TokenCommand", "TokenRequest", "TokenResult", "run"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenRequest:
    """`token`'s flags as given (see `hotpath.request.TOKEN_FLAGS`): `run` validates them with
    `request.resolve` (into a `request.ExecRequest`), the rule the cache-hit path follows too,
    so that a refusal passes the failure gate like any other failure."""

    namespace_id: str
    api_url: str | None = None
    profile: str | None = None
    namespace_name: str | None = None  # for messages only


@dataclass(frozen=True)
class TokenResult:
    """What `token` answers kubectl: the ExecCredential (JSON, in the apiVersion kubectl asked
    for), which the command writes through `output.credential`, the output gate's one exception.
    A failure is an RgpuExecError, raised through the failure gate."""

    exec_credential: str
    exit_code: ExitCode = ExitCode.OK


def run(
    flags: TokenRequest, environ: Mapping[str, str], warn: Callable[[str], None] = output.say
) -> TokenResult:
    """`token`'s use case: `TokenCommand(environ, warn=warn).run(flags)`."""
    return TokenCommand(environ, warn=warn).run(flags)


@dataclass
class TokenCommand:
    environ: Mapping[str, str]
    clock: Callable[[], float] = time.time
    warn: Callable[[str], None] = output.say

    def run(self, flags: TokenRequest) -> TokenResult:
        """The ExecCredential for kubectl, or an RgpuExecError: every one through
        `token_failures.damped`, the one gate of `token`'s failures."""
        where = Where()
        try:
            return TokenResult(self._run(flags, where))
        except RgpuExecError as failure:
            told = (flags.namespace_id, flags.api_url, flags.profile)
            replay = damped(failure, where, self.environ, self.clock(), told)
            if replay is None:
                raise
            raise replay from None

    def _run(self, flags: TokenRequest, where: Where) -> str:
        api_version, interactive = self._exec_info()
        wanted = request.resolve(
            flags.namespace_id, flags.api_url, flags.profile, self.environ, flags.namespace_name
        )
        if isinstance(wanted, str):
            raise UsageError(wanted)
        directory = usable_cache_directory(self.environ, self.warn)
        if directory is None:
            return self._exchange(flags, wanted, None, None, interactive, api_version, where)
        secret = fingerprint_secret(self.environ) if wanted.needs_secret else None
        if secret is not None:
            wanted.use_secret(secret)
        where.directory = directory
        where.slot = wanted.cache_key
        where.exchange_settings = wanted.exchange_settings
        stem = wanted.cache_key.stem
        now = self.clock()
        exec_info = settings.exec_info(self.environ)
        consulted = cache_hit.consult(
            directory,
            wanted,
            second_ask.client(self.environ),
            now,
            self.clock,
            exec_info=exec_info,
        )
        try:
            answered = self._answered(consulted, api_version)
            if answered is not None:
                return answered
            cached = consulted.fallback
            if (
                consulted.forced
                and cached is not None
                and second_ask.kept(cached, consulted.at, lambda: self._cluster_accepts(cached))
            ):
                second_ask.note_accepted(directory, cached, consulted.at, exec_info)
                log.debug("the client asks again, but the cluster still accepts the token")
                return render(api_version, cached.token, cached.kubectl_expiry(consulted.at))
            if consulted.forced:
                log.debug("the same client asks again for the fresh token it was given: exchanging")
                second_ask.begin_forced_refresh(directory, stem, consulted.at)
            return self._exchange(
                flags, wanted, directory, consulted.fallback, interactive, api_version, where
            )
        finally:
            if consulted.locked:
                from rgpu_exec.hotpath import entry_lock  # noqa: PLC0415 - loaded by consult

                entry_lock.release(stem)

    def _exchange(  # noqa: PLR0917
        self,
        flags: TokenRequest,
        wanted: request.ExecRequest,
        directory: str | None,
        stale: token_cache.Entry | None,
        interactive: bool,
        api_version: str,
        where: Where,
    ) -> str:
        url_source = request.api_url_source(flags.api_url, self.environ)
        not_a_kubernetes_server(wanted.api_url, url_source, self.environ)
        key = find_kept_key(self.environ, flags.profile)
        typed = None if key is not None else self._typed(directory, wanted)
        if typed is not None and interactive:  # a key typed earlier in this kubectl command?
            answered = self._answered(typed.without_prompt(), api_version)
            if answered is not None:
                return answered
            if typed.why_again:
                self.warn(typed.asked_again())
        key = key or ask_for_key(self.environ, flags.profile, interactive=interactive)
        slot = wanted.cache_key
        if typed is not None and key.source == "prompt":  # its cached token may still answer
            slot = typed.slot(key)
            if directory is not None:
                where.slot = slot
            answered = self._answered(typed.cached(slot), api_version)
            if answered is not None:
                typed.worked(slot)
                return answered
        log.debug(
            "exchanging the key from %s (%s) for a token for namespace %s",
            *(key.source, key_prefix(key.value), wanted.namespace_id),
        )
        deadline = wanted.deadline
        if stale is not None:
            deadline = failures.refresh_deadline(stale, self.clock(), deadline)
        endpoint = ApiEndpoint(
            wanted.api_url,
            self.environ,
            url_source=url_source,
            deadline=deadline,
            interactive=interactive,
            notify=self.warn,
        )
        exchanger = KeyExchange(key, endpoint)
        try:
            issued = exchanger.exchange(wanted.namespace_id, wanted.namespace_name)
        except RgpuExecError as exc:
            from rgpu_exec.api.api_errors import is_verdict  # noqa: PLC0415 - pydantic: loaded

            # Only the API's verdict on the key or the namespace is final: anything else (no
            # answer, a 5xx, a stall, a malformed or HTML answer) says nothing of the cached
            # token, which is served while it lasts a command. One too close to its expiry is
            # not: the cluster would reject it mid-command, and kubectl would say only
            # "Unauthorized"; the failure itself is told instead.
            where.falls_back = not is_verdict(exc)
            now = self.clock()
            if stale is None or not where.falls_back or not failures.lasts_a_command(stale, now):
                raise
            try:  # (a stale token comes from the cache: there is a directory)
                if directory is not None:
                    record = where.record(exc, now, stale)
                    failures.write_failure(directory, slot.stem, record)
            except OSError as problem:
                log.debug("could not record the failure: %s", problem)
            self.warn(
                f"rgpu-exec: warning: could not refresh the token ({exc.message}); using the "
                f"cached one, valid until {_clock_time(stale.expires_at)}."
            )
            return render(api_version, stale.token, stale.kubectl_expiry(now))
        now = self.clock()
        # Local expiry from the lifetime the server states: immune to our clock's skew.
        fresh = token_cache.Entry(slot, now, now + issued.lifetime, issued.token)
        log.debug("got a token for %.0f s (server's clock); caching it", issued.lifetime)
        self._save(directory, fresh)
        if typed is not None and key.source == "prompt":
            typed.worked(slot)
            self.warn(typed.keep_it())
        return render(api_version, fresh.token, fresh.kubectl_expiry(now))

    def _typed(self, directory: str | None, wanted: request.ExecRequest) -> TypedKey:
        """The typed key's part of the flow, loaded only when no key is kept."""
        from rgpu_exec.usecases.typed_key import TypedKey  # noqa: PLC0415 - not with a kept key

        return TypedKey(
            directory,
            wanted,
            self.environ,
            self.clock,
            lambda: fingerprint_secret(self.environ),
            self._cluster_accepts,
        )

    def _cluster_accepts(self, entry: token_cache.Entry) -> bool | None:
        """Whether the cluster kubectl talks to (`spec.cluster` in the exec info, with
        `provideClusterInfo: true`) still accepts the token; None when there is no cluster to
        ask, or it cannot tell: today's rule then decides (a second ask replaces the token)."""
        from rgpu_exec.kube.exec_info import cluster_of  # noqa: PLC0415

        cluster = cluster_of(settings.exec_info(self.environ))
        if cluster is None:
            return None
        from rgpu_exec.kube.cluster import token_accepted  # noqa: PLC0415 - httpx

        return token_accepted(cluster, entry.token, self.environ)

    def _exec_info(self) -> tuple[str, bool]:
        """(apiVersion to answer in, whether the session is interactive)."""
        raw_exec_info = settings.exec_info(self.environ)
        known = recognise_exec_info(raw_exec_info)
        if known is None:  # not kubectl's usual form: parse it in full (pydantic)
            from rgpu_exec.kube.exec_info import parse_exec_info  # noqa: PLC0415

            parsed = parse_exec_info(raw_exec_info)
            known = (parsed.api_version, parsed.interactive)
        return known

    def _answered(self, consulted: cache_hit.Consulted | None, api_version: str) -> str | None:
        """The ExecCredential for what the cache answers (a failure is raised again), else None."""
        if consulted is None:
            return None
        found = consulted.answer
        if isinstance(found, failures.Failure):
            log.debug("replaying the failure recorded for this entry")
            raise RecentFailureError(found.replay(consulted.at), found.exit_code)
        if found is None:
            return None
        log.debug("answered from the cache")
        return render(api_version, found.token, found.kubectl_expiry(consulted.at))

    def _save(self, directory: str | None, entry: token_cache.Entry) -> None:
        if directory is None:
            return
        try:
            token_cache.write_entry(directory, entry)
            second_ask.note(directory, entry, second_ask.client(self.environ), entry.issued_at)
        except OSError as exc:
            self.warn(
                f"rgpu-exec: warning: could not save the token in {directory} "
                f"({exc.strerror or exc}); the next kubectl command will exchange again."
            )


def _clock_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%H:%M:%S UTC")
