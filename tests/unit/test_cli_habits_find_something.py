"""The habits people bring from other CLIs find something: `version` and `--version` (with
`-o json` and `-o yaml`), `-o yaml` wherever `-o json` is, and a did-you-mean for a mistyped
flag that never shows a value typed."""

from __future__ import annotations

import json

import pytest
import yaml

from rgpu_exec import __version__
from rgpu_exec.completion.table import TREE

from conftest import API_KEY

BUG_REPORT_FIELDS = [
    "version", "python", "python_executable", "platform", "machine", "package", "dependencies",
    "settings_set",
]  # fmt: skip


def test_version_says_what_a_bug_report_needs(run_cli) -> None:
    shown = run_cli(["version"])
    assert shown.returncode == 0
    assert shown.stdout.startswith(f"rgpu-exec  {__version__}\n")
    for row in ("python", "platform", "package", "libraries", "settings"):
        assert f"\n{row} " in shown.stdout
    assert shown.stderr == ""


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_version_is_one_document_in_json_and_yaml(run_cli, form) -> None:
    shown = run_cli(["version", "-o", form])
    document = json.loads(shown.stdout) if form == "json" else yaml.safe_load(shown.stdout)
    assert shown.returncode == 0
    assert list(document) == BUG_REPORT_FIELDS
    assert document["version"] == __version__
    assert document["dependencies"]["httpx"]  # installed, so its version is known
    assert document["python"].split()[0].count(".") == 2


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_dash_dash_version_with_an_output_form_is_the_version_document(run_cli, form) -> None:
    flag = run_cli(["--version", "-o", form])
    command = run_cli(["version", "-o", form])
    assert (flag.returncode, flag.stdout) == (0, command.stdout)


def test_dash_dash_version_alone_prints_one_line(run_cli) -> None:
    shown = run_cli(["--version"])
    assert (shown.returncode, shown.stdout) == (0, f"rgpu-exec {__version__}\n")


def test_version_names_the_settings_set_and_never_shows_a_value(run_cli) -> None:
    env = {"REMOTEGPU_API_KEY": API_KEY, "RGPU_EXEC_PROFILE": "ci-secret-profile"}
    for form in ("table", "json", "yaml"):
        shown = run_cli(["version", "-o", form], env=env)
        assert "REMOTEGPU_API_KEY" in shown.stdout
        assert "RGPU_EXEC_PROFILE" in shown.stdout
        assert "ci-secret-profile" not in shown.stdout
        assert API_KEY[:13] not in shown.stdout + shown.stderr  # not even the key's prefix


def test_yaml_is_offered_wherever_json_is() -> None:
    offering_json = {
        name
        for name, node in TREE.items()
        for choices in node["value_flags"].values()
        if choices and "json" in choices
    }
    offering_yaml = {
        name
        for name, node in TREE.items()
        for choices in node["value_flags"].values()
        if choices and "yaml" in choices
    }
    assert offering_json
    assert offering_json == offering_yaml
    assert {"check", "doctor", "whoami", "cache list", "scope validate", "kubeconfig list"} | {
        "version"
    } <= offering_yaml


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["check", "--namspace-id", "x"], "--namespace-id"),
        (["doctor", "--problem-only"], "--problems-only"),
        (["whoami", "--ofline"], "--offline"),
        (["kubeconfig", "generate", "--namspace", "team-ml"], "--namespace"),  # a required one
        (["token", "--namespce-id=x"], "--namespace-id"),
        (["--verison"], "--version"),
    ],
)
def test_a_mistyped_flag_is_answered_with_the_one_meant(run_cli, argv, meant) -> None:
    refused = run_cli(argv)
    assert refused.returncode == 2
    assert f"did you mean {meant}?" in refused.stderr


def test_a_mistyped_flag_with_a_value_shows_the_name_and_no_value(run_cli) -> None:
    refused = run_cli(["whoami", f"--contxt={API_KEY}", "--tokn=SECRET"])
    assert refused.returncode == 2
    assert "--contxt=…" in refused.stderr
    assert "did you mean --context?" in refused.stderr
    assert "SECRET" not in refused.stderr
    assert API_KEY[14:] not in refused.stderr


def test_several_mistyped_flags_each_get_their_guess(run_cli) -> None:
    refused = run_cli(["doctor", "--contxt", "a", "--problem-only"])
    assert "did you mean --context for --contxt, --problems-only for --problem-only?" in (
        refused.stderr
    )


def test_a_flag_close_to_none_gets_no_guess(run_cli) -> None:
    refused = run_cli(["whoami", "--bogus"])
    assert refused.returncode == 2
    assert "did you mean" not in refused.stderr


def test_library_versions_are_read_from_the_first_metadata_folder_found(tmp_path) -> None:
    from rgpu_exec.usecases.version import installed_versions

    first, second = tmp_path / "first", tmp_path / "second"
    for folder, names in (
        (first, ["ruamel_yaml-0.19.1.dist-info", "httpx2-2.0.dist-info", "PyYAML-6.0.egg-link"]),
        (second, ["httpx-0.28.1.dist-info", "ruamel.yaml-0.18.0.dist-info"]),
    ):
        for name in names:
            (folder / name).mkdir(parents=True)
    wanted = ("httpx", "ruamel.yaml", "PyYAML")
    path = [str(first), str(tmp_path / "missing"), str(second)]
    assert (
        installed_versions(wanted, path)
        == {
            "httpx": "0.28.1",  # not httpx2's
            "ruamel.yaml": "0.19.1",  # the first found, as an import finds it; names compared canonically
            "PyYAML": None,  # no .dist-info folder: not known
        }
    )
