"""The cache directory is rgpu-exec's only where it is provably so: `cache clear`, `login` and
`logout` touch only files named by the cache's own rule; a symlinked or foreign-owned directory is
refused; planted FIFOs never hang the plugin; a killed writer's temp files are cleaned up."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from rgpu_exec.hotpath import private_files, token_cache

from conftest import API_KEY, NAMESPACE_ID, CliRun, RunCli, key_identity
from exchange_answers import FakeApi  # noqa: TC001 - a fixture annotation

API = "https://api.remotegpu.ai"
PROJECT_FILES = ("Cargo.lock", "poetry.lock", "yarn.lock", "build.token", "notes.fail")


def cli_env(run_cli: RunCli, *args: str, **env: str) -> CliRun:
    """`rgpu-exec args…` with these variables set."""
    return run_cli([*args], env=env)


def cached_entry(directory: Path, identity: str) -> Path:
    now = time.time()
    key = token_cache.CacheKey(API, NAMESPACE_ID, identity)
    token_cache.write_entry(str(directory), token_cache.Entry(key, now, now + 900, "tok"))
    return directory / (key.stem + token_cache.ENTRY_SUFFIX)


@pytest.fixture
def project(sandbox: Path) -> Path:
    """A project directory someone pointed RGPU_EXEC_CACHE_DIR at, with files of its own."""
    directory = sandbox / "project"
    directory.mkdir(mode=0o755)
    for name in PROJECT_FILES:
        (directory / name).write_text(f"{name}: the project's own\n")
    return directory


def test_cache_clear_removes_only_files_named_by_the_cache(run_cli, project):
    entry = cached_entry(project, token_cache.profile_identity("default"))

    result = cli_env(run_cli, "cache", "clear", RGPU_EXEC_CACHE_DIR=str(project))

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"rgpu-exec: removed 1 cached token from {project}.\n"
    assert not entry.exists()
    assert sorted(p.name for p in project.iterdir()) == sorted(PROJECT_FILES)
    assert all((project / n).read_text() == f"{n}: the project's own\n" for n in PROJECT_FILES)


def test_cache_clear_refuses_a_symlinked_cache_directory(run_cli, sandbox, project):
    entry = cached_entry(project, token_cache.profile_identity("default"))
    link = sandbox / "cache-link"
    link.symlink_to(project)

    result = cli_env(run_cli, "cache", "clear", RGPU_EXEC_CACHE_DIR=str(link))

    assert result.returncode == 2
    assert result.stderr.startswith(f"rgpu-exec: the cache directory {link} is a symbolic link")
    assert "nothing was removed" in result.stderr
    assert entry.exists()


def test_a_symlinked_cache_directory_is_not_used_but_kubectl_gets_a_token(
    run_cli, sandbox, project, fake_api: FakeApi
):
    link = sandbox / "cache-link"
    link.symlink_to(project)
    argv = ["token", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url]

    first = cli_env(run_cli, *argv, RGPU_EXEC_CACHE_DIR=str(link), REMOTEGPU_API_KEY=API_KEY)
    second = cli_env(run_cli, *argv, RGPU_EXEC_CACHE_DIR=str(link), REMOTEGPU_API_KEY=API_KEY)

    assert (first.returncode, second.returncode) == (0, 0), first.stderr
    assert '"token"' in first.stdout
    assert "is a symbolic link" in first.stderr
    assert fake_api.count == 2  # nothing cached through the link
    assert sorted(p.name for p in project.iterdir()) == sorted(PROJECT_FILES)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another uid needs root")
def test_cache_clear_refuses_a_cache_directory_owned_by_another_user(run_cli, project):
    entry = cached_entry(project, token_cache.profile_identity("default"))
    os.chown(project, 65534, 65534)  # nobody

    result = cli_env(run_cli, "cache", "clear", RGPU_EXEC_CACHE_DIR=str(project))

    assert result.returncode == 2
    assert "is owned by another user (uid 65534)" in result.stderr
    assert entry.exists()


@pytest.mark.slow  # a child process gives a PID that is surely dead
def test_cache_clear_removes_temp_files_orphaned_by_a_killed_writer(run_cli, sandbox):
    directory = sandbox / "cache"
    entry = cached_entry(directory, token_cache.profile_identity("default"))
    stem = entry.name.removesuffix(".token")
    dead = _dead_pid()
    orphan = directory / f"{stem}.token.{dead}.12345.tmp"
    live = directory / f"{stem}.token.{os.getpid()}.67890.tmp"  # a writer still at work
    for path in (orphan, live):
        path.write_text("partial")

    result = cli_env(run_cli, "cache", "clear", "--namespace-id", NAMESPACE_ID)

    assert result.returncode == 0, result.stderr
    assert not orphan.exists()
    assert live.exists()


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("suffix", [".token", ".fail"])
def test_a_fifo_planted_as_a_cache_file_never_hangs_the_plugin(
    run_cli, sandbox, fake_api: FakeApi, suffix
):
    directory = sandbox / "cache"
    directory.mkdir(mode=0o700)
    identity = key_identity()
    stem = token_cache.CacheKey(fake_api.url, NAMESPACE_ID, identity).stem
    os.mkfifo(directory / (stem + suffix), 0o600)
    argv = ["token", "--namespace-id", NAMESPACE_ID, "--api-url", fake_api.url]

    result = cli_env(run_cli, *argv, REMOTEGPU_API_KEY=API_KEY)  # timeout=60: never hangs

    assert result.returncode == 0, result.stderr
    assert '"token"' in result.stdout
    assert fake_api.count == 1


def test_directory_creation_rechecks_owner_and_mode_after_losing_a_race(sandbox, monkeypatch):
    directory = sandbox / "raced"
    real_mkdir = os.mkdir

    def another_process_wins(path: str, mode: int = 0o777) -> None:
        real_mkdir(path, 0o777)  # created first by someone else, with a careless mode
        Path(path).chmod(0o777)
        raise FileExistsError(path)

    monkeypatch.setattr(os, "mkdir", another_process_wins)
    with pytest.raises(PermissionError, match="writable by other users"):
        private_files.ensure_directory(str(directory))
