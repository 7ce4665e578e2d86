"""The one key rule (`key_shape.key_problem`: only what cannot be a key is refused locally; the
API judges the rest), and how `check` judges an answer."""

from __future__ import annotations

import pytest

from rgpu_exec.api.api_errors import ErrorAnswer
from rgpu_exec.credentials.api_key import find_api_key
from rgpu_exec.credentials.key_shape import key_problem, shape_note, shown_prefix
from rgpu_exec.errors import ApiKeyError, UsageError
from rgpu_exec.kubeconfig.console import unwrap
from rgpu_exec.usecases.check import holds

from conftest import API_KEY


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        pytest.param(f"'{API_KEY}'", "is wrapped in quotes", id="quotes"),
        pytest.param(f"{API_KEY}'", "starts or ends with a quote", id="one-quote"),
        pytest.param(API_KEY + "\n", "contains spaces, line breaks or control", id="newline"),
        pytest.param("rgpu_3f9a2c1b_clé" + "x" * 29, "non-ASCII", id="non-ascii"),
        pytest.param("", "is empty", id="empty"),
    ],
)
def test_only_what_cannot_be_a_key_in_any_format_is_refused_locally(value, problem):
    found = key_problem(value)
    assert found is not None
    assert problem in found
    assert not value.strip("'\n") or value.strip("'\n") not in found


@pytest.mark.parametrize(
    ("value", "note"),
    [
        pytest.param(API_KEY, None, id="the-shape"),
        pytest.param("sk-0123456789", "does not start with 'rgpu_'", id="other-vendor"),
        pytest.param(API_KEY[:-2], "it has 44 characters, not 46", id="short"),
        pytest.param(API_KEY + "x" * 9, "it has 55 characters, not 46", id="long"),
        pytest.param("rgpu_3F9A2C1B" + API_KEY[13:], "it is not rgpu_, 8 hex", id="upper-hex"),
        pytest.param(API_KEY[:-1] + "=", "it is not rgpu_, 8 hex", id="char"),
        # A key of another format in capitals with `=` in it is no pasted assignment: only a
        # name that says it holds a secret (…KEY=, …TOKEN=, …SECRET=) is refused as one.
        pytest.param("ABCD1234EFGH5678==", "does not start with 'rgpu_'", id="base64-padding"),
        pytest.param("PROD=0123456789abcdef", "does not start with 'rgpu_'", id="capitals-eq"),
    ],
)
def test_any_other_value_is_sent_and_its_unusual_shape_only_noted(value, note):
    assert key_problem(value) is None, "the API judges it"
    found = shape_note(value)
    if note is None:
        assert found is None
    else:
        assert found is not None
        assert note in found
        assert value not in found


def test_only_a_remotegpu_shaped_value_shows_its_prefix():
    assert shown_prefix(f'"{API_KEY}"') == " (rgpu_3f9a2c1b…)"
    assert shown_prefix("sk-live-0123456789abcdef0123456789") == ""


def test_an_explicit_profile_is_not_overridden_by_the_environment():
    environ = {"REMOTEGPU_API_KEY": API_KEY}
    stored = {"ci": "rgpu_0c1d2e3f_" + "c" * 32}

    implicit = find_api_key(environ, "ci", interactive=False, keyring_get=stored.get)
    explicit = find_api_key(
        environ, "ci", interactive=False, profile_flag="ci", keyring_get=stored.get
    )

    assert (implicit.source, implicit.value) == ("env", API_KEY)
    assert (explicit.source, explicit.profile, explicit.value) == ("keyring", "ci", stored["ci"])
    with pytest.raises(ApiKeyError, match="--profile other takes precedence"):
        find_api_key(
            environ, "other", interactive=False, profile_flag="other", keyring_get=lambda _: None
        )
    with pytest.raises(UsageError, match="wrapped in quotes"):
        find_api_key({"REMOTEGPU_API_KEY": f"'{API_KEY}'"}, "ci", interactive=False)


@pytest.mark.parametrize(
    ("outcome", "expected", "lenient", "ok"),
    [
        ("allowed", "allowed", False, True),
        ("denied", "allowed", False, False),
        ("denied", "denied", False, True),
        ("not_found", "denied", False, False),
        ("not_found", "denied", True, True),
        ("not_found", "allowed", True, False),
        ("error", "denied", True, False),
    ],
)
def test_not_found_counts_as_denied_only_when_asked(outcome, expected, lenient, ok):
    assert holds(outcome, expected, not_found_as_denied=lenient) is ok


@pytest.mark.parametrize(
    ("answer", "ours", "shown"),
    [
        pytest.param(
            ErrorAnswer("revoked_api_key", "Missing, invalid, revoked, or expired API key"),
            "the key has been revoked",
            "revoked_api_key",
            id="docs-generic-401",
        ),
        pytest.param(
            ErrorAnswer("namespace_not_found", "Namespace not found."),
            "namespace x does not exist",
            "namespace_not_found",
            id="generic-404",
        ),
        pytest.param(
            ErrorAnswer("forbidden", "The API key may not access the namespace"),
            "the API key rgpu_ab… may not access the namespace 0b7e…",
            "forbidden",
            id="every-word-already-ours",
        ),
        pytest.param(
            ErrorAnswer("forbidden", "its scope is inference only"),
            "the API key may not get credentials",
            "forbidden: its scope is inference only",
            id="adds-something",
        ),
        pytest.param(
            ErrorAnswer("revoked_api_key", "Revoked by alice on 2026-11-02"),
            "the key has been revoked",
            "revoked_api_key: Revoked by alice on 2026-11-02",
            id="specific-401",
        ),
        pytest.param(ErrorAnswer(None, "<html>oops</html>"), "", "<html>oops</html>", id="no-code"),
    ],
)
def test_the_servers_message_is_shown_only_when_it_adds_to_ours(answer, ours, shown):
    assert answer.beside(ours) == shown


def test_an_error_answer_is_read_into_code_and_message_without_the_key():
    key = "rgpu_3f9a2c1b" + "s" * 32
    body = ('{"error": {"code": "forbidden", "message": "no for ' + key + '"}}').encode()

    answer = ErrorAnswer.read(body, key)

    assert answer.code == "forbidden"
    assert "s" * 8 not in answer.message
    assert ErrorAnswer.read(b"<html>oops</html>", key) == ErrorAnswer(None, "<html>oops</html>")


def test_the_console_apis_json_answer_is_unwrapped_and_a_json_kubeconfig_is_not():
    wrapped = '{"namespace": "team-ml", "filename": "x.yaml", "kubeconfig": "apiVersion: v1\\n"}'
    json_kubeconfig = '{"apiVersion": "v1", "clusters": [], "kubeconfig": "no"}'

    assert unwrap(wrapped, "stdin") == ("apiVersion: v1\n", "stdin (the console API's JSON answer)")
    assert unwrap(json_kubeconfig, "f") == (json_kubeconfig, "f")
    assert unwrap("{not json", "f") == ("{not json", "f")
