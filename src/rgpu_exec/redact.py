"""Keep secrets out of everything we print or log: what of an API key may be shown (its prefix,
for a value of the RemoteGPU key's visible shape), and scrubbing it from text. Standard library
only: every layer uses it."""

from __future__ import annotations

import base64
import re
import sys

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
# part of a key (cut, upper-cased, URL-encoded, escaped, hex, base64) must not reach output, logs
# or files.
PIECE = 8
_MARKER = "[REDACTED]"
_STRAY_QUOTES = "'\"`"
_KEY_SHAPE = re.compile(KEY_PATTERN, re.IGNORECASE)
# One character written as an escape: `\x72`, `\u0072`, `\U00000072` or `%72`.
_ESCAPE = re.compile(
    r"\\x([0-9A-Fa-f]{2})|\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})|%([0-9A-Fa-f]{2})"
)


def scrub(text: str, *secrets: str | None) -> str:
    """`text` with every secret in it replaced by a marker, in every form it may take.

    - Each of `secrets` (the keys this process knows), whole, and every piece of `PIECE`
      characters of its secret part (of a RemoteGPU key, what follows its prefix; of anything
      else, all of it), in any case.
    - Anything shaped like a RemoteGPU key (`KEY_PATTERN`, in any case), known or not: cut to
      its prefix (`rgpu_3f9a2c1b…`).

    Both as they are, with some or all of their characters escaped (`\\x72`, `\\u0072`,
    percent-encoded), hex-encoded, or base64-encoded (standard or URL-safe, at any alignment).
    What surrounds them is kept as it was."""
    wanted = [s for s in secrets if s and len(s) >= 4]  # noqa: PLR2004
    for secret in wanted:
        text = text.replace(secret, _MARKER)
    pieces: set[str] = set()
    for secret in wanted:
        pieces |= _pieces(secret)
    if pieces:
        text = _without_pieces(text, pieces)
    text = _without_key_shapes(text)
    return _BASE64_RUN.sub(
        lambda m: _MARKER if _encodes_a_secret(m.group(), pieces) else m.group(), text
    )


def _pieces(secret: str) -> set[str]:
    """Every `PIECE` characters of the secret part (of a RemoteGPU key, what follows its
    prefix), lower-cased. Of a secret of another shape (another service's key, a test value),
    all of it, but for pieces of letters and hyphens only: those are words, which our own
    messages hold too (`remotegp` of `RemoteGPU`), while random secrets seldom do."""
    inner = secret.strip(_STRAY_QUOTES)  # a key quoted by mistake shows its prefix too
    shaped = looks_like_remotegpu_key(inner)
    embedded = [
        k.group() for k in _KEY_SHAPE.finditer(inner) if looks_like_remotegpu_key(k.group())
    ]
    if embedded and not shaped:  # a key with text around it (a pasted `export NAME=…` line):
        return set().union(*(_pieces(key) for key in embedded))  # the key is the secret
    part = inner[KEY_PREFIX_LENGTH + 1 :] if shaped else secret
    size = min(PIECE, len(part))
    pieces = {part[i : i + size].lower() for i in range(len(part) - size + 1)}
    return pieces if shaped else {p for p in pieces if not p.replace("-", "").isalpha()}


def _decoded(text: str) -> tuple[str, list[int] | None]:
    """`text` with its escapes decoded, and where each decoded character starts in `text` (with
    `len(text)` after the last); None when nothing was escaped (each character is itself)."""
    if "\\" not in text and "%" not in text:
        return text, None
    view: list[str] = []
    starts: list[int] = []
    at = 0
    for m in _ESCAPE.finditer(text):
        view += text[at : m.start()]
        starts += range(at, m.start())
        code = int(next(g for g in m.groups() if g is not None), 16)
        view.append(chr(code) if code <= sys.maxunicode else "?")
        starts.append(m.start())
        at = m.end()
    if not starts and at == 0:
        return text, None
    view += text[at:]
    starts += [*range(at, len(text)), len(text)]
    return "".join(view), starts


def _splice(text: str, spans: list[tuple[int, int, str]]) -> str:
    """`text` with each (start, end) span, in order and apart, replaced by its string."""
    out, at = [], 0
    for start, end, replacement in spans:
        out += [text[at:start], replacement]
        at = end
    return "".join([*out, text[at:]])


def _lowered(text: str) -> str:
    """`text` lower-cased character by character (its length kept: `İ` lower-cases to two)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _without_pieces(text: str, pieces: set[str]) -> str:
    view, starts = _decoded(text)
    lowered = _lowered(view)
    spans = []
    for piece in pieces:
        at = lowered.find(piece)
        while at >= 0:
            spans.append((at, at + len(piece), _MARKER))
            at = lowered.find(piece, at + 1)
    return _splice(text, _in_text(_merged(sorted(spans)), starts))


def _merged(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Spans in order, those that overlap or touch made one."""
    merged: list[tuple[int, int, str]] = []
    for span in spans:
        if merged and span[0] <= merged[-1][1]:
            last = merged.pop()
            span = (last[0], max(last[1], span[1]), span[2])  # noqa: PLW2901 - the merged one
        merged.append(span)
    return merged


def _without_key_shapes(text: str) -> str:
    """Every key-shaped value cut to its prefix; one with escaped characters, whole."""
    view, starts = _decoded(text)
    spans = []
    for m in _KEY_SHAPE.finditer(view):
        start, end = m.span()
        if starts is None or starts[end] - starts[start] == end - start:  # written as it is
            spans.append((start + KEY_PREFIX_LENGTH, end, "…"))
        else:
            spans.append((start, end, _MARKER))
    return _splice(text, _in_text(spans, starts))


def _in_text(
    spans: list[tuple[int, int, str]], starts: list[int] | None
) -> list[tuple[int, int, str]]:
    """Spans of the decoded view as spans of the text it was decoded from."""
    if starts is None:
        return spans
    return [(starts[start], starts[end], replacement) for start, end, replacement in spans]


# Base64 (standard or URL-safe) long enough to hold `PIECE` characters at any alignment; hex
# digits are among its characters, so hex runs are found by it too.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{11,}={0,2}")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _encodes_a_secret(run: str, pieces: set[str]) -> bool:
    """Whether this run of base64 or hex characters, decoded from any of its alignments, holds
    a piece or a key's shape (the bytes of a partial group at either end are noise, never a
    false negative)."""
    decodings = []
    if set(run) <= _HEX_DIGITS:
        decodings += [
            bytes.fromhex(run[offset:][: (len(run) - offset) // 2 * 2]) for offset in (0, 1)
        ]
    standard = run.rstrip("=").replace("-", "+").replace("_", "/")
    for offset in range(4):
        chunk = standard[offset:]
        chunk = chunk[: len(chunk) - 1] if len(chunk) % 4 == 1 else chunk
        chunk += "=" * (-len(chunk) % 4)
        decodings.append(base64.b64decode(chunk))
    for decoding in decodings:
        decoded = decoding.decode("latin-1")
        if _KEY_SHAPE.search(decoded):
            return True
        lowered = _lowered(decoded)
        if any(piece in lowered for piece in pieces):
            return True
    return False


def excerpt(body: bytes, *secrets: str | None, limit: int = 200) -> str:
    """A short excerpt of a response body for error messages: secrets removed, white space
    collapsed, cut to `limit` characters, and as `terminal.shown` shows it (control characters
    made visible)."""
    text = body[: limit * 4].decode("utf-8", errors="replace")
    text = scrub(text, *secrets)
    text = " ".join(text.split())
    return shown(text if len(text) <= limit else text[: limit - 1] + "…")
