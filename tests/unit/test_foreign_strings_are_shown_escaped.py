"""Strings from a file, the network or the environment reach the terminal with every control
character made visible (`terminal.shown`, the one display rule), in every table and message; and a
message never shows a URL that differs from the one that would be used."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rgpu_exec import terminal
from rgpu_exec.commands import cache as cache_command
from rgpu_exec.commands import kubeconfig_list, whoami
from rgpu_exec.commands.doctor import render_text
from rgpu_exec.errors import UsageError
from rgpu_exec.kubeconfig.console import ConsoleKubeconfig
from rgpu_exec.kubeconfig.listing import ManagedContext
from rgpu_exec.redact import excerpt
from rgpu_exec.usecases.doctor.findings import Finding
from rgpu_exec.usecases.kubeconfig_import import import_console
from rgpu_exec.usecases.kubeconfig_report import WriteRequest
from rgpu_exec.usecases.kubeconfig_write import StanzaRequest
from rgpu_exec.usecases.whoami import WhoamiResult

NAMESPACE_ID = "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f"
HOSTILE = [
    "\x1b[8m",  # SGR 8: conceal what follows
    "\x1b]0;title\x07",  # OSC: set the window title
    "\r",  # back to the start of the line
    "\x9b31m",  # a C1 CSI
    "\u202e",  # right-to-left override
    "\u2028",  # line separator
    "\x00",
]
foreign = st.lists(
    st.one_of(st.sampled_from(HOSTILE), st.text(st.characters(codec="utf-8"), max_size=5)),
    min_size=1,
    max_size=6,
).map("".join)


def only_printable(output: str) -> bool:
    return all(line.isprintable() for line in output.split("\n"))


@given(foreign)
def test_shown_makes_every_control_character_visible_and_leaves_printable_text_alone(text):
    assert terminal.shown(text).isprintable()
    assert terminal.shown(text, lines=True).replace("\n", "").isprintable()
    if text.isprintable():
        assert terminal.shown(text) == text
    assert "\x1b" not in terminal.shown("a\x1b[8mb")
    assert terminal.shown("a\x1b[8mb") == "a\\x1b[8mb"


def managed(name: str, value: str) -> ManagedContext:
    return ManagedContext(
        name=name,
        namespace=value,
        namespace_id=None,
        api_url=value,
        profile=value,
        command=value,
        user=value,
        file=value,
        current=True,
        problem=value,
    )


@given(foreign, foreign)
def test_kubeconfig_list_shows_foreign_names_escaped(name, value):
    output = kubeconfig_list.render_table([value], [managed(name, value)], colour=False)
    assert only_printable(output)


@given(foreign, foreign)
def test_doctor_shows_foreign_strings_escaped(topic, detail):
    findings = [Finding(topic, "problem", detail, fix=detail), Finding("ok", "ok", topic)]
    assert only_printable(render_text(findings, colour=False))


@given(foreign, foreign)
def test_whoami_shows_foreign_strings_escaped(name, value):
    found = WhoamiResult(
        key=None,
        problem=None,
        profile=value,
        profile_source=value,
        api_url=value,
        context=managed(name, value),
        keyring_backend=value,
        keyring_profiles=[value],
    )
    assert only_printable(whoami.render_table(found))


@given(foreign, foreign)
def test_cache_list_shows_foreign_strings_escaped(url, message):
    rows = [
        {
            "file": "a" * 64 + ".fail",
            "state": "failed",
            "namespace_id": NAMESPACE_ID,
            "api_url": url,
            "identity_kind": "profile",
            "identity": "default",
            "exit_code": 5,
            "message": message,
            "expires_in_seconds": 3,
        }
    ]
    output = cache_command.render_table(url, rows, {}, {NAMESPACE_ID: message})
    assert only_printable(output)


@given(st.binary(max_size=300))
def test_an_api_error_excerpt_shows_no_control_character(body):
    assert excerpt(body).isprintable()


@pytest.mark.parametrize(
    "url",
    [
        "https://api.remotegpu.ai\x1b[8m.evil.example",
        "https://evil.example\x1b[8m https://api.remotegpu.ai",
        "https://api.remotegpu.ai\u202e.evil.example",
    ],
)
def test_an_imported_files_url_is_never_shown_as_one_to_use(url):
    source = ConsoleKubeconfig(
        server="https://k8s.example",
        ca_data=None,
        namespace="team-ml",
        namespace_id=NAMESPACE_ID,
        api_url=url,
    )
    with pytest.raises(UsageError) as raised:
        import_console(source, None, StanzaRequest(), WriteRequest(), {})
    message = str(raised.value)
    assert message.isprintable()
    assert terminal.shown(url) in message
    assert "--api-url http" not in message  # no URL offered to copy
    assert "nothing was sent or written" in message


def test_a_printable_foreign_url_is_offered_as_it_would_be_used():
    source = ConsoleKubeconfig(
        server="https://k8s.example",
        ca_data=None,
        namespace="team-ml",
        namespace_id=NAMESPACE_ID,
        api_url="https://api.other.example",
    )
    with pytest.raises(UsageError) as raised:
        import_console(source, None, StanzaRequest(), WriteRequest(), {})
    assert "run the import again with `--api-url https://api.other.example`." in str(raised.value)
