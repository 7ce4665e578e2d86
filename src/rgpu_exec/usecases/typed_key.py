"""A key typed at `token`'s prompt (part of the `token` use case, `usecases.token`): asked for once
per kubectl command, kept nowhere.

Its token is cached under the key's fingerprint, which a later run cannot name without the key.
So when the key works, the run notes which kubectl process it answered (`hotpath.typed_key`: the
process ID and the entry's identity, never the key). Another run for that same process (gcloud's
kubectl dispatcher runs the plugin twice per command) is answered from that entry without a
prompt, by the rules of a second ask (`hotpath.second_ask`): the same token while it is fresh
and the cluster does not reject it. Where that cannot be decided, it asks again, and says why and
how not to be asked (`rgpu-exec login`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rgpu_exec import fixes
from rgpu_exec.hotpath import cache_hit, second_ask, settings, token_cache
from rgpu_exec.hotpath import typed_key as typed_note

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from rgpu_exec.credentials.api_key import ApiKey
    from rgpu_exec.hotpath import request


@dataclass
class TypedKey:
    """One run of `token` that has no key kept: what the key typed earlier in the same kubectl
    command still answers, and where the key typed now is cached."""

    directory: str | None
    wanted: request.ExecRequest
    environ: Mapping[str, str]
    clock: Callable[[], float]
    secret: Callable[[], bytes | None]
    cluster_accepts: Callable[[token_cache.Entry], bool | None]
    forced: token_cache.CacheKey | None = None  # a token of the typed key the cluster rejects
    why_again: str | None = None  # why the key is asked for again in the same command

    @property
    def client(self) -> int | None:
        return second_ask.client(self.environ)

    def without_prompt(self) -> cache_hit.Consulted | None:
        """What the key typed earlier in this kubectl command answers (a token, or a failure
        being damped); None to prompt, with `why_again` set when a key was typed in it."""
        client = self.client
        if self.directory is None or client is None:
            return None
        now = self.clock()
        stem = self.wanted.cache_key.stem
        identity = typed_note.granted(self.directory, stem, client, now)
        if identity is None:
            return None
        slot = token_cache.CacheKey(self.wanted.api_url, self.wanted.namespace_id, identity)
        _, found = cache_hit.lookup(self.directory, slot, now, self.wanted.exchange_settings)
        if not isinstance(found, token_cache.Entry):
            if found is None:
                self.why_again = "the token it got is due for renewal, which needs the key"
            return None if found is None else cache_hit.Consulted(found, now)
        directory = self.directory
        if not second_ask.asked_again(directory, found, client, now):
            return cache_hit.Consulted(found, now)
        verdict: list[bool | None] = []

        def accepts() -> bool | None:
            if second_ask.accepted_recently(directory, found, now, self._exec_info):
                verdict.append(True)
            else:
                verdict.append(self.cluster_accepts(found))
            return verdict[-1]

        if second_ask.kept(found, now, accepts):
            second_ask.note_accepted(directory, found, now, self._exec_info)
            return cache_hit.Consulted(found, now)
        self.forced = slot
        if verdict == [False]:
            self.why_again = (
                "the cluster no longer accepts the token it got, and a new one needs the key"
            )
        elif not verdict:  # not asked: the client wants a later expiry (`wants_later_expiry`)
            self.why_again = (
                "the token it got expires within minutes, and a later one needs the key"
            )
        else:
            self.why_again = (
                "kubectl asks again for the token it got: the cluster may have rejected it "
                "(or a kubectl dispatcher, such as gcloud's, runs this plugin twice per command), "
                "and the cluster could not be asked which, so a new token needs the key"
            )
        return None

    def slot(self, key: ApiKey) -> token_cache.CacheKey:
        """The entry of a typed key: named by its fingerprint, never by the profile (a second
        key typed for the same profile must not get the first key's token)."""
        secret = self.secret() if self.directory is not None else None
        identity = token_cache.key_identity(key.value, secret)
        return token_cache.CacheKey(self.wanted.api_url, self.wanted.namespace_id, identity)

    def cached(self, slot: token_cache.CacheKey) -> cache_hit.Consulted | None:
        """What the cache holds for the key just typed; None to exchange (a token the cluster
        rejects is replaced: the forced refresh is recorded)."""
        if self.directory is None:
            return None
        now = self.clock()
        if slot == self.forced:
            second_ask.begin_forced_refresh(self.directory, slot.stem, now)
            return None
        _, found = cache_hit.lookup(self.directory, slot, now, self.wanted.exchange_settings)
        return cache_hit.Consulted(found, now)

    def worked(self, slot: token_cache.CacheKey) -> None:
        """The key typed got a token: the same kubectl process need not type it again."""
        client = self.client
        if self.directory is not None and client is not None:
            stem = self.wanted.cache_key.stem
            typed_note.note(self.directory, stem, client, slot.identity, self.clock())

    def keep_it(self) -> str:
        """What a typed key that worked is followed by."""
        return keep_the_typed_key(self.wanted.profile, self.environ)

    def asked_again(self) -> str:
        """What the prompt in the same kubectl command is preceded by."""
        return (
            f"rgpu-exec: the key you typed is asked for again in this kubectl command: "
            f"{self.why_again}. {_keep_it(self.wanted.profile, self.environ)}"
        )

    @property
    def _exec_info(self) -> str | None:
        return settings.exec_info(self.environ)


def keep_the_typed_key(profile: str, environ: Mapping[str, str]) -> str:
    """After a typed key worked: every new kubectl command will ask for it again, unless it is
    kept somewhere `token` looks."""
    return (
        "rgpu-exec: the key you typed works; kubectl will ask for it again in each new command "
        f"until you keep it: {_store(profile, environ)}."
    )


def _keep_it(profile: str, environ: Mapping[str, str]) -> str:
    return f"Not to be asked at all, keep it: {_store(profile, environ)}."


def _store(profile: str, environ: Mapping[str, str]) -> str:
    from rgpu_exec.credentials import keyring_store  # noqa: PLC0415 - only after a prompt

    option = ["--profile", profile] if profile != settings.DEFAULT_PROFILE else []
    store = (
        f"{fixes.command('rgpu-exec', 'login', *option)} (the OS keyring)"
        if keyring_store.backend_problem(environ) is None
        else f"{fixes.command('rgpu-exec', 'login', '--insecure-storage', *option)} (a file "
        "only you can read; no keyring is usable here)"
    )
    return f"{store}, or export {settings.ENV_API_KEY}"
