"""The output gate: everything rgpu-exec prints or stores for people passes here.

stdout and stderr, `-o json` documents, log lines, argparse's help and errors, the message a
failure record keeps (and `cache list` shows): each is written by a function of this module, and
each of them first removes what must never be shown (`clean`): the keys this process knows (the
one in `REMOTEGPU_API_KEY`, one found in the keyring or the key file, one typed), registered
with `know` where they are found, and anything shaped like a RemoteGPU key, in every form
`redact.scrub` knows (as is, escaped, percent-encoded, hex, base64).

The one output allowed to hold a token is the ExecCredential for kubectl: `credential` writes
it as it is. The cache-hit path (`hotpath.cache_hit.main`, standard library only) writes its own
answers: a cached ExecCredential, or the message of a failure record, which was cleaned here
when it was written. `tests/unit/test_output_gate.py` fails when any other module writes to
stdout or stderr.
"""

from __future__ import annotations

import sys

from rgpu_exec import terminal
from rgpu_exec.redact import scrub

TYPE_CHECKING = False  # typing costs a TAB's completion (cli.kubectl_complete) its import
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import TextIO

_known: list[str] = []


def know(secret: str | None) -> None:
    """Register a secret this process holds (an API key, wherever it was found): from now on,
    nothing written through the gate shows it, nor any piece of it."""
    if secret and secret not in _known:
        _known.append(secret)


def forget_all() -> None:
    """Forget every registered secret (for tests, which run many commands in one process)."""
    _known.clear()


def clean(text: str) -> str:
    """`text` as the gate lets it out: every known secret and every key-shaped value scrubbed."""
    return scrub(text, *_known)


def holds_secret(text: str) -> bool:
    """Whether `text` holds a known secret or anything key-shaped, in any form the gate scrubs:
    such a value is never written anywhere (a kubeconfig, a record), only refused."""
    return clean(text) != text


def write(text: str) -> None:
    """Print to stdout (a report, a table, a diff), cleaned."""
    _emit(sys.stdout, clean(text))


def tell(text: str) -> None:
    """Print to stderr (messages, warnings, help for a usage error), cleaned."""
    _emit(sys.stderr, clean(text))


def say(message: str) -> None:
    """One message for people on stderr: shown as `terminal.shown` shows foreign strings
    (lines kept), cleaned, with a newline."""
    tell(terminal.shown(message, lines=True) + "\n")


def line(text: str) -> None:
    """One line of a report on stdout, shown as `terminal.shown` shows it, cleaned."""
    write(terminal.shown(text, lines=True) + "\n")


def document(text: str) -> None:
    """A JSON document on stdout (`-o json`). Cleaned value by value, so it stays valid JSON:
    written as rendered when nothing in it needed cleaning, else rendered again as it was
    (indented when it was)."""
    import json  # noqa: PLC0415 - only for `-o json`

    doc = json.loads(text)
    cleaned = _cleaned(doc)
    if cleaned != doc:
        indent = 2 if "\n" in text.strip() else None
        text = json.dumps(cleaned, indent=indent) + "\n"
    _emit(sys.stdout, text)


def _cleaned(value: object) -> object:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [_cleaned(item) for item in value]
    if isinstance(value, dict):
        return {clean(str(key)): _cleaned(item) for key, item in value.items()}
    return value


def credential(text: str) -> None:
    """The ExecCredential for kubectl on stdout, as it is: the one output that holds a token
    (the gate's one named exception; kubectl reads it, no person sees it)."""
    sys.stdout.write(text)
    sys.stdout.flush()


def ask_hidden(prompt: str) -> str:
    """A line typed without echo (`getpass`), after a prompt that passed the gate."""
    import getpass  # noqa: PLC0415 - only where a key is typed

    return getpass.getpass(clean(prompt))


def argparse_message(message: str, stream: object) -> None:
    """What argparse itself writes (help, usage, errors, `--version`): to stdout when it asked
    for stdout, else to stderr; cleaned either way."""
    (write if stream is sys.stdout else tell)(message)


def colour(environ: Mapping[str, str]) -> bool:
    """Whether stdout gets colour (`terminal.colour_on`)."""
    return terminal.colour_on(sys.stdout, environ)


def _emit(stream: TextIO, text: str) -> None:
    stream.write(text)
