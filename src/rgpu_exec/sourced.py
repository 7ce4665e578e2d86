"""A value the command line, the environment or a default gave, with where it came from:
resolved once, in `commands/`, and handed to a use case in its request (never the raw flag).

Shared by the use cases as `key_exchange` is: a value type, nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import request, settings

if TYPE_CHECKING:
    from collections.abc import Mapping

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
    rerun_with: tuple[str, str] | None = None  # the setting that fixes `problem` (errors.py)

    @property
    def value(self) -> T:
        if self.problem:
            refused = UsageError(self.problem)
            refused.rerun_with = self.rerun_with
            raise refused
        return self.resolved

    @property
    def flag(self) -> T | None:
        """The value when the command line gave it, else None."""
        return self.value if self.given else None


def checked(resolved: tuple[T, str | None]) -> T:
    """The value of a `hotpath.request.resolve_*` answer, or its refusal as a usage error
    (exit 2): the one place a (value, problem) pair becomes one or the other."""
    value, problem = resolved
    if problem:
        raise UsageError(problem)
    return value


def api_url(flag: str | None, environ: Mapping[str, str]) -> Sourced[str]:
    """`--api-url`, else `REMOTEGPU_API_URL`, else the default, with its source. A value the
    rules refuse is a usage error where it is used (`Sourced.value`)."""
    url, problem = request.resolve_api_url(flag, environ)
    source = request.api_url_source(flag, environ)
    guess = request.api_url_guess(url) if problem and source == settings.ENV_API_URL else None
    rerun = (settings.ENV_API_URL, guess) if guess else None
    return Sourced(url, source, bool(flag), problem, rerun)


def profile(flag: str | None, environ: Mapping[str, str]) -> Sourced[str]:
    """`--profile`, else `RGPU_EXEC_PROFILE`, else `default`, with its source (as `api_url`)."""
    name, problem = request.resolve_profile(flag, environ)
    if flag:
        source = "--profile"
    elif settings.profile(None, environ) != settings.DEFAULT_PROFILE:
        source = settings.ENV_PROFILE
    else:
        source = "the default"
    return Sourced(name, source, bool(flag), problem)
