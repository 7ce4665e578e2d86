"""A fix: the one owner of the commands rgpu-exec tells people to run.

A fix names a command only as one that runs as printed: `command` builds it from its argv
parts, each shown by the display rule (`terminal.shown`) and shell-quoted (`shlex.join`), in
backticks, so a context named `a b` or `$(rm -rf ~)` is one word that does nothing else. A
value that is not known is never a hole in a command (`…`, `<ID>`, `NAME`): the fix says where
to find it instead. `sequence` joins such commands with `&&`. Two builders stay outside, each
for a reason it states: the hot path's `request.setting_the_api_url` (the hot path imports the
standard library only) and `misplaced_key.copy_command` (its `"$NAME"` must stay a shell
expansion). `placeholder` is that rule; a test holds every command written in the
source to it (tests/unit/test_fixes.py), and every value put in one to `command`.
"""

from __future__ import annotations

import re
import shlex

from rgpu_exec import terminal

# What in a command would be a placeholder rather than a value: an ellipsis, an <ANGLE> word,
# or a word in capitals alone (NAME, ID, URL, FILE, B64), except a variable being exported or
# unset (the shell's own grammar). Compiled when first used (by the test of the source's
# commands), not when a message is built.
_PLACEHOLDER = r"…|\.\.\.|<[A-Za-z][^<>]*>"
_CAPS_WORD = r"[A-Z][A-Z0-9]+"
_TAKES_A_NAME = frozenset({"export", "unset"})


def command(*argv: str) -> str:
    """`argv` as a command to paste and run: every part shown and quoted, in backticks."""
    return f"`{shlex.join(terminal.shown(part) for part in argv)}`"


def sequence(*argvs: list[str]) -> str:
    """Commands run one after the other (`a && b`), each built as `command` builds one."""
    return "`" + " && ".join(command(*argv).strip("`") for argv in argvs) + "`"


def placeholder(command_text: str) -> str | None:
    """The first placeholder in one command's text, or None when it runs as it stands."""
    found = re.search(_PLACEHOLDER, command_text)
    if found:
        return found.group(0)
    try:
        words = shlex.split(command_text)
    except ValueError:
        return command_text  # unbalanced quotes: it cannot run as printed
    for before, word in zip(["", *words], words, strict=False):
        if re.fullmatch(_CAPS_WORD, word) and before not in _TAKES_A_NAME:
            return word
    return None
