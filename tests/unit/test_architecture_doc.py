"""docs/architecture.md's table of cache files says what the code writes: each file's suffix,
first line and the names of the lines that follow, in order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rgpu_exec.hotpath import failures, second_ask, token_cache, typed_key

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
FORMATS = {
    token_cache.ENTRY_SUFFIX: (token_cache.ENTRY_MAGIC, token_cache.ENTRY_FIELDS),
    token_cache.FAILURE_SUFFIX: (failures.FAILURE_MAGIC, failures.FAILURE_FIELDS),
    token_cache.SERVED_SUFFIX: (
        second_ask.SERVED_MAGIC,
        second_ask.SERVED_FIELDS,
    ),
    token_cache.FORCED_SUFFIX: (second_ask.FORCED_MAGIC, second_ask.FORCED_FIELDS),
    token_cache.ACCEPTED_SUFFIX: (second_ask.ACCEPTED_MAGIC, second_ask.ACCEPTED_FIELDS),
    token_cache.TYPED_SUFFIX: (typed_key.TYPED_MAGIC, typed_key.TYPED_FIELDS),
    token_cache.LOCK_SUFFIX: ("(empty)", ()),
}


def documented() -> dict[str, tuple[str, tuple[str, ...]]]:
    """suffix → (first line, names of the lines after it), from the table's rows."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`<stem>"):
            continue
        suffix = cells[0].strip("`").removeprefix("<stem>")
        first = cells[1].strip("`")
        # The line names: the backticked words before "lines" (or "line") in the third cell.
        names = re.match(r"^((?:`[a-z_]+`(?:, )?)*) lines?\b", cells[2])
        fields = tuple(re.findall(r"`([a-z_]+)`", names[1])) if names else ()
        rows[suffix] = (first, fields)
    return rows


@pytest.mark.parametrize("suffix", list(FORMATS))
def test_the_cache_file_table_matches_the_code(suffix):
    assert documented()[suffix] == FORMATS[suffix]


def test_every_documented_cache_file_is_one_the_code_writes():
    assert (
        set(documented())
        == set(FORMATS)
        == {*token_cache.WRITTEN_SUFFIXES, token_cache.LOCK_SUFFIX}
    )
