"""Keep secrets out of everything we print or log."""

from __future__ import annotations

from rgpu_exec.credentials.api_key import KEY_PREFIX_LENGTH, looks_like_remotegpu_key


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
    """A short, printable excerpt of a response body, secrets removed, for error messages."""
    text = body[: limit * 4].decode("utf-8", errors="replace")
    text = scrub(text, *secrets)
    text = "".join(c if c.isprintable() else " " for c in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
