"""The use cases of `rgpu-exec cache list` and `cache clear`: describe and empty the token cache.

Never shows a token: an entry is described by its API URL, namespace, whose it is (a keyring
profile, or the SHA-256 of a key from the environment), when it expires and its state. A failure
recorded moments ago (replayed to kubectl's reruns, see `token_cache.lookup`) is listed too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from rgpu_exec.hotpath import token_cache
from rgpu_exec.hotpath.exec_credential import rfc3339

if TYPE_CHECKING:
    from rgpu_exec.hotpath.token_cache import Entry


State = Literal["fresh", "refresh-due", "expired", "invalid", "failed"]


def state(entry: Entry | None, now: float) -> State:
    if entry is None:
        return "invalid"
    if entry.fresh(now):
        return "fresh"
    return "refresh-due" if entry.valid(now) else "expired"


def _identity(entry: Entry) -> dict[str, Any]:
    kind, _, who = entry.key.identity.partition(":")
    return {
        "api_url": entry.key.api_url,
        "namespace_id": entry.key.namespace_id,
        "identity_kind": "profile" if kind == "profile" else "env-key",
        "identity": who if kind == "profile" else entry.key.identity,
    }


def describe(directory: str, now: float) -> list[dict[str, Any]]:
    """Every token entry, then every failure still being replayed (never a token)."""
    rows: list[dict[str, Any]] = []
    entries = token_cache.iter_entries(directory)
    for stem, entry in entries:
        row: dict[str, Any] = {"file": stem + token_cache.ENTRY_SUFFIX, "state": state(entry, now)}
        if entry is not None:
            row |= _identity(entry)
            row |= {
                "issued_at": rfc3339(entry.issued_at),
                "expires_at": rfc3339(entry.expires_at),
                "expires_in_seconds": round(entry.expires_at - now),
            }
        rows.append(row)
    known = {stem: entry for stem, entry in entries if entry is not None}
    for stem in token_cache.stems_in(directory):
        # A failure past its window is no longer replayed: harmless, and not listed.
        failure = token_cache.read_failure(directory, stem, now)
        if failure is None:
            continue
        row = {"file": stem + token_cache.FAILURE_SUFFIX, "state": "failed"}
        if stem in known:
            row |= _identity(known[stem])
        row |= {
            "replayed_until": rfc3339(failure.until),
            "expires_in_seconds": round(failure.until - now),
            "exit_code": failure.exit_code,
            "message": " ".join(failure.message.split()),
        }
        rows.append(row)
    return rows


def clear(directory: str, namespace_id: str | None, profile: str | None) -> int:
    """Remove the matching entries (all of the cache's files when no filter is given), and temp
    files orphaned by a killed writer; how many tokens. Only files named by the cache's own rule
    are ever removed. `namespace_id` and `profile` are validated already (`hotpath.request`)."""
    for name in token_cache.orphaned_temp_files(directory):  # left by a killed writer
        token_cache.remove(directory, name, "")
    entries = token_cache.iter_entries(directory)
    if namespace_id is None and profile is None:
        tokens = len(entries)
        for stem in token_cache.stems_in(directory):
            for suffix in (token_cache.ENTRY_SUFFIX, token_cache.LOCK_SUFFIX):
                token_cache.remove(directory, stem, suffix)
        token_cache.purge(directory, [])
        return tokens
    identity = token_cache.profile_identity(profile) if profile else None
    stems = [
        stem
        for stem, entry in entries
        if entry is not None
        and (namespace_id is None or entry.key.namespace_id == namespace_id)
        and (identity is None or entry.key.identity == identity)
    ]
    return token_cache.purge(directory, stems)
