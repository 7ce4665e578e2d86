"""How the cache writes its files (`hotpath.private_files`), pinned where mutation testing
(`make mutation`) found no test holding it: a file written through its link is judged by its
target, a new directory is private from the moment it exists, a first-wins write works where
the file system has no hard links, a directory that cannot be examined is not named as one
others can write to, a refused write target or cache directory is named for what is wrong with
it, and one others may only enter is used; a private file is read whole up to its limit, also
where files have no owner id; a file right in a directory anyone may write is exposed."""

from __future__ import annotations

import errno
import os
import socket
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from rgpu_exec.hotpath import private_files


def test_a_path_written_through_its_link_is_refused_when_the_link_leads_to_a_directory(
    tmp_path: Path,
) -> None:
    target = tmp_path / "a-directory"
    target.mkdir()
    link = tmp_path / "config"
    link.symlink_to(target)

    with pytest.raises(private_files.RefusedPathError, match="is a directory"):
        private_files.check_write_target(str(link), follow=True)
    private_files.check_write_target(str(link), follow=False)  # a link itself is replaced


def test_a_new_cache_directory_is_private_from_the_moment_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = str(tmp_path / "cache")
    chmod = os.chmod
    modes_before_chmod: list[int] = []

    def chmod_seen(path: str, mode: int) -> None:
        modes_before_chmod.append(stat.S_IMODE(Path(path).stat().st_mode))
        chmod(path, mode)

    monkeypatch.setattr(os, "chmod", chmod_seen)
    old_umask = os.umask(0o022)  # the usual umask: it takes nothing of a mode it is not told
    try:
        private_files.ensure_directory(directory)
    finally:
        os.umask(old_umask)

    assert modes_before_chmod == [0o700], "nobody else may enter it, not even before its chmod"
    assert stat.S_IMODE(Path(directory).stat().st_mode) == 0o700


def test_a_first_wins_write_works_without_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_hard_links(source: str, destination: str) -> None:
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(os, "link", no_hard_links)
    directory = tmp_path / "cache"
    directory.mkdir()
    path = directory / "entry"

    assert private_files.write_atomically(str(path), "text", replace=False) is True
    assert path.read_text(encoding="utf-8") == "text"
    assert [p.name for p in directory.iterdir()] == ["entry"], "no temp file left"


def test_a_directory_that_cannot_be_examined_is_not_named_as_exposed(tmp_path: Path) -> None:
    # A file where a directory should be: `os.stat` of the path's directory fails.
    (tmp_path / "a-file").write_text("")
    unreachable = tmp_path / "a-file" / "below" / "config"

    assert private_files.exposed_directory(str(unreachable)) == (
        private_files.exposed_directory(str(tmp_path / "config"))
    )


def _made(tmp_path: Path, kind: str) -> str:
    path = tmp_path / kind
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        listening = socket.socket(socket.AF_UNIX)
        listening.bind(str(path))
        listening.close()
    else:
        return os.devnull
    return str(path)


@pytest.mark.parametrize(
    ("kind", "named"),
    [
        ("directory", "a directory"),
        ("fifo", "a FIFO (named pipe)"),
        ("socket", "a socket"),
        ("device", "a device"),
    ],
)
def test_a_refused_write_target_says_what_is_there(tmp_path: Path, kind: str, named: str) -> None:
    path = _made(tmp_path, kind)

    assert private_files.write_target_problem(path, follow=False) == (
        f"is {named}, not a regular file, so rgpu-exec never replaces it"
    )


def test_a_kind_of_file_without_a_name_is_said_to_be_no_regular_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a file system may have beside the kinds named (a Solaris door, a BSD whiteout):
    # here a mode of no kind at all.
    unnamed = os.stat_result((0o777, 0, 0, 1, 0, 0, 0, 0, 0, 0))
    target = str(tmp_path / "x")
    real_stat = os.stat

    def stat_of(path: str, *args: object, **kwargs: Any) -> os.stat_result:
        return unnamed if path == target else real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat_of)

    assert private_files.write_target_problem(target, follow=True) == (
        "is not a regular file, not a regular file, so rgpu-exec never replaces it"
    )


