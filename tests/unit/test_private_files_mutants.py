"""How the cache writes its files (`hotpath.private_files`), pinned where mutation testing
(`make mutation`) found no test holding it: a file written through its link is judged by its
target, a new directory is private from the moment it exists, a first-wins write works where
the file system has no hard links, and a directory that cannot be examined is not named as one
others can write to."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

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
