"""What every doctor check returns: findings, each with its fix when it is a problem.

A finding is for people (`detail`, `fix`) and for the doctor's own decisions (`kind`, `about`).
A decision never reads `detail` back: it asks for a kind and takes the values the finding is
about (the kubectl that was found, the kuberc that denies plugins, the variable that names a
CA file), so a path or a name that happens to hold `" ("` or a word of a message cannot change
what the doctor does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["ok", "note", "problem"]
# The findings other checks decide on. `about` holds, for each kind:
Kind = Literal[
    "kubectl-found",  # path: the kubectl found on PATH, version: what it says it is
    "plugins-denied",  # kuberc: the file whose credentialPluginPolicy is DenyAll
    "ca-file-unusable",  # variable, path: a CA setting whose file cannot be loaded
    "deadline-refused",  # variable, value: RGPU_EXEC_DEADLINE as set
    "api-url-refused",  # url, source: an API URL `token` refuses, and where it comes from
    "key-unusable",  # profile: no key, or one that cannot be a key, for the doctor's profile
    "exec-command-missing",  # context, command: an exec command kubectl cannot start
]


@dataclass(frozen=True)
class Finding:
    topic: str
    status: Status
    detail: str
    fix: str | None = None
    kind: Kind | None = None  # None: no other check decides on it
    about: dict[str, str] = field(default_factory=dict)

    @property
    def facts(self) -> tuple[Kind | None, tuple[tuple[str, str], ...]]:
        """What the finding says, without its wording: two findings with the same facts are
        the same finding, whatever context they were worded for."""
        return self.kind, tuple(sorted(self.about.items()))


def problem_count(findings: list[Finding]) -> int:
    return sum(f.status == "problem" for f in findings)


def of_kind(findings: list[Finding], kind: Kind, status: Status | None = None) -> list[Finding]:
    """The findings of this kind (and status, when given), in order."""
    return [f for f in findings if f.kind == kind and (status is None or f.status == status)]
