"""The use cases of `rgpu-exec cache list` and `cache clear`: describe and empty the token cache.

Never shows a token: an entry is described by its API URL, namespace, whose it is (a keyring
profile, or the SHA-256 of a key from the environment), when it expires and its state. A failure
recorded moments ago (replayed to kubectl's reruns, see `cache_hit.lookup`) is listed too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from rgpu_exec.cache import files as cache_files
from rgpu_exec.cache.directory import cache_directory, cache_directory_fix
from rgpu_exec.credentials import file_store, keyring_store
from rgpu_exec.credentials.api_key import KeySource, describe_source
from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import failures, private_files, settings, token_cache
from rgpu_exec.hotpath.exec_credential import rfc3339
from rgpu_exec.kubeconfig import listing
from rgpu_exec.redact import key_prefix

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.hotpath.token_cache import CacheKey, Entry


State = Literal["fresh", "refresh-due", "expired", "invalid", "failed"]


def state(entry: Entry | None, now: float) -> State:
    if entry is None:
        return "invalid"
    if entry.fresh(now):
        return "fresh"
    return "refresh-due" if entry.valid(now) else "expired"


def _identity(key: CacheKey) -> dict[str, Any]:
    kind, _, who = key.identity.partition(":")
    return {
        "api_url": key.api_url,
        "namespace_id": key.namespace_id,
        "identity_kind": "profile" if kind == "profile" else "env-key",
        "identity": who if kind == "profile" else shown_identity(key.identity),
    }


def describe(directory: str, now: float) -> list[dict[str, Any]]:
    """Every token entry, then every failure still being replayed (never a token)."""
    rows: list[dict[str, Any]] = []
    entries = cache_files.iter_entries(directory)
    for stem, entry in entries:
        row: dict[str, Any] = {"file": stem + token_cache.ENTRY_SUFFIX, "state": state(entry, now)}
        if entry is not None:
            row |= _identity(entry.key)
            row |= {
                "issued_at": rfc3339(entry.issued_at),
                "expires_at": rfc3339(entry.expires_at),
                "expires_in_seconds": round(entry.expires_at - now),
            }
        rows.append(row)
    known = {stem: entry for stem, entry in entries if entry is not None}
    for stem in cache_files.stems_in(directory):
        # A failure past its window is no longer replayed: harmless, and not listed.
        failure = failures.read_failure(directory, stem, now)
        if failure is None:
            continue
        row = {"file": stem + token_cache.FAILURE_SUFFIX, "state": "failed"}
        if stem in known:
            row |= _identity(known[stem].key)
        elif failure.key is not None and failure.key.stem == stem:
            row |= _identity(failure.key)
        row |= {
            "replayed_until": rfc3339(failure.until),
            "expires_in_seconds": round(failure.until - now),
            "exit_code": failure.exit_code,
            "message": " ".join(failure.message.split()),
        }
        rows.append(row)
    return rows


SHOWN_FINGERPRINT = 8  # hex digits of a key's fingerprint that may be shown (never the whole)


def shown_identity(identity: str) -> str:
    """An identity as it may be shown: a profile's whole, a key's fingerprint cut short."""
    kind, _, value = identity.partition(":")
    return identity if kind == "profile" else f"{kind}:{value[:SHOWN_FINGERPRINT]}"


def key_owners(rows: list[dict[str, Any]], environ: Mapping[str, str]) -> dict[str, str]:
    """`<identity_kind>:<identity>` → whose key obtained those tokens, for people: by its
    prefix when that is known (the key a keyring profile holds now, which `login` made the
    profile's only one; the `REMOTEGPU_API_KEY` set now, when its fingerprint matches), else a
    key from the environment by the start of its fingerprint. Never a whole key."""
    env_key = settings.api_key(environ)
    where = settings.config_dir(environ)
    secret = token_cache.read_secret(where) if env_key and where else None
    env_identity = (
        shown_identity(token_cache.key_identity(env_key, secret)) if env_key and secret else None
    )
    owners: dict[str, str] = {}
    for row in rows:
        kind, identity = row.get("identity_kind"), row.get("identity")
        name = f"{kind}:{identity}"
        if identity is None or name in owners:
            continue
        if kind == "profile":
            source: KeySource = "keyring"
            stored = keyring_store.get_key(str(identity))
            if not stored:
                try:
                    stored = file_store.get_key(str(identity), environ)
                    source = "file"
                except file_store.KeyFileError:
                    stored = None
            origin = describe_source(source if stored else "keyring", str(identity))
            owners[name] = f"{key_prefix(stored)} {origin}" if stored else f"a key {origin}"
        elif env_key is not None and identity == env_identity:
            owners[name] = f"{key_prefix(env_key)} {describe_source('env', None)}"
        else:
            fingerprint = str(identity).partition(":")[2]
            # A key from the environment or typed at a prompt: which, nothing here can tell.
            owners[name] = (
                f"a key from {settings.ENV_API_KEY} or a prompt, fingerprint {fingerprint}…"
            )
    return owners


@dataclass(frozen=True)
class CacheListRequest:
    """`cache list`: `--kubeconfig`, `--context` (that context's namespace only), and whether
    to name whose key obtained each entry and the namespaces (`name_owners`: that asks the
    keyring and reads the kubeconfig; a script reading the fingerprints needs neither)."""

    kubeconfig: str | None = None
    context: str | None = None
    name_owners: bool = True


@dataclass(frozen=True)
class CacheListResult:
    """`cache list`: the directory, why it is not used (if it is not), its rows (never a token),
    whose key obtained each (`key_owners`) and the namespaces' names from the kubeconfig."""

    directory: str
    problem: str | None
    rows: list[dict[str, Any]]
    owners: dict[str, str]
    names: dict[str, str]

    @property
    def fix(self) -> str:
        """What to do about the directory's problem."""
        return cache_directory_fix(self.directory)


def run_list(request: CacheListRequest, environ: Mapping[str, str], now: float) -> CacheListResult:
    """The cache's entries and recorded failures; owners and names only when `name_owners` (they
    ask the keyring and read the kubeconfig: `kubeconfig`, else kubectl's files). With `context`,
    only the entries for that context's namespace (a UsageError when it does not run
    rgpu-exec)."""
    kubeconfig, context = request.kubeconfig, request.context
    directory = cache_directory(environ)
    problem = private_files.directory_problem(directory)
    rows = describe(directory, now)
    if context is not None:
        namespace_id = _namespace_of(context, kubeconfig, environ)
        rows = [r for r in rows if r.get("namespace_id") == namespace_id]
    if not request.name_owners:
        return CacheListResult(directory, problem, rows, {}, {})
    names = listing.namespace_names(kubeconfig, environ)
    return CacheListResult(directory, problem, rows, key_owners(rows, environ), names)


def _namespace_of(context: str, kubeconfig: str | None, environ: Mapping[str, str]) -> str:
    config, managed = listing.load(kubeconfig, environ)
    found = next((c for c in managed if c.name == context), None)
    if found is None or found.namespace_id is None:
        raise UsageError(listing.not_managed(context, config))
    return found.namespace_id


@dataclass(frozen=True)
class CacheClearRequest:
    """`cache clear`: only this namespace's and this profile's tokens (None: any); validated."""

    namespace_id: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class CacheClearResult:
    directory: str
    removed: int  # how many tokens


def run_clear(request: CacheClearRequest, environ: Mapping[str, str]) -> CacheClearResult:
    """`cache clear`: the directory and how many tokens were removed (see `clear`)."""
    directory = cache_directory(environ)
    problem = private_files.directory_problem(directory)
    if problem:
        # Not a directory of ours: nothing in it is a token rgpu-exec cached (it uses none of
        # it), and what is there may well be someone else's.
        raise UsageError(
            f"the cache directory {directory} {problem}, so rgpu-exec neither caches tokens "
            f"there nor clears it; nothing was removed. To fix: "
            f"{cache_directory_fix(directory)}."
        )
    return CacheClearResult(directory, clear(directory, request.namespace_id, request.profile))


def clear(directory: str, namespace_id: str | None, profile: str | None) -> int:
    """Remove the matching entries (all of the cache's files when no filter is given), and temp
    files orphaned by a killed writer; how many tokens. Only files named by the cache's own rule
    are ever removed. `namespace_id` and `profile` are validated already (`hotpath.request`)."""
    for name in cache_files.orphaned_temp_files(directory):  # left by a killed writer
        token_cache.remove(directory, name, "")
    if namespace_id is None and profile is None:
        tokens = len(cache_files.iter_entries(directory))
        for stem in cache_files.stems_in(directory):
            for suffix in (token_cache.ENTRY_SUFFIX, token_cache.LOCK_SUFFIX):
                token_cache.remove(directory, stem, suffix)
        cache_files.purge(directory, [])
        return tokens
    identity = token_cache.profile_identity(profile) if profile else None
    return cache_files.purge_matching(directory, namespace_id=namespace_id, identity=identity)
