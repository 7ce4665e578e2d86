"""What every doctor check returns: findings, each with its fix when it is a problem."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "note", "problem"]


@dataclass(frozen=True)
class Finding:
    topic: str
    status: Status
    detail: str
    fix: str | None = None


def problem_count(findings: list[Finding]) -> int:
    return sum(f.status == "problem" for f in findings)
