"""The use case of `rgpu-exec kubeconfig list`: the contexts that run rgpu-exec, as kubectl
merges the kubeconfig files (`kubeconfig.listing`). Reads only: nothing is written, nothing is
asked of the network."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import private_files
from rgpu_exec.kubeconfig import listing
from rgpu_exec.kubeconfig import view as kubeconfig_view

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.kubeconfig.listing import ManagedContext


@dataclass(frozen=True)
class KubeconfigListRequest:
    kubeconfig: str | None = None  # `--kubeconfig`: that file only
    context: str | None = None  # `--context`: that context only


@dataclass(frozen=True)
class KubeconfigListResult:
    files: list[str]  # the kubeconfig files read, in kubectl's order
    contexts: list[ManagedContext]  # by name
    # Where kubectl looks (`--kubeconfig`, else KUBECONFIG's files, else ~/.kube/config): what
    # to name when no file was found there.
    looked_at: list[str] = field(default_factory=list)
    # Of those, what is no regular file (`KUBECONFIG=/dev/null`: "/dev/null is a device, …"),
    # as the write gate's path rule says it.
    not_files: list[str] = field(default_factory=list)


def run(request: KubeconfigListRequest, environ: Mapping[str, str]) -> KubeconfigListResult:
    """The managed contexts of `--kubeconfig` (else KUBECONFIG, else ~/.kube/config); with
    `context`, that one only (a UsageError when it does not run rgpu-exec). A file that cannot
    be read is a UsageError (exit 2), as kubectl would refuse it too."""
    config, contexts = listing.load(request.kubeconfig, environ)
    looked_at = kubeconfig_view.kubeconfig_files(request.kubeconfig, environ)
    context = request.context
    if context is not None:
        contexts = [c for c in contexts if c.name == context]
        if not contexts:
            what = (
                "does not run rgpu-exec"
                if context in config.contexts
                else f"is not in {', '.join(config.files)}"
                if config.files
                else f"is not there: no kubeconfig file was found at {', '.join(looked_at)}"
            )
            raise UsageError(
                f"context {context!r} {what}"
                " (`rgpu-exec kubeconfig list` lists the contexts that run rgpu-exec)."
            )
    not_files = [
        f"{path} {problem}"
        for path in looked_at
        if (problem := private_files.write_target_problem(str(Path(path).absolute()), follow=True))
        and Path(path).exists()
    ]
    return KubeconfigListResult(config.files, contexts, looked_at, not_files)
