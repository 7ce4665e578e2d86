"""The commands an output offers to paste, read as a user would copy them (one reader for the
in-process tests; tests/wrong_turns.py reads whole transcripts)."""

from __future__ import annotations

import re
import shlex


def printed_command(text: str, program: str) -> list[str]:
    """The argv of the first command in backticks that runs `program`."""
    found = [c for c in re.findall(r"`([^`]*)`", text) if c.startswith(program + " ")]
    assert found, text
    return shlex.split(found[0])
