"""An API error that echoes part of the key (upper-cased, URL-encoded, base64) reaches neither the
message, nor the failure record, nor `cache list`, nor the debug log."""

from __future__ import annotations

import base64
import os
import urllib.parse
from pathlib import Path

import pytest

from rgpu_exec.redact import KEY_PREFIX_LENGTH, PIECE

from conftest import API_KEY
from exchange_answers import Reply, error_body

SECRET = API_KEY[KEY_PREFIX_LENGTH + 1 :]
ECHOES = {
    "upper-cased": API_KEY[3:30].upper(),
    "url-encoded": urllib.parse.quote(API_KEY[8:40], safe="").replace("a", "%61"),
    "base64": base64.b64encode(API_KEY[2:36].encode()).decode(),
    "cut": SECRET[5:15],
}


def pieces_in(text: str) -> list[str]:
    lowered = urllib.parse.unquote(text).lower()
    found = [SECRET[i : i + PIECE] for i in range(len(SECRET) - PIECE + 1)]
    found = [p for p in found if p.lower() in lowered]
    for word in text.split():
        for offset in range(4):
            chunk = word[offset:].strip(".,;:()'\"")
            try:
                decoded = base64.b64decode(chunk + "=" * (-len(chunk) % 4)).decode("latin-1")
            except ValueError:
                continue
            found += [SECRET[i : i + PIECE] for i in range(len(SECRET) - PIECE + 1)
                      if SECRET[i : i + PIECE].lower() in decoded.lower()]  # fmt: skip
    return found


@pytest.mark.parametrize("echo", sorted(ECHOES))
def test_an_echoed_piece_of_the_key_reaches_no_output_record_or_listing(
    run_cli, run_token_in_process, fake_api, sandbox, echo
):
    message = f"no such key {ECHOES[echo]} in this account"
    fake_api.default = Reply(401, error_body("invalid_api_key", message))

    result = run_token_in_process(env={"RGPU_EXEC_LOG": "debug"})
    listing = run_cli(["cache", "list"])

    assert result.returncode == 3, result.stderr
    assert pieces_in(ECHOES[echo])  # the echo does hold pieces of the key
    cache = Path(os.environ["RGPU_EXEC_CACHE_DIR"])
    records = "".join(p.read_text() for p in cache.glob("*.fail"))
    assert records  # the failure was recorded
    for output in (result.stderr, result.stdout, records, listing.stdout, listing.stderr):
        assert pieces_in(output) == [], output
