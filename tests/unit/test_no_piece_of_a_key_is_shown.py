"""No 8-character piece of a key's secret part, in any case or encoding, survives `redact.scrub`
(the one owner: API error excerpts, messages, failure records and logs go through it)."""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from rgpu_exec.redact import KEY_PREFIX_LENGTH, PIECE, excerpt, scrub

URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
keys = st.builds(
    lambda key_id, secret: f"rgpu_{key_id}_{secret}",
    st.text("0123456789abcdef", min_size=8, max_size=8),
    st.text(URL_SAFE, min_size=32, max_size=32),
)
FORMS: dict[str, Callable[[str], str]] = {
    "as-is": lambda s: s,
    "upper": str.upper,
    "lower": str.lower,
    "percent-every-character": lambda s: "".join(f"%{b:02X}" for b in s.encode()),
    "url-quoted": lambda s: urllib.parse.quote(s, safe=""),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64-url": lambda s: base64.urlsafe_b64encode(s.encode()).decode(),
}
around = st.text(st.characters(codec="utf-8"), max_size=20)


def decoded_or_empty(decode: Callable[[str], bytes], text: str) -> str:
    try:
        return decode(text).decode("utf-8", "replace")
    except ValueError:
        return ""


def leaks(text: str, key: str) -> list[str]:
    """Pieces of the key's secret part found in `text`, in any of the forms."""
    secret = key[KEY_PREFIX_LENGTH + 1 :]
    pieces = {secret[i : i + PIECE].lower() for i in range(len(secret) - PIECE + 1)}
    views = [text, urllib.parse.unquote(text)]
    for view in list(views):
        for chunk in view.split():
            views += [
                decoded
                for pad in ("", "=", "==")
                for decode in (base64.b64decode, base64.urlsafe_b64decode)
                if (decoded := decoded_or_empty(decode, chunk + pad))
            ]
    return [p for p in pieces for view in views if p in view.lower()]


@given(
    keys,
    st.sampled_from(sorted(FORMS)),
    st.integers(0, 24),
    st.integers(PIECE, 40),
    around,
    around,
)
def test_no_piece_of_a_keys_secret_part_survives_scrubbing(key, form, start, length, before, after):
    echoed = FORMS[form](key[start : start + length])
    text = f"{before} the API said: invalid key {echoed} {after}"

    assert leaks(scrub(text, key), key) == []


@given(keys, st.sampled_from(sorted(FORMS)))
def test_an_api_error_excerpt_never_echoes_a_piece_of_the_key(key, form):
    body = f'{{"detail": "no such key {FORMS[form](key[10:40])}"}}'.encode()
    assert leaks(excerpt(body, key), key) == []


def test_the_prefix_and_unrelated_text_are_kept():
    key = "rgpu_3f9a2c1b_Zk3Jq9xR2mVt7LpW4nHs8dYc1bGf6aEo"
    assert scrub("key rgpu_3f9a2c1b… was revoked (100% sure)", key) == (
        "key rgpu_3f9a2c1b… was revoked (100% sure)"
    )
    assert scrub(f"got {key.upper()}", key) == "got RGPU_3F9A2C1B_[REDACTED]"
