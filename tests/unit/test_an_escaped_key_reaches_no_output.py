"""An API that echoes the key hex-encoded or escaped (`\\x72`, `\\u0072`) gets it into neither
stderr, nor the failure record (which the cache-hit path replays as it is), nor `cache list`."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from rgpu_exec import output
from rgpu_exec.cli import main
from rgpu_exec.hotpath import cache_hit
from rgpu_exec.redact import KEY_PREFIX_LENGTH, PIECE

from conftest import API_KEY, NAMESPACE_ID
from exchange_answers import API, KUBECTL_EXEC_INFO

SECRET = API_KEY[KEY_PREFIX_LENGTH + 1 :]
PIECES = [SECRET[i : i + PIECE].lower() for i in range(len(SECRET) - PIECE + 1)]
ECHOES = {
    "hex": API_KEY.encode().hex(),
    "hex-upper-part": API_KEY[20:44].encode().hex().upper(),
    "u-escaped": "".join(f"\\u{ord(c):04x}" for c in API_KEY),
    "u-escaped-part": "".join(f"\\u{ord(c):04X}" for c in SECRET[3:20]),
    "x-escaped": "".join(f"\\x{ord(c):02x}" for c in API_KEY),
    "some-characters-escaped": "".join(
        f"\\u{ord(c):04x}" if i % 3 else c for i, c in enumerate(API_KEY)
    ),
}
ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})")
EXCHANGE = f"/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"


def leaks(text: str) -> list[str]:
    """Pieces of the key's secret part in `text`, as is, unescaped, or hex-decoded."""
    views = [text, ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)]
    for run in re.findall(r"[0-9a-fA-F]{16,}", text):
        views += [
            bytes.fromhex(run[i:][: (len(run) - i) // 2 * 2]).decode("latin-1") for i in (0, 1)
        ]
    return [piece for piece in PIECES for view in views if piece in view.lower()]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def nothing_known():
    output.forget_all()
    yield
    output.forget_all()


@pytest.mark.parametrize("echo", ECHOES.values(), ids=ECHOES.keys())
def test_an_escaped_or_hex_echo_of_the_key_reaches_no_output_record_or_listing(
    api, monkeypatch, capsys, echo
):
    monkeypatch.setenv("REMOTEGPU_API_KEY", API_KEY)
    monkeypatch.setenv("KUBERNETES_EXEC_INFO", KUBECTL_EXEC_INFO)
    body = {"error": {"code": "invalid_api_key", "message": f"no such key {echo} here"}}
    api.post(EXCHANGE).respond(401, json=body)

    argv = ["token", "--namespace-id", NAMESPACE_ID, "--api-url", API]
    code, out, err = run(capsys, *argv)
    replayed = cache_hit.serve(argv, os.environ, time.time())  # kubectl's rerun, on the hot path
    monkeypatch.delenv("KUBERNETES_EXEC_INFO")
    listed = [run(capsys, "cache", "list", *form) for form in ([], ["-o", "json"])]

    assert code == 3, err
    assert replayed is not None
    assert replayed[0] == 3
    assert "no such key" in replayed[2]  # the hot path replays the cleaned record
    assert leaks(echo)  # the echo does hold pieces of the key
    records = "".join(p.read_text() for p in Path(os.environ["RGPU_EXEC_CACHE_DIR"]).glob("*.fail"))
    assert "no such key" in records  # the failure was recorded, with the API's words
    assert "no such key" in listed[0][1]  # and `cache list` shows it
    json.loads(listed[1][1])
    for text in (
        out,
        err,
        records,
        replayed[2],
        *(part for result in listed for part in result[1:]),
    ):
        assert leaks(text) == [], text
