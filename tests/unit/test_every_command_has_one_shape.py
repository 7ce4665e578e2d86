"""Every command parses its flags into a request, calls one use case, and renders its result
through one renderer: use cases never print or read the environment, a command's module imports
no use case before it runs, `-o yaml` is the `-o json` document, and exit codes are decided in
the use case."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from rgpu_exec import sourced
from rgpu_exec.cli import main
from rgpu_exec.commands import completion as completion_command
from rgpu_exec.completion import scripts
from rgpu_exec.contract import EXCHANGE_PATH
from rgpu_exec.credentials.api_key import ApiKey
from rgpu_exec.errors import ApiKeyError, ExitCode, UsageError
from rgpu_exec.usecases.key_exchange import KeyVerdict
from rgpu_exec.usecases.scope import ScopeRequest
from rgpu_exec.usecases.scope import run as validate_scope
from rgpu_exec.usecases.whoami import WhoamiResult

from conftest import API_KEY, NAMESPACE_ID, team_ml_kubeconfig
from exchange_answers import API, credential_answer

SRC = Path(__file__).parents[2] / "src" / "rgpu_exec"
_PRINTING = {"write", "tell", "say", "line", "document", "credential"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _calls(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id == "output" and node.func.attr in _PRINTING:
                found.append(f"output.{node.func.attr}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "print"
        ):
            found.append("print")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "os" and node.attr in {"environ", "getenv"}:
                found.append(f"os.{node.attr}")
            if node.value.id == "sys" and node.attr in {"stdout", "stderr", "stdin"}:
                found.append(f"sys.{node.attr}")
    return found


@pytest.mark.parametrize(
    "path", sorted((SRC / "usecases").rglob("*.py")), ids=lambda p: str(p.relative_to(SRC))
)
def test_a_use_case_never_prints_nor_reads_the_environment(path: Path) -> None:
    assert _calls(ast.parse(path.read_text())) == []


def test_the_printing_scan_sees_a_planted_print() -> None:
    planted = "import os, sys\nprint(os.environ)\noutput.say('x')\nsys.stdout.write('y')\n"
    assert sorted(_calls(ast.parse(planted))) == [
        "os.environ",
        "output.say",
        "print",
        "sys.stdout",
    ]


def _top_level_use_case_imports(tree: ast.Module) -> list[str]:
    found = []
    for node in tree.body:  # module level only; `if TYPE_CHECKING:` blocks import nothing
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found += [
            n for n in names if n.startswith("rgpu_exec.usecases") and n != "rgpu_exec.sourced"
        ]
    return found


@pytest.mark.parametrize("path", sorted((SRC / "commands").glob("*.py")), ids=lambda p: p.name)
def test_a_command_module_imports_its_use_case_only_when_it_runs(path: Path) -> None:
    assert _top_level_use_case_imports(ast.parse(path.read_text())) == []


def test_the_import_scan_sees_a_planted_top_level_use_case_import() -> None:
    planted = "from rgpu_exec.usecases.check import run\nfrom rgpu_exec import sourced\n"
    assert _top_level_use_case_imports(ast.parse(planted)) == ["rgpu_exec.usecases.check.run"]


def test_yaml_output_is_the_json_document(capsys, sandbox) -> None:
    kubeconfig = sandbox / "config"
    team_ml_kubeconfig(kubeconfig, ["token", "--namespace-id", NAMESPACE_ID])
    listing = ["kubeconfig", "list", "--kubeconfig", str(kubeconfig)]
    scope = ["scope", "validate", '{"kubernetes_exec": {"all_namespaces": true}}']
    for argv in (listing, scope):
        json_code, as_json, _ = run(capsys, *argv, "-o", "json")
        yaml_code, as_yaml, _ = run(capsys, *argv, "-o", "yaml")
        assert (yaml_code, json_code) == (0, 0)
        assert yaml.safe_load(as_yaml) == json.loads(as_json)
        assert not as_yaml.lstrip().startswith("{")  # YAML, not JSON (which YAML also reads)


def test_an_invalid_scope_is_one_yaml_document_with_the_platforms_code(capsys) -> None:
    code, out, _ = run(capsys, "scope", "validate", '{"nope": 1}', "-o", "yaml")
    document = yaml.safe_load(out)
    assert code == ExitCode.USAGE
    assert document["valid"] is False
    assert document["error"]["code"] == validate_scope(ScopeRequest('{"nope": 1}')).code


def test_the_scope_use_case_says_why_a_payload_is_refused() -> None:
    assert validate_scope(ScopeRequest('{"all": true}')).valid
    assert validate_scope(ScopeRequest("{")).code == "invalid_json"
    refused = validate_scope(ScopeRequest('{"all": "yes"}'))
    assert not refused.valid
    assert refused.document()["valid"] is False


def _identity(**changes: object) -> WhoamiResult:
    fields: dict[str, object] = {
        "key": ApiKey(API_KEY, "env"),
        "problem": None,
        "profile": "default",
        "profile_source": "the default",
        "api_url": None,
        "context": None,
        "keyring_backend": "none",
        "keyring_profiles": None,
    }
    fields.update(changes)
    return WhoamiResult(**fields)  # type: ignore[arg-type]


def test_whoami_decides_its_exit_code_in_the_use_case() -> None:
    assert _identity().exit_code == ExitCode.OK
    rejected = KeyVerdict("rejected", "the API rejected it")
    assert _identity(verdict=rejected).exit_code == ExitCode.API_KEY
    malformed = UsageError("malformed")
    assert _identity(key=None, problem=malformed).exit_code == ExitCode.USAGE
    assert _identity(key=None, problem=ApiKeyError("none")).exit_code == ExitCode.API_KEY
    assert _identity(key=None).exit_code == ExitCode.API_KEY


def test_a_refused_environment_value_stops_only_a_command_that_uses_it() -> None:
    environ = {"REMOTEGPU_API_URL": "http://api.example.com"}  # plain http, not to loopback
    url = sourced.api_url(None, environ)
    assert (url.given, url.source) == (False, "REMOTEGPU_API_URL")
    assert url.flag is None  # not given: nothing to beat a context's own with
    with pytest.raises(UsageError):
        _ = url.value
    given = sourced.api_url("https://api.example.com", environ)
    assert (given.value, given.source, given.given) == (
        "https://api.example.com",
        "--api-url",
        True,
    )


def test_a_profile_says_where_it_came_from() -> None:
    assert sourced.profile(None, {}).source == "the default"
    assert sourced.profile(None, {"RGPU_EXEC_PROFILE": "ci"}).source == "RGPU_EXEC_PROFILE"
    assert sourced.profile("ci", {"RGPU_EXEC_PROFILE": "x"}).value == "ci"
    with pytest.raises(UsageError):
        _ = sourced.profile("a b", {}).value


def test_the_completion_command_offers_the_shells_there_are_scripts_for() -> None:
    assert tuple(scripts.SCRIPTS) == completion_command.SHELLS


def _request_and_result_classes() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith(("Request", "Result")):
                found.setdefault(node.name, []).append(str(path.relative_to(SRC)))
    return found


def test_each_request_and_result_class_name_is_owned_once() -> None:
    found = _request_and_result_classes()
    assert {"TokenRequest", "TokenResult", "ExecRequest", "VersionResult"} <= set(found)
    assert {name: paths for name, paths in found.items() if len(paths) > 1} == {}


def test_the_token_use_case_returns_a_result_the_command_writes_as_the_credential(
    run_cli, api, monkeypatch
) -> None:
    from rgpu_exec.usecases import token

    seen: list[token.TokenResult] = []
    real = token.run

    def recording(*args: object, **kwargs: object) -> token.TokenResult:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        seen.append(result)
        return result

    monkeypatch.setattr(token, "run", recording)
    api.post(EXCHANGE_PATH.format(namespace_id=NAMESPACE_ID)).mock(
        return_value=credential_answer("tok-1")
    )
    done = run_cli(["token", "--namespace-id", NAMESPACE_ID, "--api-url", API],
                   env={"REMOTEGPU_API_KEY": API_KEY})  # fmt: skip
    assert done.returncode == seen[0].exit_code == ExitCode.OK
    assert done.stdout == seen[0].exec_credential
    assert json.loads(done.stdout)["kind"] == "ExecCredential"
