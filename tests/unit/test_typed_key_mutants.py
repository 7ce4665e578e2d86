"""The typed key's note (`hotpath.typed_key`), pinned where mutation testing (`make mutation`)
found no test holding it: a note is read only exactly as it is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from rgpu_exec.hotpath import token_cache, typed_key

from conftest import KUBECTL_PID

STEM = "a" * 64
IDENTITY = "key-hmac:" + "b" * 64


@pytest.mark.xfail(
    strict=True,
    reason=(
        "granted reads the note's time with float(), which takes blanks around the number: a "
        "note whose `at` line is padded is read as if it were written so"
    ),
)
@pytest.mark.parametrize("at_line", ["at  100.0", "at 100.0 "], ids=["two-spaces", "trailing"])
def test_a_note_whose_time_is_padded_grants_nothing(tmp_path: Path, at_line: str) -> None:
    path = Path(token_cache.file_path(str(tmp_path), STEM, token_cache.TYPED_SUFFIX))
    path.write_text(f"rgpu-exec-typed 1\nclient {KUBECTL_PID}\nidentity {IDENTITY}\n{at_line}\n")
    path.chmod(0o600)

    assert typed_key.granted(str(tmp_path), STEM, KUBECTL_PID, 100.0) is None
