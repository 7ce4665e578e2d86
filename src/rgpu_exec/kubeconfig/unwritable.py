"""A KUBECONFIG list that rgpu-exec cannot write to (`KUBECONFIG=/dev/null`), refused with the
setting under which the same command works (the CLI prints it with the command line).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import private_files, settings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.kubeconfig.files import Targets


def refuse_unwritable_list(targets: Targets, flag: str | None, environ: Mapping[str, str]) -> None:
    """A KUBECONFIG list whose file for new entries is one rgpu-exec never writes (a device, a
    FIFO: `KUBECONFIG=/dev/null`): refused before anything is sent or written, with the setting
    under which the same command works (`RgpuExecError.rerun_with`): the list's other files,
    else kubectl's default `~/.kube/config`, when that one is writable."""
    problem = private_files.write_target_problem(str(targets.default), follow=True)
    if flag or problem is None or not settings.kubeconfig_list(environ):
        return
    message = (
        f"the kubeconfig {targets.default} {problem}. kubectl can read it, but rgpu-exec writes "
        f"only a regular file: choose one with --kubeconfig (or {settings.ENV_KUBECONFIG}); "
        "nothing was changed."
    )
    kept = [
        str(p) for p in targets.paths if not private_files.write_target_problem(str(p), follow=True)
    ]
    default = str(Path(settings.home(environ), ".kube", "config"))
    if not kept and private_files.write_target_problem(default, follow=True):
        raise UsageError(message)  # kubectl's default is no regular file either
    refused = UsageError(message)
    refused.rerun_with = (settings.ENV_KUBECONFIG, os.pathsep.join(kept) or default)
    raise refused
