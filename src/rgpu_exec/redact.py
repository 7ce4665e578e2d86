"""Keep secrets out of everything we print or log: what of an API key may be shown (its prefix,
for a value of the RemoteGPU key's visible shape), and scrubbing it from text. Standard library
only: every layer uses it."""

from __future__ import annotations

import base64
import re
import urllib.parse

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


# Any run of this many characters of a secret's secret part is scrubbed: an API that echoes
# part of a key (cut, upper-cased, URL-encoded, base64) must not reach output, logs or files.
PIECE = 8
_MARKER = "[REDACTED]"


def scrub(text: str, *secrets: str | None) -> str:
    """`text` with every occurrence of each secret replaced by a marker; and every piece of
    `PIECE` characters of its secret part (of a RemoteGPU key, what follows its prefix; of
    anything else, all of it), in any case, as it is, base64-encoded (standard or URL-safe, at
    any alignment) or percent-encoded."""
    wanted = [s for s in secrets if s and len(s) >= 4]  # noqa: PLR2004
    for secret in wanted:
        text = text.replace(secret, _MARKER)
    pieces: set[str] = set()
    for secret in wanted:
        pieces |= _pieces(_secret_part(secret))
    if not pieces:
        return text
    found = _BASE64_RUN.sub(
        lambda m: _MARKER if _decodes_to_piece(m.group(), pieces) else m.group(),
        _without_pieces(text, pieces),
    )
    if "%" in text:  # percent-encoded: judged on the decoded text, shown decoded when it leaks
        decoded = urllib.parse.unquote(found, errors="replace")
        if decoded != found and _without_pieces(decoded, pieces) != decoded:
            return _without_pieces(decoded, pieces)
    return found


def _secret_part(secret: str) -> str:
    if looks_like_remotegpu_key(secret):
        return secret[KEY_PREFIX_LENGTH + 1 :]
    return secret


def _pieces(part: str) -> set[str]:
    """Every `PIECE` characters of the secret part, lower-cased."""
    size = min(PIECE, len(part))
    return {part[i : i + size].lower() for i in range(len(part) - size + 1)}


# Base64 (standard or URL-safe) long enough to hold `PIECE` characters at any alignment.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{11,}={0,2}")


def _decodes_to_piece(run: str, pieces: set[str]) -> bool:
    """Whether this run of base64 characters, decoded from any of its 4 alignments, holds a
    piece (the bytes of a partial group at either end are noise, never a false negative)."""
    standard = run.rstrip("=").replace("-", "+").replace("_", "/")
    for offset in range(4):
        chunk = standard[offset:]
        chunk = chunk[: len(chunk) - 1] if len(chunk) % 4 == 1 else chunk
        chunk += "=" * (-len(chunk) % 4)
        decoded = base64.b64decode(chunk).decode("latin-1").lower()
        if any(piece in decoded for piece in pieces):
            return True
    return False


def _without_pieces(text: str, pieces: set[str]) -> str:
    lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    hidden = [False] * len(text)
    for size in {len(piece) for piece in pieces}:
        for i in range(len(text) - size + 1):
            if lowered[i : i + size] in pieces:
                hidden[i : i + size] = [True] * size
    if not any(hidden):
        return text
    out, i = [], 0
    while i < len(text):
        if hidden[i]:
            while i < len(text) and hidden[i]:
                i += 1
            out.append(_MARKER)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def excerpt(body: bytes, *secrets: str | None, limit: int = 200) -> str:
    """A short excerpt of a response body for error messages: secrets removed, white space
    collapsed, cut to `limit` characters, and as `terminal.shown` shows it (control characters
    made visible)."""
    text = body[: limit * 4].decode("utf-8", errors="replace")
    text = scrub(text, *secrets)
    text = " ".join(text.split())
    return shown(text if len(text) <= limit else text[: limit - 1] + "…")
