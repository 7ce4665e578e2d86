"""A wait the user cannot see is bounded: run a piece of work with a wall-clock limit on the
whole of it (every read has a timeout, but an answer that trickles in a byte at a time never
trips one). Used for every request to a server: the RemoteGPU API, doctor's probe, a cluster."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

_T = TypeVar("_T")


class TooSlowError(Exception):
    """`finish_within` stopped waiting."""


def finish_within(seconds: float, work: Callable[[], _T], name: str) -> _T:
    """What `work()` returns or raises, run in a daemon thread; TooSlowError after `seconds`.

    Every read has a timeout, but an answer that trickles in a byte at a time never trips one;
    this bounds the whole. The thread is then abandoned, and the process exits soon after.
    """
    results: list[_T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(work())
        except BaseException as exc:  # handed over to the caller's thread
            errors.append(exc)

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    worker.join(seconds)
    if errors:
        raise errors[0]
    if results:
        return results[0]
    raise TooSlowError
