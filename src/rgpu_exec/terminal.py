"""Output for people: colour only on a terminal that wants it, aligned table columns, and the one
display rule for strings that come from outside (`shown`)."""

from __future__ import annotations

from rgpu_exec.hotpath import settings

TYPE_CHECKING = False  # typing costs a TAB's completion its import
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import TextIO

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


def shown(text: str, *, lines: bool = False) -> str:
    """`text` as it may be written to a terminal: every character a terminal would act on
    rather than print (control characters and escape sequences, bidirectional overrides, line
    separators, any character Python does not call printable) written as a visible escape
    (`\\x1b`, `\\u202e`); everything else unchanged. With `lines`, newlines are kept (a
    message of several lines). Every string from a file, the network or the environment goes
    through it before it is shown: a name with ESC[8m (conceal) cannot hide part of a message,
    nor a carriage return rewrite a line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or (lines and c == "\n") else _escape(c) for c in text)


def printable(text: str) -> bool:
    """Whether `shown` leaves `text` as it is (nothing in it to escape)."""
    return text.isprintable()


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:  # noqa: PLR2004
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"  # noqa: PLR2004


def table(rows: list[list[str]], header: list[str]) -> list[list[str]]:
    """Cells padded to align in columns (colour is applied after padding, so widths hold); each
    cell as `shown`, so a table never prints a control character it was given."""
    rows = [[shown(cell) for cell in row] for row in rows]
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
