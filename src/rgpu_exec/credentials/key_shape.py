"""The one rule of an API key's shape: what cannot be a key in any format (refused before
anything is sent, `key_problem`), the shape RemoteGPU keys are documented to have (a guess for a
diagnosis, worded as one: `shape_note`), and the part of a key that may be shown
(`shown_prefix`). The key's format is the API's to judge: only what no key can be is refused."""

from __future__ import annotations

from rgpu_exec.hotpath import settings
from rgpu_exec.redact import (
    KEY_ID_HEX_DIGITS,
    KEY_PREFIX_LENGTH,
    KEY_START,
    key_prefix,
    looks_like_remotegpu_key,
)

KEY_SECRET_LENGTH = 32
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def looks_like_key(value: str) -> bool:
    """Exactly the documented raw key, with its 32-character url-safe secret."""
    secret = value[KEY_PREFIX_LENGTH + 1 :]
    return (
        looks_like_remotegpu_key(value)
        and len(secret) == KEY_SECRET_LENGTH
        and set(secret) <= _URL_SAFE
    )


_QUOTES = "'\"`"  # curly quotes are not ASCII: refused before this
# A shell variable's name as people write one, in capitals: `NAME=` at the start of a value is an
# assignment pasted whole (a key has no `=` before its end).
_DIGITS = frozenset("0123456789")
_VARIABLE_NAME = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") | _DIGITS
# Only a name that says it holds a secret counts: the key's format is an assumption, and a key
# of another format could start with capitals and hold `=` (base64 padding, say).
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET")
KEY_LENGTH = KEY_PREFIX_LENGTH + 1 + KEY_SECRET_LENGTH
KEY_SHAPE = f"{KEY_START}, {KEY_ID_HEX_DIGITS} hex characters, _, {KEY_SECRET_LENGTH} characters"


def key_problem(value: str) -> str | None:
    """Why this value cannot be an API key in any format, or None: the one key rule, for every
    source (environment, keyring, prompt, `login`). Refused here only what no key can be:
    empty, wrapped in (or starting or ending with) quotes, starting with `NAME=` (an assignment
    pasted whole), or holding whitespace, control or non-ASCII characters, which no HTTP header
    carries. Everything else is sent: the key's
    format is the API's to judge (the documented shape is an assumption, see `shape_note`).
    Says nothing of the value itself."""
    if not value:
        return "is empty"
    if not _header_safe(value):
        return NOT_HEADER_SAFE
    if len(value) >= 2 and value[0] in _QUOTES and value[-1] in _QUOTES:  # noqa: PLR2004
        return "is wrapped in quotes, which became part of the value"
    if value[:1] in _QUOTES or value[-1:] in _QUOTES:
        return "starts or ends with a quote, which became part of the value"
    name, equals, rest = value.partition("=")
    if (
        name[:1] not in _DIGITS
        and set(name) <= _VARIABLE_NAME
        and any(word in name for word in _SECRET_WORDS)  # a key in another format may hold `=`
        and equals
        and rest.strip("=")
    ):
        said = f"{name}=" if name == settings.ENV_API_KEY else "a variable's name and ="
        return f"starts with {said} (a whole NAME=value assignment was pasted as the value)"
    return None


def shape_note(value: str) -> str | None:
    """How a key the API rejected differs from the shape RemoteGPU keys are documented to have
    (`KEY_SHAPE`), for the diagnosis; None when it has that shape. A guess, worded as one: the
    API decides what a key is."""
    if looks_like_key(value):
        return None
    if not value.startswith(KEY_START):
        what = f"it does not start with {KEY_START!r}"
    elif len(value) != KEY_LENGTH:
        what = f"it has {len(value)} characters, not {KEY_LENGTH}"
    else:
        what = f"it is not {KEY_SHAPE}"
    return (
        f"The key does not have the usual shape of a RemoteGPU API key ({what}): maybe it was "
        "cut short, pasted with something else, or is another service's key."
    )


def shown_prefix(value: str) -> str:
    """` (rgpu_3f9a2c1b…)` for a value shaped like a RemoteGPU key (also inside stray quotes),
    else nothing: the first characters of anything else may well be secret."""
    inner = value.strip(_QUOTES)
    return f" ({key_prefix(inner)})" if looks_like_remotegpu_key(inner) else ""


NOT_HEADER_SAFE = "contains spaces, line breaks or control characters (or non-ASCII ones)"


def _header_safe(value: str) -> bool:
    # An HTTP header carries ASCII only: anything else cannot be a key, and must not get as far
    # as the HTTP client (which would fail on it with an encoding error, exit 1).
    return value.isascii() and not any(c.isspace() or not c.isprintable() for c in value)
