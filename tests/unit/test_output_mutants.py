"""The output gate's smaller doors, in process: the hidden prompt, colour, a log line that
cannot be written, the lines of a message or a report line, the layout of a cleaned JSON
document, and the stream argparse asked for. What mutation testing (`make mutation`) found no
quick test running or holding."""

from __future__ import annotations

import getpass
import io
import logging
import sys

from rgpu_exec import output
from rgpu_exec.credentials import log

from conftest import API_KEY


def test_the_hidden_prompt_is_cleaned_before_it_is_shown(monkeypatch) -> None:
    output.know(API_KEY)
    asked: list[str] = []

    def typed(prompt: str) -> str:
        asked.append(prompt)
        return "what was typed"

    monkeypatch.setattr(getpass, "getpass", typed)
    try:
        assert output.ask_hidden(f"key for {API_KEY}: ") == "what was typed"
    finally:
        output.forget_all()

    assert asked == ["key for [REDACTED]: "]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdout", Terminal())
    assert output.colour({"TERM": "xterm"})
    assert not output.colour({"TERM": "xterm", "NO_COLOR": "1"})
    assert not output.colour({"TERM": "dumb"})

    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert not output.colour({"TERM": "xterm"})


def test_a_log_line_that_cannot_be_written_does_not_break_the_command(monkeypatch) -> None:
    handled: list[logging.LogRecord] = []
    handler = log.LogHandler()
    monkeypatch.setattr(handler, "handleError", handled.append)

    def broken(text: str) -> None:
        raise OSError("stderr is gone")

    monkeypatch.setattr(output, "tell", broken)
    record = logging.LogRecord("rgpu_exec", logging.WARNING, __file__, 1, "a line", None, None)
    handler.emit(record)

    assert handled == [record]


def test_a_message_or_a_report_line_keeps_its_lines_and_shows_what_a_terminal_acts_on(
    capsys,
) -> None:
    output.say("refused:\n  a reason\x1b[8m")
    output.line("a row\nanother row\r")

    out, err = capsys.readouterr()
    assert err == "refused:\n  a reason\\x1b[8m\n"
    assert out == "a row\nanother row\\x0d\n"


def test_a_cleaned_json_document_keeps_its_layout(capsys) -> None:
    output.know(API_KEY)
    try:
        output.document(f'{{"key": "{API_KEY}", "n": 1}}\n')
        output.document(f'{{\n  "key": "{API_KEY}"\n}}\n')
    finally:
        output.forget_all()

    out, _ = capsys.readouterr()
    assert out == '{"key": "[REDACTED]", "n": 1}\n{\n  "key": "[REDACTED]"\n}\n'


def test_what_argparse_writes_goes_to_the_stream_it_asked_for(capsys) -> None:
    output.argparse_message("usage: rgpu-exec ...\n", sys.stderr)
    output.argparse_message("rgpu-exec 1.0\n", sys.stdout)

    out, err = capsys.readouterr()
    assert (out, err) == ("rgpu-exec 1.0\n", "usage: rgpu-exec ...\n")
