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
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec import fixes, output
from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.cache import identity_key
from rgpu_exec.cache.directory import cache_directory, cache_directory_fix
from rgpu_exec.credentials import file_store
from rgpu_exec.errors import RecentFailureError, RgpuExecError, UsageError
from rgpu_exec.hotpath import (
    cache_hit,
    failures,
    private_files,
    request,
    second_ask,
    settings,
    token_cache,
)
from rgpu_exec.hotpath.exec_credential import recognise_exec_info, render
from rgpu_exec.redact import key_prefix
from rgpu_exec.usecases.key_exchange import KeyExchange, find_key
from rgpu_exec.usecases.token_failures import FAILURE_DAMPING_SECONDS, Where, damped

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["FAILURE_DAMPING_SECONDS", "TokenCommand", "TokenRequest"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenRequest:
    """`token`'s flags as given (see `hotpath.request.TOKEN_FLAGS`): `run` validates them with
    `request.resolve` (into a `request.TokenRequest`), the rule the cache-hit path follows too,
    so that a refusal passes the failure gate like any other failure."""

    namespace_id: str
    api_url: str | None = None
    profile: str | None = None
    namespace_name: str | None = None  # for messages only


@dataclass
class TokenCommand:
    environ: Mapping[str, str]
    clock: Callable[[], float] = time.time
    warn: Callable[[str], None] = output.say

    def run(self, flags: TokenRequest) -> str:
        """The ExecCredential JSON for kubectl, or an RgpuExecError: every one through
        `token_failures.damped`, the one gate of `token`'s failures."""
        where = Where()
        try:
            return self._run(flags, where)
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
        directory = self._cache_directory()
        if directory is None:
            return self._exchange(flags, wanted, None, None, interactive, api_version, where)
        secret = self._secret() if wanted.needs_secret else None
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
        wanted: request.TokenRequest,
        directory: str | None,
        stale: token_cache.Entry | None,
        interactive: bool,
        api_version: str,
        where: Where,
    ) -> str:
        key = find_key(self.environ, flags.profile, interactive=interactive)
        slot = wanted.cache_key
        if key.source == "prompt":
            # A typed key is known by its fingerprint, like a key from the environment, never by
            # the profile: a second key typed for the same profile must not get the first key's
            # token. A token cached for this very key may still answer.
            secret = self._secret() if directory is not None else None
            slot = token_cache.CacheKey(
                wanted.api_url, wanted.namespace_id, token_cache.key_identity(key.value, secret)
            )
            if directory is not None:
                where.slot = slot
                now = self.clock()
                _, found = cache_hit.lookup(directory, slot, now, wanted.exchange_settings)
                answered = self._answered(cache_hit.Consulted(found, now), api_version)
                if answered is not None:
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
            url_source=request.api_url_source(flags.api_url, self.environ),
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
        if key.source == "prompt":
            self.warn(_keep_the_typed_key(wanted.profile, self.environ))
        return render(api_version, fresh.token, fresh.kubectl_expiry(now))

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

    def _secret(self) -> bytes | None:
        """The user's key-fingerprint secret (in the config directory, beside the key file),
        made when there is none; None when it cannot be (the key's entry is then one of its
        own, never another key's)."""
        try:
            return identity_key.ensure_secret(str(Path(file_store.path(self.environ)).parent))
        except OSError as exc:
            log.debug("no key-fingerprint secret (%s)", type(exc).__name__)
            return None

    def _cache_directory(self) -> str | None:
        """The cache directory, or None (with one warning) when it must not be used."""
        directory = cache_directory(self.environ)
        problem = private_files.directory_problem(directory)
        if not problem:
            return directory
        self.warn(
            f"rgpu-exec: warning: not using the token cache: {directory} {problem}. Every "
            f"kubectl command will exchange a new token until you fix it "
            f"({cache_directory_fix(directory)})."
        )
        return None

    def _answered(self, consulted: cache_hit.Consulted, api_version: str) -> str | None:
        """The ExecCredential for what the cache answers (a failure is raised again), else None."""
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


def _keep_the_typed_key(profile: str, environ: Mapping[str, str]) -> str:
    """After a typed key worked: every new kubectl command will ask for it again, unless it is
    kept somewhere `token` looks."""
    from rgpu_exec.credentials import keyring_store  # noqa: PLC0415 - only after a prompt

    option = ["--profile", profile] if profile != settings.DEFAULT_PROFILE else []
    store = (
        f"{fixes.command('rgpu-exec', 'login', *option)} (the OS keyring)"
        if keyring_store.backend_problem(environ) is None
        else f"{fixes.command('rgpu-exec', 'login', '--insecure-storage', *option)} (a file "
        "only you can read; no keyring is usable here)"
    )
    return (
        "rgpu-exec: the key you typed works; kubectl will ask for it again in each new command "
        f"until you keep it: {store}, or export {settings.ENV_API_KEY}."
    )


def _clock_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%H:%M:%S UTC")
