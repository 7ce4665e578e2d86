"""Keep secrets out of everything we print or log: what of an API key may be shown (its prefix,
for a value of the RemoteGPU key's visible shape), and scrubbing it from text. Standard library
only: every layer uses it."""

from __future__ import annotations

from rgpu_exec.terminal import shown

# The documented raw key: `rgpu_` + 8 lower-case hex (the key id) + `_` + 32 url-safe characters.
# Its first 13 characters are its prefix, the only part ever shown.
KEY_START = "rgpu_"
KEY_ID_HEX_DIGITS = 8
KEY_PREFIX_LENGTH = len(KEY_START) + KEY_ID_HEX_DIGITS
# Anything shaped like a key (in a log line, say): its prefix is group 1.
KEY_PATTERN = rf"({KEY_START}[0-9a-f]{{{KEY_ID_HEX_DIGITS}}})_[A-Za-z0-9_-]+"
_HEX = frozenset("0123456789abcdef")


def looks_like_remotegpu_key(value: str) -> bool:
    """`rgpu_` + 8 lower-case hex + `_` + at least 16 more characters: enough of the documented
    shape that its first 13 characters are its prefix, not part of its secret."""
    return (
        value.startswith(KEY_START)
        and len(value) >= KEY_PREFIX_LENGTH + 1 + 16
        and value[KEY_PREFIX_LENGTH] == "_"
        and set(value[len(KEY_START) : KEY_PREFIX_LENGTH]) <= _HEX
    )


def key_prefix(api_key: str) -> str:
    """The part of a key that is safe to show: its first 13 characters, as the console does.

    Only a key shaped like a RemoteGPU key (`rgpu_` + 8 hex + `_` + its secret part) shows its
    prefix: anything else (another service's key pasted by mistake, a truncated key) shows at most
    4 characters, since its first 13 may well be secret.
    """
    if looks_like_remotegpu_key(api_key):
        return api_key[:KEY_PREFIX_LENGTH] + "…"
    return api_key[: min(4, len(api_key) // 4)] + "…"


def scrub(text: str, *secrets: str | None) -> str:
    """`text` with every occurrence of each secret replaced by a marker."""
    for secret in secrets:
        if secret and len(secret) >= 4:  # noqa: PLR2004
            text = text.replace(secret, "[REDACTED]")
    return text


def excerpt(body: bytes, *secrets: str | None, limit: int = 200) -> str:
    """A short excerpt of a response body for error messages: secrets removed, white space
    collapsed, cut to `limit` characters, and as `terminal.shown` shows it (control characters
    made visible)."""
    text = body[: limit * 4].decode("utf-8", errors="replace")
    text = scrub(text, *secrets)
    text = " ".join(text.split())
    return shown(text if len(text) <= limit else text[: limit - 1] + "…")
