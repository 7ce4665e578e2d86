"""What the output gate lets out: no known key and nothing shaped like a key, in any form, on
any of its writers (messages, reports, JSON documents, argparse's own writes, log lines); the
ExecCredential for kubectl is its one output written as it is."""

from __future__ import annotations

import base64
import json
import logging
import urllib.parse
from collections.abc import Callable

import pytest

from rgpu_exec import output, redact
from rgpu_exec.cli import main
from rgpu_exec.credentials import log
from rgpu_exec.redact import KEY_PREFIX_LENGTH, PIECE

from conftest import API_KEY, CI_KEY

UNKNOWN_KEY = "rgpu_0badc0de_UnKnOwNkEyUnKnOwNkEyUnKnOwNkEy0042"
FORMS: dict[str, Callable[[str], str]] = {
    "hex": lambda s: s.encode().hex(),
    "x-escaped": lambda s: "".join(f"\\x{ord(c):02x}" for c in s),
    "u-escaped": lambda s: "".join(f"\\u{ord(c):04x}" for c in s),
    "percent": lambda s: urllib.parse.quote(s, safe="").replace("_", "%5F"),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64-url": lambda s: base64.urlsafe_b64encode(b"key:" + s.encode()).decode(),
}


def pieces(key: str) -> list[str]:
    secret = key[KEY_PREFIX_LENGTH + 1 :]
    return [secret[i : i + PIECE] for i in range(len(secret) - PIECE + 1)]


@pytest.fixture(autouse=True)
def nothing_known():
    output.forget_all()
    yield
    output.forget_all()


def test_two_known_secrets_are_both_scrubbed(capsys):
    output.know(API_KEY)
    output.know(CI_KEY)
    echoed = base64.b64encode(CI_KEY[20:].encode()).decode()

    output.say(f"rgpu-exec: first {API_KEY}, then {CI_KEY[14:40].upper()} and {echoed}.")
    output.line(f"both: {API_KEY[14:30]} {CI_KEY[25:45]}")
    captured = capsys.readouterr()

    for text in (captured.err, captured.out):
        assert [
            p for key in (API_KEY, CI_KEY) for p in pieces(key) if p.lower() in text.lower()
        ] == []
    assert captured.err.startswith("rgpu-exec: first [REDACTED], then ")


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS.keys())
def test_a_key_no_one_registered_is_scrubbed_in_every_form(capsys, form):
    output.tell(f"the API said: no key {form(UNKNOWN_KEY)} here\n")
    err = capsys.readouterr().err

    assert err.startswith("the API said: no key ")
    assert err.endswith(" here\n")
    assert form(UNKNOWN_KEY) not in err
    assert "[REDACTED]" in err


def test_a_key_no_one_registered_is_cut_to_its_prefix_as_it_is(capsys):
    output.write(f"found {UNKNOWN_KEY.upper()} and {UNKNOWN_KEY}.\n")

    assert capsys.readouterr().out == "found RGPU_0BADC0DE… and rgpu_0badc0de….\n"


def test_a_json_document_stays_valid_json_when_a_key_in_it_is_scrubbed(capsys):
    escaped = FORMS["u-escaped"](UNKNOWN_KEY)
    document = {"ok": False, "error": {"message": f"key \\{escaped} %22{API_KEY}%22"}}
    output.know(API_KEY)

    output.document(json.dumps(document, indent=2) + "\n")
    output.document('{"ok": true, "items": ["a", 1]}\n')  # nothing to clean: as it was
    first, second = capsys.readouterr().out.split("\n}\n")

    assert json.loads(first + "}")["error"]["message"] == "key \\[REDACTED] %22[REDACTED]%22"
    assert second == '{"ok": true, "items": ["a", 1]}\n'


def test_argparse_help_version_and_errors_pass_the_gate(capsys, monkeypatch):
    monkeypatch.setattr(output, "clean", lambda text: f"<gated>{text}")

    with pytest.raises(SystemExit):
        main(["--help"])
    helped = capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["--version"])
    version = capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["whoami", "--bogus"])
    error = capsys.readouterr()
    assert main(["cache"]) == 2  # a command group alone: its help, on stderr
    group = capsys.readouterr()

    assert helped.out.startswith("<gated>usage: ")
    assert version.out.startswith("<gated>rgpu-exec ")
    assert (
        error.err
        == "<gated>rgpu-exec: unrecognized arguments: --bogus. See `rgpu-exec whoami --help`.\n"
    )
    assert group.err.startswith("<gated>usage: ")


def test_log_lines_pass_the_gate(capsys, monkeypatch):
    logger = logging.getLogger("rgpu_exec")
    handlers = list(logger.handlers)
    monkeypatch.setattr(logger, "level", logger.level)
    output.know(CI_KEY)
    try:
        assert log.configure({"RGPU_EXEC_LOG": "debug"}) is None
        logging.getLogger("rgpu_exec.test").debug("keys %s and %s", UNKNOWN_KEY, CI_KEY[20:])
    finally:
        logger.handlers[:] = handlers
    err = capsys.readouterr().err

    assert err == "rgpu-exec: DEBUG: rgpu_exec.test: keys rgpu_0badc0de… and [REDACTED]\n"


def test_the_exec_credential_is_the_one_output_written_as_it_is(capsys):
    token = "eyJhbGciOiJSUzI1NiJ9.rgpu_0badc0de_tokenlike"
    credential = f'{{"status":{{"token":"{token}"}}}}\n'
    output.know(token)

    output.credential(credential)
    output.write(credential)
    written, cleaned = capsys.readouterr().out.splitlines()

    assert written + "\n" == credential
    assert token not in cleaned


def test_a_key_pasted_with_text_around_it_is_the_secret_and_our_words_stay() -> None:
    pasted = f"export REMOTEGPU_API_KEY={API_KEY}"  # the whole line pasted as the value
    message = (
        "REMOTEGPU_API_KEY contains spaces (in a shell: `export REMOTEGPU_API_KEY=rgpu_…`); "
        f"it was {pasted!r}, or in hex {API_KEY[14:].encode().hex()}"
    )

    cleaned = redact.scrub(message, pasted)

    assert cleaned.startswith(
        "REMOTEGPU_API_KEY contains spaces (in a shell: `export REMOTEGPU_API_KEY=rgpu_…`); "
    )
    assert API_KEY[14:22] not in cleaned
    assert API_KEY[14:].encode().hex() not in cleaned
