"""Keep secrets out of everything we print or log."""

from __future__ import annotations

KEY_PREFIX_LENGTH = 13  # `rgpu_` + the 8 hex characters of the key id


def key_prefix(api_key: str) -> str:
    """The part of a key that is safe to show: its first 13 characters, as the console does.

    A string too short to be a real key shows far less, so that a key pasted wrongly (truncated,
    or a token by mistake) is never printed whole.
    """
    if len(api_key) >= 2 * KEY_PREFIX_LENGTH:
        return api_key[:KEY_PREFIX_LENGTH] + "…"
    return api_key[: min(5, len(api_key) // 3)] + "…"


def scrub(text: str, *secrets: str | None) -> str:
    """`text` with every occurrence of each secret replaced by a marker."""
    for secret in secrets:
        if secret and len(secret) >= 4:  # noqa: PLR2004
            text = text.replace(secret, "[REDACTED]")
    return text


def excerpt(body: bytes, *secrets: str | None, limit: int = 200) -> str:
    """A short, printable excerpt of a response body, secrets removed, for error messages."""
    text = body[: limit * 4].decode("utf-8", errors="replace")
    text = scrub(text, *secrets)
    text = "".join(c if c.isprintable() else " " for c in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
