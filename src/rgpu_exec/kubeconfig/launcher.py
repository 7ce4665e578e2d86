"""The command an exec stanza runs by default: the launcher the user ran, by the path that stays.

kubectl runs the stanza's `command` as written. A path (absolute here) is run as it is: when it
no longer exists kubectl says `fork/exec <path>: no such file or directory` and shows no
installHint. A bare name is looked up on kubectl's own PATH: when none is found kubectl shows the
installHint. The default is a path, so that kubectl needs no PATH (IDEs, GUI clients and services
often start with a minimal one), and the path chosen is the one a reinstall puts back:

1. the launcher this process runs as: `sys.argv[0]` when it is `rgpu-exec` (the kernel passes the
   path it executed, so a run through pipx's link `~/.local/bin/rgpu-exec` sees the link, not the
   file in the virtual environment it points to); the `rgpu-exec` beside `kubectl-rgpu` for a
   run as `kubectl rgpu`; else the one beside the interpreter (`python -m rgpu_exec`);
2. PATH's `rgpu-exec`, written as PATH names it (absolute, links not followed), when it is that
   same file: what the user's shell runs, and what pipx links again after `pipx reinstall`;
3. else the launcher's own path, absolute, links not followed (a virtual environment's launcher
   run by its path, with no link to it on PATH);
4. else PATH's `rgpu-exec`; else a usage error that names --exec-command.

On Windows kubectl starts executables only (Go's exec.Command: an `.exe`), and `rgpu-exec` is a
script there: the command is the entry point pip makes for the package, `kubectl-rgpu.exe` (see
`[project.scripts]`), chosen by the same rule (pip's wrapper gives `sys.argv[0]` without `.exe`).
It runs the same `token` command, without the cache-hit shortcut of the launcher.

`doctor` names the same command in its fix for an exec command that is gone.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import settings

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

LAUNCHER = settings.APP_NAME  # scripts/rgpu-exec, installed as a script file
PLUGIN = "kubectl-rgpu"  # the entry point pip makes (an .exe on Windows)
WINDOWS_COMMAND = PLUGIN + ".exe"
_EXE = ".exe"


@dataclass(frozen=True)
class Process:
    """Where the running process was started from: what the default command is chosen by."""

    argv0: str  # as the kernel passed it (pip's Windows wrapper drops `.exe`)
    executable: str  # sys.executable
    scripts: str | None = None  # the interpreter's scripts folder (sysconfig)
    platform: str = sys.platform

    @classmethod
    def current(cls) -> Process:
        return cls(
            sys.argv[0] if sys.argv else "",
            sys.executable,
            sysconfig.get_path("scripts"),
            sys.platform,
        )

    @property
    def windows(self) -> bool:
        return self.platform == "win32"

    @property
    def command_name(self) -> str:
        """The file kubectl can run: the launcher, or on Windows the entry point's `.exe`."""
        return WINDOWS_COMMAND if self.windows else LAUNCHER

    def runnable(self, path: str) -> bool:
        """Whether kubectl could start this file: an executable regular file (an `.exe` on
        Windows, where every file passes the execute check)."""
        if not Path(path).is_file():
            return False
        if self.windows:
            return path.lower().endswith(_EXE)
        return os.access(path, os.X_OK)


def default_command(environ: Mapping[str, str], process: Process | None = None) -> str:
    """The exec command `generate` and `import` write without --exec-command (the rule above)."""
    process = process or Process.current()
    ran = launcher_ran(process)
    found = on_path(process, environ)
    if ran is not None and found is not None and _same_file(ran, found):
        return found
    if ran is not None:
        return ran
    if found is not None:
        return found
    raise UsageError(
        f"cannot find the installed {settings.APP_NAME} command to write into the "
        f"kubeconfig. Pass its path with --exec-command (or --exec-command "
        f"{settings.APP_NAME} to use PATH)."
    )


def launcher_ran(process: Process) -> str | None:
    """The launcher this process runs as (step 1 of the rule), absolute, links not followed."""
    name = process.command_name
    folders: list[Path] = []
    if process.argv0:
        path = Path(process.argv0).absolute()  # not resolved: a link stays the link
        if path.name.removesuffix(_EXE) in (LAUNCHER, PLUGIN):
            folders.append(path.parent)
    folders.append(Path(process.executable).parent)
    if process.scripts:
        folders.append(Path(process.scripts))
    return _first(process.runnable, [str(f / name) for f in folders])


def on_path(process: Process, environ: Mapping[str, str]) -> str | None:
    """The command PATH finds, as PATH names it: only absolute PATH entries count (kubectl runs
    in another directory)."""
    separator = ";" if process.windows else ":"
    folders = [Path(f) for f in settings.search_path(environ).split(separator) if f]
    name = process.command_name
    return _first(process.runnable, [str(f / name) for f in folders if f.is_absolute()])


def bare_name_works(command: str, process: Process, environ: Mapping[str, str]) -> bool:
    """Whether typing the command's bare name finds this very file on PATH (so a fix may say
    `rgpu-exec …` rather than the whole path)."""
    found = on_path(process, environ)
    return found is not None and _same_file(found, command)


def _first(runnable: Callable[[str], bool], paths: list[str]) -> str | None:
    return next((p for p in paths if runnable(p)), None)


def _same_file(one: str, other: str) -> bool:
    try:
        return Path(one).samefile(other)
    except OSError:
        return False
