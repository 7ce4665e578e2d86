"""The use case of `rgpu-exec kubeconfig list`: the contexts that run rgpu-exec, as kubectl
merges the kubeconfig files (`kubeconfig.listing`). Reads only: nothing is written, nothing is
asked of the network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rgpu_exec.kubeconfig import listing

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.kubeconfig.listing import ManagedContext


@dataclass(frozen=True)
class Contexts:
    files: list[str]  # the kubeconfig files read, in kubectl's order
    contexts: list[ManagedContext]  # by name


def list_contexts(kubeconfig: str | None, environ: Mapping[str, str]) -> Contexts:
    """The managed contexts of `--kubeconfig` (else KUBECONFIG, else ~/.kube/config). A file
    that cannot be read is a UsageError (exit 2), as kubectl would refuse it too."""
    config, contexts = listing.load(kubeconfig, environ)
    return Contexts(config.files, contexts)
