"""The failure gate of `rgpu-exec token` (part of the `token` use case, `usecases.token`).

kubectl runs a failing plugin 5 or 6 times per command, and prints its stderr every time. So
every failure of `token` passes one function, `damped`: told in full the first time, then in one
line (`failures.Failure.replay`) for `FAILURE_DAMPING_SECONDS`, with the same exit code and
without reaching the API. A failure of an entry is recorded beside it (`<stem>.fail`), where both
paths of `token` read it before they act; one found before the request is known (malformed exec
info, a refused flag or setting), under the hash of what was told (`failures.told_stem`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rgpu_exec import output
from rgpu_exec.errors import ApiError, RecentFailureError, RgpuExecError
from rgpu_exec.hotpath import failures, private_files, settings
from rgpu_exec.terminal import shown

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from rgpu_exec.hotpath import token_cache

# How long a failure is told in one line to kubectl's reruns (and the API not asked again).
# (The stale fallback's intervals and deadline are `hotpath.failures`'s.)
FAILURE_DAMPING_SECONDS = 5.0


@dataclass
class Where:
    """Where a failure of one run of `token` is recorded, as far as the run got: the cache
    directory, then the entry and the settings it is exchanged under once the request is known.
    `falls_back`: a refresh failed other than by the API's verdict (`api_errors.is_verdict`)."""

    directory: str | None = None
    slot: token_cache.CacheKey | None = None
    exchange_settings: Callable[[], str] | None = None
    falls_back: bool = False

    def record(
        self, exc: RgpuExecError, now: float, stale: token_cache.Entry | None = None
    ) -> failures.Failure:
        """The failure's record: damped `FAILURE_DAMPING_SECONDS`, or while `stale` is served
        (`failures.retry_after`)."""
        window = failures.retry_after(stale, now) if stale else FAILURE_DAMPING_SECONDS
        under = self.exchange_settings
        return failures.Failure(
            now,
            now + window,
            int(exc.exit_code),
            isinstance(exc, ApiError) and exc.transient,
            # The hot path replays it as it is: it passes the output gate now.
            output.clean(shown(str(exc), lines=True)),
            settings_hash=failures.settings_hash(under()) if under is not None else "",
            key=self.slot,
            fallback=self.falls_back,
        )


def damped(
    failure: RgpuExecError,
    where: Where,
    environ: Mapping[str, str],
    now: float,
    told_for: tuple[str | None, ...],
) -> RecentFailureError | None:
    """The one gate every failure of `token` passes: None the first time (the failure is
    recorded; raise it as it is), else the same failure told in one line (a RecentFailureError
    with its exit code) while its record is open. `told_for`: the flags it was told for."""
    if isinstance(failure, RecentFailureError):
        return None  # a replay already
    if where.slot is None or where.directory is None:
        directory = settings.cache_dir(environ)  # quietly: a failure is being told
        if directory is None or private_files.directory_problem(directory):
            return None
        told = [str(failure.exit_code), str(failure), *told_for, settings.exec_info(environ)]
        stem = failures.told_stem(*(part or "" for part in told))
        where = Where(directory)
    else:
        directory, stem = where.directory, where.slot.stem
    told_before = failures.damp(
        directory, stem, where.record(failure, now), where.exchange_settings
    )
    if told_before is None:
        return None
    return RecentFailureError(told_before.replay(now), told_before.exit_code)
