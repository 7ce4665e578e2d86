"""A key in the wrong variable: when no key is found, name the variables that hold something
shaped like a RemoteGPU key (`RGPU_API_KEY`, `REMOTEGPU_KEY` …) and print the command that
copies one into `REMOTEGPU_API_KEY`. A guess, worded as one ("looks like"): the key's shape is
an assumption of the contract, never a gate. Names only: a value is never shown.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rgpu_exec.hotpath import settings
from rgpu_exec.redact import looks_like_remotegpu_key

if TYPE_CHECKING:
    from collections.abc import Mapping

# At most this many variables are named (a guess, not an inventory of the environment).
MOST_NAMED = 3
# A name a POSIX shell expands as `"$NAME"` as it stands: the only names the fix may hold.
_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# A value as the console shows a key: no quotes, spaces or anything a header cannot carry.
_URL_SAFE = re.compile(r"[A-Za-z0-9_-]{1,256}")


def key_shaped_variables(environ: Mapping[str, str]) -> list[str]:
    """The names (sorted; at most `MOST_NAMED`) of the variables other than REMOTEGPU_API_KEY
    whose value is shaped like a RemoteGPU key, exactly as it stands (no quotes, no spaces)."""
    found = (
        name
        for name, value in environ.items()
        if name != settings.ENV_API_KEY
        and _SHELL_NAME.fullmatch(name)
        and _URL_SAFE.fullmatch(value)
        and looks_like_remotegpu_key(value)
    )
    return sorted(found)[:MOST_NAMED]


def copy_command(name: str) -> str:
    """`export REMOTEGPU_API_KEY="$RGPU_API_KEY"`: the shell copies the value (never printed).
    Not `shlex.join`: the `$` must stay a shell expansion; `name` is a plain shell name
    (`_SHELL_NAME`, checked), so nothing else is expanded."""
    if not _SHELL_NAME.fullmatch(name):
        msg = f"not a shell variable name: {name!r}"
        raise ValueError(msg)
    return f'export {settings.ENV_API_KEY}="${name}"'


def misplaced_key_hint(environ: Mapping[str, str]) -> str:
    """A sentence naming the key-shaped variables and the command that uses the first, or ""."""
    names = key_shaped_variables(environ)
    if not names:
        return ""
    listed = ", ".join(names)
    holds = "looks like it holds" if len(names) == 1 else "look like they hold"
    return (
        f" {listed} {holds} a RemoteGPU key, but rgpu-exec reads {settings.ENV_API_KEY}: "
        f"`{copy_command(names[0])}` (then run the command again)."
    )
