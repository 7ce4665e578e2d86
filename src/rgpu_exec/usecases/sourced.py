"""A value the command line, the environment or a default gave, with where it came from:
resolved once, in `commands/`, and handed to a use case in its request (never the raw flag).

Shared by the use cases as `key_exchange` is: a value type, nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from rgpu_exec.errors import UsageError

T = TypeVar("T")


@dataclass(frozen=True)
class Sourced(Generic[T]):
    """`resolved`: the value (the flag's, else the environment's, else the default); `source`:
    where it came from, in words for a message (`--api-url`, `REMOTEGPU_API_URL`, …); `given`:
    whether the command line gave it (a flag beats what a kubeconfig context says); `problem`:
    why the value is refused, raised only where it is used (`value`), so a bad environment
    variable stops only a command that needs it."""

    resolved: T
    source: str
    given: bool = False
    problem: str | None = None

    @property
    def value(self) -> T:
        if self.problem:
            raise UsageError(self.problem)
        return self.resolved

    @property
    def flag(self) -> T | None:
        """The value when the command line gave it, else None."""
        return self.value if self.given else None