def test_where_files_have_no_owner_id_a_directory_is_judged_by_its_kind_and_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    monkeypatch.delattr(os, "geteuid")  # as on Windows

    assert private_files.directory_problem(str(directory)) is None
    directory.chmod(0o777)
    assert private_files.directory_problem(str(directory)) == (
        "is writable by other users (mode 0777)"
    )


def test_a_relative_cache_directory_is_refused_as_such() -> None:
    # The test runs in its own directory (the sandbox): "cache" is made there, then refused.
    with pytest.raises(PermissionError, match="is a relative path"):
        private_files.ensure_directory("cache")


def test_a_cache_directory_that_is_a_link_or_relative_is_refused_with_the_reason(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "cache"
    link.symlink_to(real)

    assert private_files.directory_problem(str(link)) == (
        "is a symbolic link (rgpu-exec keeps tokens only in a real directory of yours)"
    )
    assert private_files.write_target_problem("cache/entry", follow=False) == (
        "is a relative path (rgpu-exec writes only where an absolute path says)"
    )


def test_a_cache_directory_others_may_only_enter_is_used(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    directory.mkdir()
    directory.chmod(0o711)

    assert private_files.directory_problem(str(directory)) is None


def test_a_write_target_that_cannot_be_examined_says_why_in_words(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)

    assert private_files.write_target_problem(str(loop), follow=True) == (
        f"cannot be examined ({os.strerror(errno.ELOOP)})"
    )


def _private(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return str(path)


def test_a_private_file_is_read_whole_up_to_the_limit_and_refused_past_it(tmp_path: Path) -> None:
    most = private_files.MAX_FILE_BYTES

    assert private_files.read_private(_private(tmp_path / "full", "x" * most)) == "x" * most
    assert private_files.read_private(_private(tmp_path / "over", "x" * (most + 1))) is None


def test_where_files_have_no_owner_id_a_private_file_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _private(tmp_path / "entry", "text")
    monkeypatch.delattr(os, "geteuid")  # as on Windows

    assert private_files.read_private(path) == "text"


def test_a_file_right_in_a_directory_anyone_may_write_is_exposed_even_with_the_sticky_bit(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # as /tmp: others may still plant the file or its lock there

    assert private_files.exposed_directory(str(shared / "config")) == str(shared)


def test_a_link_at_the_path_is_replaced_not_judged_by_its_target(tmp_path: Path) -> None:
    elsewhere = tmp_path / "a-directory"
    elsewhere.mkdir()
    path = tmp_path / "entry"
    path.symlink_to(elsewhere)

    assert private_files.write_atomically(str(path), "text")
    assert not path.is_symlink()
    assert path.read_text(encoding="utf-8") == "text"


def test_a_link_planted_at_the_temp_files_name_is_never_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "monotonic_ns", lambda: 42)
    path = tmp_path / "entry"
    target = tmp_path / "target"
    target.write_text("theirs", encoding="utf-8")
    Path(f"{path}.{os.getpid()}.42{private_files.TEMP_SUFFIX}").symlink_to(target)

    with pytest.raises(FileExistsError):
        private_files.write_atomically(str(path), "text")
    assert target.read_text(encoding="utf-8") == "theirs"


def test_a_parent_made_by_another_process_meanwhile_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = tmp_path / "parent"
    parent.mkdir()
    isdir = os.path.isdir
    looked: list[str] = []

    def not_there_when_first_looked_for(path: str) -> bool:
        if path == str(parent) and not looked:
            looked.append(path)
            return False  # then made by another process, before this one makes it
        return isdir(path)

    monkeypatch.setattr(os.path, "isdir", not_there_when_first_looked_for)

    private_files.ensure_directory(str(parent / "cache"))

    assert (parent / "cache").is_dir()


def test_a_write_is_synced_to_disk_unless_it_is_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    fsync = os.fsync

    def fsync_seen(fd: int) -> None:
        synced.append(fd)
        fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_seen)

    private_files.write_atomically(str(tmp_path / "entry"), "text")
    assert len(synced) == 1, "an entry survives a crash"
    private_files.write_hint(str(tmp_path / "hint"), "text")
    assert len(synced) == 1, "a hint is not worth the wait"


def test_a_first_wins_write_loses_to_a_file_already_there(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    assert private_files.write_atomically(str(path), "first", replace=False) is True

    assert private_files.write_atomically(str(path), "second", replace=False) is False
    assert path.read_text(encoding="utf-8") == "first"
