"""A token request's checks and their messages (`hotpath.request`), pinned where mutation testing
(`make mutation`) found no test holding them: the fix printed for a URL as it was given, the URL
as a message shows it, where the URL came from, and the settings a failure is recorded under."""

from __future__ import annotations

from pathlib import Path

import pytest

from rgpu_exec.hotpath import failures, request, settings


def test_a_url_without_its_scheme_is_fixed_where_it_was_given() -> None:
    _, from_flag = request.resolve_api_url("api.example.test", {})
    _, from_environment = request.resolve_api_url(None, {"REMOTEGPU_API_URL": "api.example.test"})

    assert from_flag is not None
    assert "`--api-url https://api.example.test`" in from_flag
    assert from_environment is not None
    assert "`export REMOTEGPU_API_URL=https://api.example.test`" in from_environment
    resolved = request.resolve(request.EXAMPLE_NAMESPACE_ID, "api.example.test", None, {})
    assert isinstance(resolved, str)
    assert "`--api-url https://api.example.test`" in resolved, "the same from resolve"


def test_a_url_checked_without_saying_where_it_came_from_is_fixed_in_the_environment() -> None:
    problem = request.api_url_problem("api.example.test")

    assert problem is not None
    assert "`export REMOTEGPU_API_URL=https://api.example.test`" in problem
    assert "--api-url https://" not in problem


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        pytest.param("api.example.test:99999", "'api.example.test:99999'", id="no-scheme"),
        pytest.param(
            "https://api.example.test/?token=abc", "'https://api.example.test/…'", id="query"
        ),
        pytest.param(
            "https://api.example.test/v1#token=abc", "'https://api.example.test/v1…'", id="fragment"
        ),
        pytest.param(
            "https://api.example.test/v1?x=abc?y=1", "'https://api.example.test/v1…'", id="two-?"
        ),
        pytest.param("https://?token=abc", "'https://…'", id="query-at-once"),
        pytest.param(
            "https://u:abc@api.example.test/x", "'https://…@api.example.test/x'", id="password"
        ),
        pytest.param("u:abc@api.example.test", "'…@api.example.test'", id="password-no-scheme"),
        pytest.param(
            "https://api.example.test/v1/a@b/c?abc",
            "'https://api.example.test/v1/a@b/c…'",
            id="an-@-in-the-path-is-no-user",
        ),
        pytest.param(
            "https://X:abc@api.example.test/x", "'https://…@api.example.test/x'", id="password-X"
        ),
    ],
)
def test_a_refused_url_is_shown_as_given_less_its_query_or_fragment(url: str, shown: str) -> None:
    # A query or fragment may carry a token: it is cut, and the cut is marked.
    problem = request.api_url_problem(url)

    assert problem is not None
    assert problem.startswith(f"the API URL {shown} "), problem
    assert "abc" not in problem


def test_a_flag_kubectl_passed_is_named_as_the_kubeconfigs() -> None:
    by_kubectl = {"KUBERNETES_EXEC_INFO": '{"apiVersion":"client.authentication.k8s.io/v1"}'}

    assert request.api_url_source("https://x", by_kubectl) == (
        "the --api-url in your kubeconfig's exec args"
    )
    assert request.api_url_source("https://x", {}) == "--api-url"


@pytest.mark.parametrize("value", ["-abc", "abc-def-", "0123456789abcdef0123456789abcdef-"])
def test_a_value_of_hex_digits_and_dashes_is_not_guessed_to_be_a_namespace_id(value: str) -> None:
    # Only 35 or 37 characters with four dashes look like an ID one character off.
    _, problem = request.resolve_namespace_id(value)

    assert problem is not None
    assert "a guess" not in problem
    assert f"({len(value)} characters, not shown)" in problem


def test_a_requests_settings_hold_the_key_files_state_on_a_line_of_its_own(
    tmp_path: Path,
) -> None:
    environ = {"HOME": str(tmp_path), "HTTPS_PROXY": "http://proxy.example.test:3128"}
    resolved = request.resolve(request.EXAMPLE_NAMESPACE_ID, None, None, environ)
    assert isinstance(resolved, request.ExecRequest)

    lines = resolved.exchange_settings().split("\n")

    assert lines == [
        *settings.exchange_settings(environ).split("\n"),
        failures.key_file_state(environ),
    ]


@pytest.mark.parametrize(
    ("name", "said"),
    [
        pytest.param("Team", "has upper-case letters", id="upper-case"),
        pytest.param("te am", "has spaces", id="space"),
        pytest.param("te\x01am", "has control characters", id="control"),
        pytest.param("te_am", "has other characters", id="other"),
        pytest.param("Te_am", "has upper-case letters, other characters", id="upper-and-other"),
    ],
)
def test_a_namespace_name_refused_says_which_kinds_of_characters_it_has(
    name: str, said: str
) -> None:
    problem = request.namespace_name_problem(name)

    assert problem is not None
    assert f"(the value, not shown, {said})" in problem


def test_a_namespace_known_by_neither_name_nor_id_is_shown_as_a_question_mark() -> None:
    assert request.namespace_label(None, None) == "?"
    assert request.namespace_label("team-ml", None) == "team-ml"


def test_a_value_one_character_short_of_an_id_is_guessed_whatever_digits_it_uses() -> None:
    value = "01234567-89ab-cdef-0123-456789abcde"  # every hex digit, 35 characters
    _, problem = request.resolve_namespace_id(value)

    assert problem is not None
    assert "a guess: it looks like a namespace ID cut short, 35 characters" in problem


def test_a_refused_namespace_name_says_where_to_fix_it() -> None:
    problem = request.namespace_name_problem("Team")

    assert problem is not None
    assert problem.endswith(
        "Fix it in the kubeconfig's exec args, or drop it: it only names the namespace in messages."
    )
