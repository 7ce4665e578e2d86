"""Output for people: colour only on a terminal that wants it, and aligned table columns."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from rgpu_exec.hotpath import settings

if TYPE_CHECKING:
    from collections.abc import Mapping

_COLOURS = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2"}


def colour_on(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set or TERM=dumb."""
    if not settings.colour_wanted(environ):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def paint(text: str, colour: str, on: bool) -> str:
    return f"\033[{_COLOURS[colour]}m{text}\033[0m" if on else text


def table(rows: list[list[str]], header: list[str]) -> list[list[str]]:
    """Cells padded to align in columns (colour is applied after padding, so widths hold)."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        for row in [header, *rows]
    ]


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def shown(text: str) -> str:
    """A string from a file or the network, fit for a terminal: control characters (escape
    sequences among them) made visible as `\\x1b`-style escapes, never passed through."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
