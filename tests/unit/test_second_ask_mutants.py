"""The second-ask records (`hotpath.second_ask`), pinned where mutation testing (`make mutation`)
found no test holding them: the edges of the windows they answer within, and records read only
exactly as written, for the token they name; at most one forced refresh per window."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rgpu_exec.hotpath import second_ask, token_cache

from conftest import API_KEY, NAMESPACE_ID
from exchange_answers import API, KUBECTL_EXEC_INFO

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

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


NOW = 10_000.0
ENTRY = token_cache.Entry(KEY, NOW, NOW + 900, "tok")


def _accepted_record(directory: str, change: Callable[[list[str]], list[str]]) -> None:
    second_ask.note_accepted(directory, ENTRY, NOW, KUBECTL_EXEC_INFO)
    path = Path(token_cache.file_path(directory, KEY.stem, token_cache.ACCEPTED_SUFFIX))
    path.write_text("\n".join(change(path.read_text().split("\n"))))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda lines: ["rgpu-exec-accepted 1", *lines[1:]], id="another-format"),
        pytest.param(lambda lines: [*lines[:4], "more", ""], id="a-line-more"),
        pytest.param(lambda lines: [*lines[:3], "soon", ""], id="no-time"),
        pytest.param(lambda lines: [*lines[:3], "at soon", ""], id="not-a-time"),
        pytest.param(lambda lines: [*lines[:3], lines[3][3:], ""], id="time-unnamed"),
    ],
)
def test_a_clusters_yes_not_exactly_as_written_answers_nothing(
    tmp_path: Path, change: Callable[[list[str]], list[str]]
) -> None:
    _accepted_record(str(tmp_path), lambda lines: lines)
    assert second_ask.accepted_recently(str(tmp_path), ENTRY, NOW, KUBECTL_EXEC_INFO), "as written"

    _accepted_record(str(tmp_path), change)

    assert not second_ask.accepted_recently(str(tmp_path), ENTRY, NOW, KUBECTL_EXEC_INFO)


def test_a_clusters_yes_for_an_earlier_token_does_not_answer_for_the_next(tmp_path: Path) -> None:
    second_ask.note_accepted(str(tmp_path), ENTRY, NOW, KUBECTL_EXEC_INFO)
    newer = token_cache.Entry(KEY, NOW + 1, NOW + 901, "tok-2")

    assert not second_ask.accepted_recently(str(tmp_path), newer, NOW + 1, KUBECTL_EXEC_INFO)


def test_a_clusters_yes_is_written_as_the_format_says(tmp_path: Path) -> None:
    # The cache is shared by every rgpu-exec of the user: a record is read as documented.
    second_ask.note_accepted(str(tmp_path), ENTRY, NOW, KUBECTL_EXEC_INFO)

    path = Path(token_cache.file_path(str(tmp_path), KEY.stem, token_cache.ACCEPTED_SUFFIX))
    cluster = hashlib.sha256(KUBECTL_EXEC_INFO.strip().encode()).hexdigest()
    assert path.read_text() == (
        f"rgpu-exec-accepted 2\ntoken {NOW!r} {NOW + 900!r}\ncluster {cluster}\nat {NOW!r}\n"
    )


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(KUBECTL_EXEC_INFO + "\x0b", id="a-vertical-tab-after"),
        pytest.param("\xa0" + KUBECTL_EXEC_INFO, id="a-no-break-space-before"),
        pytest.param("X" + KUBECTL_EXEC_INFO, id="a-letter-before"),
    ],
)
def test_only_json_blanks_around_the_exec_info_leave_its_cluster_the_same(
    tmp_path: Path, other: str
) -> None:
    second_ask.note_accepted(str(tmp_path), ENTRY, NOW, KUBECTL_EXEC_INFO)

    assert second_ask.accepted_recently(str(tmp_path), ENTRY, NOW, " \t\r" + KUBECTL_EXEC_INFO)
    assert not second_ask.accepted_recently(str(tmp_path), ENTRY, NOW, other)


def test_an_exec_info_that_is_not_utf8_still_names_its_cluster(tmp_path: Path) -> None:
    # Bytes of the environment that are not UTF-8 reach Python as lone surrogates.
    strange = KUBECTL_EXEC_INFO.replace("false", "false\udcff")
    second_ask.note_accepted(str(tmp_path), ENTRY, NOW, strange)

    assert second_ask.accepted_recently(str(tmp_path), ENTRY, NOW, strange)
    assert not second_ask.accepted_recently(str(tmp_path), ENTRY, NOW, KUBECTL_EXEC_INFO)


CLIENT = 4242


def _asked_again_after_a_forced_refresh(directory: str, began: float, now: float) -> bool:
    """Whether the client asking again at `now` gets another forced refresh, the last one having
    begun at `began`."""
    second_ask.note(directory, ENTRY, CLIENT, NOW)  # it was given the token
    second_ask.begin_forced_refresh(directory, KEY.stem, began)
    return second_ask.asked_again(directory, ENTRY, CLIENT, now)


def test_a_forced_refresh_is_not_forced_again_within_its_window(tmp_path: Path) -> None:
    window = second_ask.FORCE_WINDOW
    assert not _asked_again_after_a_forced_refresh(str(tmp_path), NOW, NOW), "at once"
    assert not _asked_again_after_a_forced_refresh(str(tmp_path), NOW, NOW + window - 0.001)
    assert _asked_again_after_a_forced_refresh(str(tmp_path), NOW, NOW + window), "once past it"
    assert _asked_again_after_a_forced_refresh(str(tmp_path), NOW + 1, NOW), "not begun yet"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("rgpu-exec-forced 2\nat {now!r}\n", id="another-format"),
        pytest.param("rgpu-exec-forced 1\nat {now!r}\nmore\n", id="a-line-more"),
        pytest.param("rgpu-exec-forced 1\nat {now!r}", id="unended"),
        pytest.param("rgpu-exec-forced 1\n{now!r}\n", id="time-unnamed"),
        pytest.param("rgpu-exec-forced 1\nat soon\n", id="not-a-time"),
    ],
)
def test_a_forced_refresh_record_not_exactly_as_written_holds_nothing_back(
    tmp_path: Path, text: str
) -> None:
    directory = str(tmp_path)
    second_ask.note(directory, ENTRY, CLIENT, NOW)
    path = Path(token_cache.file_path(directory, KEY.stem, token_cache.FORCED_SUFFIX))
    path.write_text(text.format(now=NOW))
    path.chmod(0o600)

    assert second_ask.asked_again(directory, ENTRY, CLIENT, NOW)


def test_only_the_same_client_asking_again_for_a_fresh_token_is_a_second_ask(
    tmp_path: Path,
) -> None:
    directory = str(tmp_path)
    assert not second_ask.asked_again(directory, ENTRY, CLIENT, NOW), "its first ask"
    assert second_ask.asked_again(directory, ENTRY, CLIENT, NOW + 1), "the same client again"
    assert not second_ask.asked_again(directory, ENTRY, CLIENT + 1, NOW + 1), "another client"
    stale = ENTRY.refresh_at
    assert not second_ask.asked_again(directory, ENTRY, CLIENT, stale), "a token being refreshed"
    for _ in range(2):
        assert not second_ask.asked_again(directory, ENTRY, None, NOW), "a client not judged"


def test_a_client_not_judged_leaves_no_record(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    directory.mkdir()
    second_ask.note(str(directory), ENTRY, None, NOW)
    second_ask.asked_again(str(directory), ENTRY, None, NOW)

    assert list(directory.iterdir()) == []


def test_the_parent_is_judged_unless_it_is_pid_1(monkeypatch: pytest.MonkeyPatch) -> None:
    environ = {"KUBERNETES_EXEC_INFO": KUBECTL_EXEC_INFO}
    for parent, judged in ((2, 2), (1, None), (4242, 4242)):
        monkeypatch.setattr(os, "getppid", lambda parent=parent: parent)
        assert second_ask.client(environ) == judged
    assert second_ask.client({}) is None, "no exec protocol: nothing to judge"
    assert second_ask.client({"KUBERNETES_EXEC_INFO": " \n"}) is None


def test_a_client_told_an_expiry_exactly_its_margin_away_gets_a_later_one() -> None:
    told_in = second_ask.CLIENT_EXPIRY_MARGIN
    entry = token_cache.Entry(KEY, NOW, NOW + told_in + token_cache.KUBECTL_EXPIRY_SLACK, "tok")

    assert entry.kubectl_expiry(NOW) - NOW == told_in
    assert second_ask.wants_later_expiry(entry, NOW)
    assert not second_ask.wants_later_expiry(entry, NOW - 0.5)


def test_the_most_recent_clients_are_kept_when_the_record_is_written_again(
    tmp_path: Path,
) -> None:
    directory = str(tmp_path)
    clients = [str(5_000_000 + n) for n in range(130)]
    second_ask.note(directory, ENTRY, int(clients[0]), NOW)
    path = Path(token_cache.file_path(directory, KEY.stem, token_cache.SERVED_SUFFIX))
    header = path.read_text().removesuffix(clients[0] + "\n")
    path.write_text(header + "".join(f"{client}\n" for client in clients))
    assert path.stat().st_size > 1024, "past the size at which it is written again"

    second_ask.note(directory, ENTRY, 6_000_000, NOW)  # written again: the last ones kept

    kept = clients[1 - second_ask.MAX_CLIENTS :]
    assert path.read_text() == header + "".join(f"{c}\n" for c in [*kept, "6000000"])
    assert second_ask.asked_again(directory, ENTRY, int(kept[0]), NOW), "the oldest one kept"


def _copy(fd: int) -> int | None:
    try:
        return os.dup(fd)
    except OSError:  # closed already: left closed
        return None


@pytest.fixture
def descriptors_0_and_1() -> Iterator[None]:
    """The test may close descriptors 0 and 1 (stdin, stdout): they are put back after it."""
    saved = {fd: _copy(fd) for fd in (0, 1)}
    try:
        yield
    finally:
        for fd, copy in saved.items():
            if copy is None:
                with contextlib.suppress(OSError):
                    os.close(fd)
            else:
                os.dup2(copy, fd)
                os.close(copy)


@pytest.mark.usefixtures("descriptors_0_and_1")
def test_a_record_opened_as_descriptor_0_is_read(tmp_path: Path) -> None:
    # A plugin started with stdin closed: the record's open gets the lowest descriptor, 0.
    second_ask.note(str(tmp_path), ENTRY, CLIENT, NOW)
    os.close(0)

    assert second_ask.asked_again(str(tmp_path), ENTRY, CLIENT, NOW), "the same client again"


@pytest.mark.usefixtures("descriptors_0_and_1")
def test_a_first_ask_touches_no_descriptor_it_did_not_open(tmp_path: Path) -> None:
    stdout = os.fstat(1)

    assert not second_ask.asked_again(str(tmp_path), ENTRY, CLIENT, NOW), "no record yet"

    assert os.fstat(1).st_ino == stdout.st_ino, "stdout is still open"


def test_a_client_given_the_previous_token_is_not_asking_again_for_the_next(
    tmp_path: Path,
) -> None:
    second_ask.note(str(tmp_path), ENTRY, CLIENT, NOW)
    newer = token_cache.Entry(KEY, NOW + 1, NOW + 901, "tok-2")

    assert not second_ask.asked_again(str(tmp_path), newer, CLIENT, NOW + 1), "its first ask"
    assert second_ask.asked_again(str(tmp_path), newer, CLIENT, NOW + 2)


def test_a_record_of_exactly_the_compaction_size_is_written_again(tmp_path: Path) -> None:
    directory = str(tmp_path)
    second_ask.note(directory, ENTRY, CLIENT, NOW)
    path = Path(token_cache.file_path(directory, KEY.stem, token_cache.SERVED_SUFFIX))
    header = path.read_text().removesuffix(f"{CLIENT}\n")
    clients: list[str] = []
    left = second_ask._COMPACT_AT - len(header)
    while left >= 16:  # room for one more line of 8 and a last of 8 or more
        clients.append(str(5_000_000 + len(clients)))
        left -= 8
    clients.append("7" * (left - 1))
    path.write_text(header + "".join(f"{client}\n" for client in clients))
    assert path.stat().st_size == second_ask._COMPACT_AT

    second_ask.note(directory, ENTRY, 6_000_000, NOW)

    kept = [*clients[1 - second_ask.MAX_CLIENTS :], "6000000"]
    assert path.read_text() == header + "".join(f"{client}\n" for client in kept)


def test_a_record_that_cannot_be_added_to_makes_no_second_ask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    second_ask.note(str(tmp_path), ENTRY, CLIENT + 1, NOW)  # another client's record
    write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        if data == f"{CLIENT}\n".encode():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)

    assert not second_ask.asked_again(str(tmp_path), ENTRY, CLIENT, NOW), "its first ask"
