"""The second-ask records (`hotpath.second_ask`), pinned where mutation testing (`make mutation`)
found no test holding them: the edges of the windows they answer within, and a record without
its time."""

from __future__ import annotations

from pathlib import Path

from rgpu_exec.hotpath import second_ask, token_cache

from conftest import API_KEY, NAMESPACE_ID
from exchange_answers import API, KUBECTL_EXEC_INFO

KEY = token_cache.CacheKey(API, NAMESPACE_ID, token_cache.key_identity(API_KEY, b"s" * 32))


def test_a_clusters_yes_answers_from_the_moment_it_was_said(tmp_path: Path) -> None:
    directory = str(tmp_path)
    now = 10_000.0
    entry = token_cache.Entry(KEY, now, now + 900, "tok")
    second_ask.note_accepted(directory, entry, now, KUBECTL_EXEC_INFO)

    assert second_ask.accepted_recently(directory, entry, now, KUBECTL_EXEC_INFO)
    assert not second_ask.accepted_recently(directory, entry, now - 0.001, KUBECTL_EXEC_INFO), (
        "a yes from the future (a clock set back) answers nothing"
    )


def test_a_clusters_yes_recorded_without_a_time_answers_nothing(tmp_path: Path) -> None:
    directory = str(tmp_path)
    now = 10_000.0
    entry = token_cache.Entry(KEY, now, now + 900, "tok")
    second_ask.note_accepted(directory, entry, now, KUBECTL_EXEC_INFO)
    path = Path(token_cache.file_path(directory, KEY.stem, token_cache.ACCEPTED_SUFFIX))
    path.write_text(path.read_text().replace(f"at {now!r}", "at soon"))

    assert not second_ask.accepted_recently(directory, entry, now, KUBECTL_EXEC_INFO)
