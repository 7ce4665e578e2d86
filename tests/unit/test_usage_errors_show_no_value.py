"""A usage error names the options it did not recognise and says what is wrong with a value,
but never prints a value typed: it may be a secret (a key pasted where it does not belong),
and stderr and `-o json` documents end up in CI logs and artifacts."""

from __future__ import annotations

import json

import pytest

from rgpu_exec import output
from rgpu_exec.cli import main

from conftest import API_KEY, NAMESPACE_ID

# A value of no known shape: only the no-values rule keeps it out (the scrubber does not know it).
SECRET = "S3cr3tV4lue-x9Qp"
SECRET_PARTS = (API_KEY[14:30], SECRET[:8], SECRET[-8:])


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def nothing_known():
    """Only the no-values rule is under test: no key registered with the gate."""
    output.forget_all()
    yield
    output.forget_all()


CASES = {
    # the `gh auth login --with-token` habit: the key as a positional argument
    "login-positional": (["login", "{value}"], None),
    "check-unknown-flag-json": (["check", "--key", "{value}", "-o", "json"], "--key"),
    "whoami-unknown-flag": (["whoami", "--api-key", "{value}"], "--api-key"),
    "flag-equals-value": (["whoami", "--token={value}"], "--token"),
    "short-flag-with-value": (["whoami", "-k{value}"], "-k"),
    "invalid-choice": (["whoami", "-o", "{value}"], "-o/--output"),
    "invalid-choice-equals": (["check", "--output={value}"], "-o/--output"),
    "mistyped-command": (["{value}"], None),
    "pasted-as-namespace-id": (["check", "--namespace-id", "{value}"], None),
    "pasted-as-namespace-id-json": (["check", "--namespace-id", "{value}", "-o", "json"], None),
    "pasted-as-token-namespace-id": (["token", "--namespace-id", "{value}"], None),
    "pasted-as-cache-namespace-id": (["cache", "clear", "--namespace-id", "{value}"], None),
    "password-in-the-api-url": (
        ["check", "--namespace-id", NAMESPACE_ID, "--api-url", "https://me:{value}@api.example"],
        None,
    ),
    "token-in-the-api-urls-query": (["whoami", "--api-url", "https://api.example?k={value}"], None),
    "pasted-as-namespace-name": (
        ["token", "--namespace-id", NAMESPACE_ID, "--namespace", "{value}"],
        "--namespace",
    ),
}


@pytest.mark.parametrize("value", [API_KEY, SECRET], ids=["api-key", "other-secret"])
@pytest.mark.parametrize(("argv", "named"), CASES.values(), ids=CASES.keys())
def test_a_usage_error_never_shows_a_flag_value(capsys, value, argv, named):
    code, out, err = run(capsys, *(arg.format(value=value) for arg in argv))

    assert code == 2
    assert err.startswith("rgpu-exec: ")
    for part in SECRET_PARTS:
        assert part not in err
        assert part not in out
    if named:
        assert named in err


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--key", API_KEY, "-o", "json"],
        ["check", "--namespace-id", API_KEY, "-o", "json"],
        ["whoami", "-o", "json", "--api-key", SECRET],
    ],
    ids=["unknown-flag", "namespace-id", "other-secret"],
)
def test_the_json_failure_document_of_a_usage_error_never_shows_a_flag_value(capsys, argv):
    code, out, err = run(capsys, *argv)

    document = json.loads(out)
    assert code == 2
    assert document["ok"] is False
    assert document["error"]["exit_code"] == 2
    assert document["error"]["message"] in err
    for part in SECRET_PARTS:
        assert part not in out


def test_a_usage_error_names_every_unrecognised_option_and_counts_the_rest(capsys):
    _, _, err = run(capsys, "whoami", "--api-key", API_KEY, "--token=abc", "--bogus", "x", "y")

    assert err.startswith(
        "rgpu-exec: unrecognized arguments: --api-key, --token=…, --bogus, and 3 more "
        "arguments (not shown: it may be a secret). An argument looks like an API key: "
    )
    assert err.endswith(" See `rgpu-exec whoami --help`.\n")


def test_a_key_as_a_positional_argument_says_how_to_give_a_key(capsys):
    _, _, err = run(capsys, "login", API_KEY)

    assert err.startswith("rgpu-exec: an unexpected argument (not shown: it may be a secret).")
    assert "pipe the key into `rgpu-exec login`" in err


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (API_KEY, "it looks like an API key, not shown: keep keys off command lines"),
        ("team-ml", "it is a namespace name"),
        (SECRET, f"{len(SECRET)} characters, not shown"),
    ],
    ids=["api-key", "namespace-name", "other"],
)
def test_a_namespace_id_that_is_no_uuid_is_described_not_printed_back(capsys, value, said):
    code, _, err = run(capsys, "check", "--namespace-id", value)

    assert code == 2
    assert f"the value given is not a namespace ID ({said})." in err
    assert value not in err


def test_an_invalid_choice_says_which_choices_there_are_not_what_was_typed(capsys):
    _, _, err = run(capsys, "whoami", "-o", "xml")

    assert err == (
        "rgpu-exec: argument -o/--output: invalid choice (choose from 'table', 'json', 'yaml'). "
        "See `rgpu-exec whoami --help`.\n"
    )


def test_a_mistyped_command_keeps_its_did_you_mean_but_a_key_is_not_shown_as_one(capsys):
    _, _, typo = run(capsys, "chek")
    _, _, key = run(capsys, API_KEY)

    assert "unknown command 'chek' (" in typo
    assert typo.rstrip().endswith("did you mean 'check'? See `rgpu-exec --help`.")
    assert key.startswith("rgpu-exec: unknown command (not shown: it may be a secret; commands: ")


@pytest.mark.parametrize(("typed", "meant"), [("Whoami", "whoami"), ("CHECK", "check")])
def test_a_command_typed_in_capitals_gets_its_did_you_mean(capsys, typed, meant):
    _, _, err = run(capsys, typed)

    assert err.startswith("rgpu-exec: unknown command (not shown: it may be a secret; ")
    assert err.rstrip().endswith(f"did you mean {meant!r}? See `rgpu-exec --help`.")
