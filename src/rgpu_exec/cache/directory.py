"""Where the token cache lives, as every command finds it, and what to do when it is refused."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec import fixes
from rgpu_exec.hotpath import settings

if TYPE_CHECKING:
    from collections.abc import Mapping


def cache_directory(environ: Mapping[str, str]) -> str:
    """The token cache directory, exactly as the cache-hit path chooses it (`settings.cache_dir`);
    platformdirs only where that needs more than the environment (Windows)."""
    directory = settings.cache_dir(environ)
    if directory is None:
        import platformdirs  # noqa: PLC0415

        directory = platformdirs.user_cache_dir(settings.APP_NAME, appauthor=False)
    return directory


def cache_directory_fix(directory: str) -> str:
    """What to do about a cache directory that `private_files.directory_problem` refuses."""
    if not Path(directory).is_absolute():
        return (
            f"set {settings.ENV_CACHE_DIR} to an absolute path, such as "
            f"{Path(directory).absolute()} (or ~/{directory}), or unset it"
        )
    if Path(directory).is_symlink():
        return (
            f"replace the link with a directory of yours ({fixes.command('rm', directory)} "
            f"and {fixes.command('mkdir', '-m', '700', directory)}), or set "
            f"{settings.ENV_CACHE_DIR} to a private directory"
        )
    if Path(directory).exists() and not Path(directory).is_dir():
        return (
            f"remove that file, or set {settings.ENV_CACHE_DIR} to a directory of yours "
            "(rgpu-exec creates it, mode 700)"
        )
    return (
        f"{fixes.command('chmod', '700', directory)} (and make it yours), or set "
        f"{settings.ENV_CACHE_DIR} to a private directory"
    )
