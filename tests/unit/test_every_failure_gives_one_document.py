"""`-o json` and `-o yaml` print one document on stdout whatever happens: a command that fails
before it builds its own document (a usage error, a bad flag value, a failure early in its run,
a bug) prints the failure document, `{"ok": false, "error": {"exit_code", "message"}}`, in the
form asked for, with the message stderr says (docs/json-output.md)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from rgpu_exec.cli import document_wanted
from rgpu_exec.completion.table import TREE
from rgpu_exec.errors import ExitCode

from conftest import API_KEY

if TYPE_CHECKING:
    from conftest import CliRun

# Every command that takes -o: it prints a document.
WITH_OUTPUT = sorted(name for name, node in TREE.items() if "--output" in node["value_flags"])
FORMS = ("json", "yaml")
# A failure early in each command's run, before its document is built: a value refused.
EARLY_FAILURES = {
    "check": ["--namespace-id", "team-ml"],
    "whoami": ["--context", "no-such-context"],
    "kubeconfig list": ["--kubeconfig", "{missing}"],
    "cache list": ["--context", "no-such-context"],
}
# A flag of each command that takes a value (scope validate has none but -o).
VALUE_FLAGS = {
    "check": "--namespace-id",
    "whoami": "--context",
    "doctor": "--context",
    "kubeconfig list": "--kubeconfig",
    "cache list": "--context",
}
# The use case each command runs, by the name the command imports it by (inside its `run`).
USE_CASES = {
    "check": ("rgpu_exec.usecases.check", "run"),
    "whoami": ("rgpu_exec.usecases.whoami", "run"),
    "doctor": ("rgpu_exec.usecases.doctor.diagnose", "run"),
    "kubeconfig list": ("rgpu_exec.usecases.kubeconfig_list", "run"),
    "cache list": ("rgpu_exec.usecases.cache_admin", "run_list"),
    "scope validate": ("rgpu_exec.usecases.scope", "run"),
    "version": ("rgpu_exec.usecases.version", "run"),
}


def parsed(form: str, text: str) -> Any:
    return json.loads(text) if form == "json" else yaml.safe_load(text)


def assert_one_failure_document(form: str, run: CliRun, code: int) -> None:
    out, err = run.stdout, run.stderr
    assert run.returncode == code
    document = parsed(form, out)
    message = document["error"]["message"]
    assert document == {"ok": False, "error": {"exit_code": code, "message": message}}
    assert err == f"rgpu-exec: {message}\n"
    if form == "yaml":
        assert not out.lstrip().startswith("{")  # YAML, not JSON (which YAML also reads)


def test_every_command_with_a_document_is_in_the_tables() -> None:
    assert sorted(USE_CASES) == WITH_OUTPUT
    assert set(EARLY_FAILURES) | set(VALUE_FLAGS) <= set(WITH_OUTPUT)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("command", WITH_OUTPUT)
def test_a_usage_error_gives_one_failure_document(run_cli, command, form) -> None:
    refused = run_cli([*command.split(), "-o", form, "--bogus"])
    assert_one_failure_document(form, refused, ExitCode.USAGE)
    assert "--bogus" in refused.stdout


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("command", sorted(VALUE_FLAGS))
def test_a_flag_without_its_value_gives_one_failure_document(run_cli, command, form) -> None:
    refused = run_cli([*command.split(), f"--output={form}", VALUE_FLAGS[command]])
    assert_one_failure_document(form, refused, ExitCode.USAGE)
    assert "expected one argument" in refused.stderr


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("command", sorted(EARLY_FAILURES))
def test_a_failure_early_in_the_run_gives_one_failure_document(
    run_cli, sandbox, command, form
) -> None:
    argv = [arg.format(missing=sandbox / "missing") for arg in EARLY_FAILURES[command]]
    failed = run_cli([*command.split(), *argv, "-o", form])
    assert_one_failure_document(form, failed, ExitCode.USAGE)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("command", WITH_OUTPUT)
def test_a_bug_in_the_run_gives_one_failure_document(run_cli, monkeypatch, command, form) -> None:
    module, name = USE_CASES[command]

    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("planted")

    monkeypatch.setattr(f"{module}.{name}", broken)
    payload = "{}" if command == "scope validate" else ""  # empty stdin: no payload, refused
    failed = run_cli([*command.split(), "-o", form], stdin=payload)
    assert_one_failure_document(form, failed, ExitCode.UNEXPECTED)
    assert "planted" in failed.stdout


def test_the_table_form_prints_no_document(run_cli) -> None:
    refused = run_cli(["whoami", "--bogus"])
    assert refused.returncode == ExitCode.USAGE
    assert refused.stdout == ""


@pytest.mark.parametrize(
    ("argv", "form"),
    [
        (["check", "-o", "json"], "json"),
        (["check", "--output", "yaml"], "yaml"),
        (["check", "-ojson"], "json"),
        (["check", "-oyaml"], "yaml"),
        (["check", "--output=yaml"], "yaml"),
        (["check", "-o", "json", "-o", "yaml"], "yaml"),  # the last one, as argparse takes it
        (["check", "-o", "yaml", "-o", "table"], None),
        (["check", "-o", "xml"], None),
        (["check", "-o"], None),
        (["check", "--", "-o", "json"], None),
        (["check"], None),
    ],
)
def test_the_form_is_read_before_parsing_as_argparse_would(argv, form) -> None:
    assert document_wanted(argv) == form


@pytest.mark.parametrize("form", FORMS)
def test_a_failure_document_never_shows_a_value_typed(run_cli, form) -> None:
    refused = run_cli(["whoami", "-o", form, f"--api-key={API_KEY}", "--tokn", "SECRET-VALUE"])
    assert_one_failure_document(form, refused, ExitCode.USAGE)
    assert "--api-key=…" in refused.stderr  # and in the document, as stderr says it
    for shown in (refused.stdout, refused.stderr):
        assert API_KEY[14:22] not in shown
        assert "SECRET-VALUE" not in shown
