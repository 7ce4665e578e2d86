"""The cache's own files, found by its naming rule (`<64 hex digits><suffix>`): listed, and
removed for `cache clear`, `login` and `logout`. Nothing else in a cache directory is ever
taken for the cache's, so one pointed at a project by mistake loses nothing of the project's.

Not on the cache-hit path: `hotpath/py` reads and writes single entries.
"""

from __future__ import annotations

import os
from pathlib import Path

from rgpu_exec.hotpath.private_files import TEMP_SUFFIX, read_private
from rgpu_exec.hotpath.token_cache import (
    ACCEPTED_SUFFIX,
    ENTRY_SUFFIX,
    FAILURE_SUFFIX,
    FORCED_SUFFIX,
    LOCK_SUFFIX,
    SERVED_SUFFIX,
    TYPED_SUFFIX,
    WRITTEN_SUFFIXES,
    Entry,
    file_path,
    parse_entry,
    remove,
)

_ALL_SUFFIXES = (
    ENTRY_SUFFIX,
    LOCK_SUFFIX,
    FAILURE_SUFFIX,
    SERVED_SUFFIX,
    FORCED_SUFFIX,
    ACCEPTED_SUFFIX,
    TYPED_SUFFIX,
)
_STEM_LENGTH = 64  # hex digits of a SHA-256
_HEX = frozenset("0123456789abcdef")


def is_stem(name: str) -> bool:
    """Whether `name` is a stem of ours: 64 lower-case hex digits (see `entry_stem`)."""
    return len(name) == _STEM_LENGTH and set(name) <= _HEX


def _own_files(directory: str, suffix: str) -> list[str]:
    """The stems of the files named `<stem><suffix>` in the directory, and nothing else."""
    try:
        names = sorted(os.listdir(directory))  # noqa: PTH208 - names, not paths
    except OSError:
        return []
    return [n[: -len(suffix)] for n in names if n.endswith(suffix) and is_stem(n[: -len(suffix)])]


def iter_entries(directory: str) -> list[tuple[str, Entry | None]]:
    """Every entry file in the directory, parsed (None where it is not a valid entry)."""
    return [
        (stem, parse_entry(read_private(file_path(directory, stem, ENTRY_SUFFIX))))
        for stem in _own_files(directory, ENTRY_SUFFIX)
    ]


def purge(directory: str, stems: list[str]) -> int:
    """Remove these entries with all their files; how many entries were removed.

    Also removes every recorded failure (they are only seconds of damping): after a login or a
    logout, a failure such as "no API key" must not be replayed to kubectl. And every record of
    `second_ask` whose entry is gone, and every note of a typed key (`typed_key`: it sits beside
    an entry that a typed key never has).
    """
    removed = 0
    for stem in stems:
        try:
            Path(file_path(directory, stem, ENTRY_SUFFIX)).unlink()
            removed += 1
        except FileNotFoundError:
            pass
        for suffix in _ALL_SUFFIXES[1:]:
            remove(directory, stem, suffix)
    for stem in _own_files(directory, FAILURE_SUFFIX):
        remove(directory, stem, FAILURE_SUFFIX)
    entries = set(_own_files(directory, ENTRY_SUFFIX))
    for suffix in (SERVED_SUFFIX, FORCED_SUFFIX, ACCEPTED_SUFFIX, TYPED_SUFFIX):
        for stem in set(_own_files(directory, suffix)) - entries:
            remove(directory, stem, suffix)
    return removed


def purge_matching(
    directory: str, *, namespace_id: str | None = None, identity: str | None = None
) -> int:
    """Remove the entries of this namespace and of this identity (`token_cache.profile_identity`
    for a profile's), each filter when given, as `purge` does; how many. The one rule of which
    tokens `cache clear --namespace-id/--profile`, `login` and `logout` remove."""
    stems = [
        stem
        for stem, entry in iter_entries(directory)
        if entry is not None
        and (namespace_id is None or entry.key.namespace_id == namespace_id)
        and (identity is None or entry.key.identity == identity)
    ]
    return purge(directory, stems)


def stems_in(directory: str) -> list[str]:
    """The stem of every file the cache keeps (entries, locks, failures, `second_ask`'s records),
    each once. Files not named by the cache's own rule (`<64 hex digits><suffix>`) are never
    counted as its own."""
    return sorted({stem for suffix in _ALL_SUFFIXES for stem in _own_files(directory, suffix)})


def orphaned_temp_files(directory: str) -> list[str]:
    """Temp files (`<stem>.token.<pid>.<n>.tmp`, see `write_atomically`) whose writer is gone:
    a process killed between writing and renaming. A live writer's file is left alone."""
    try:
        names = sorted(os.listdir(directory))  # noqa: PTH208 - names, not paths
    except OSError:
        return []
    orphans = []
    for name in names:
        parts = name.split(".")
        if len(parts) != 5 or not name.endswith(TEMP_SUFFIX) or not is_stem(parts[0]):  # noqa: PLR2004
            continue
        if "." + parts[1] not in WRITTEN_SUFFIXES or not parts[2].isdigit():
            continue
        if not _process_alive(int(parts[2])):
            orphans.append(name)
    return orphans


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, or no such call here: assume alive
        return True
    return True
