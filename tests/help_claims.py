"""What a command's `--help` claims, read back for tests: the exit codes it lists.

`listed_exit_codes(("kubeconfig", "import"))` gives the codes that command's `--help` lists in
its `exit codes:` block; `exit_codes_in_help(text)` reads them from a help text already printed.
The help is built in this process from the CLI's own parser (no process, no I/O, no state left
behind), so any test may ask, the e2e catalogue included: each exit code a command returns there
must be one its `--help` lists.
"""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

_BLOCK = "\nexit codes:\n"
# `  2  bad flags …`: two spaces, the code, two spaces; continuation lines are indented further.
_CODE_LINE = re.compile(r"^  (\d+)  \S", re.MULTILINE)


def exit_codes_in_help(text: str) -> frozenset[int]:
    """The exit codes listed in the `exit codes:` block of a `--help` text (empty: no block)."""
    _, found, block = text.partition(_BLOCK)
    if not found:
        return frozenset()
    block = block.split("\n\n", 1)[0]  # the block ends at the first blank line, if any
    return frozenset(int(code) for code in _CODE_LINE.findall(block))


def help_text(command: Sequence[str]) -> str:
    """The `--help` of a command (`()` for the top level, `("cache", "list")` for a subcommand),
    as `rgpu-exec COMMAND --help` prints it."""
    from rgpu_exec import cli

    parser: argparse.ArgumentParser = cli.build_parser(
        prog="rgpu-exec", command=command[0] if command else ""
    )
    for word in command:
        parser = _subcommands(parser)[word]
    return parser.format_help()


def listed_exit_codes(command: Sequence[str]) -> frozenset[int]:
    """The exit codes a command's `--help` lists."""
    return exit_codes_in_help(help_text(command))


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}
