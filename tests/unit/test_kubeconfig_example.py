"""examples/kubeconfig.yaml is exactly what generate writes, comments aside."""

from __future__ import annotations

import re
from pathlib import Path

from rgpu_exec.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "kubeconfig.yaml"
CA_DATA = (
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJleGFtcGxlcGxhY2Vob2xkZXIKLS0tLS1FTkQgQ0VSVElGSUNBVEUt"
    "LS0tLQo="
)


def without_comments(text: str) -> str:
    lines = (re.sub(r"\s+# .*$", "", line) for line in text.splitlines())
    return "\n".join(line for line in lines if line.strip() and not line.lstrip().startswith("#"))


def test_example_is_what_generate_writes(tmp_path: Path, capsys) -> None:
    target = tmp_path / "generated.yaml"
    argv = [
        "kubeconfig", "generate", "--kubeconfig", str(target),
        "--namespace", "team-ml", "--namespace-id", "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f",
        "--server", "https://k8s.remotegpu.example", "--certificate-authority-data", CA_DATA,
        "--exec-command", "rgpu-exec", "--set-current-context", "--no-verify",
    ]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    generated = target.read_text()
    assert without_comments(EXAMPLE.read_text()) == without_comments(generated), (
        "examples/kubeconfig.yaml is stale: update it from what generate now writes:\n" + generated
    )
    assert "#" not in generated  # generate adds no comments of its own


def test_the_example_itself_merges_as_a_no_op(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "copy.yaml"
    target.write_text(EXAMPLE.read_text())
    argv = [
        "kubeconfig", "generate", "--kubeconfig", str(target),
        "--namespace", "team-ml", "--namespace-id", "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f",
        "--server", "https://k8s.remotegpu.example", "--certificate-authority-data", CA_DATA,
        "--exec-command", "rgpu-exec", "--no-verify",
    ]  # fmt: skip
    assert main(argv) == 0
    assert target.read_text() == EXAMPLE.read_text()


def test_the_current_context_comment_holds_a_new_file_gets_it_without_the_flag_another_keeps_its_own(
    tmp_path: Path, capsys
) -> None:
    """The example's comments say: current-context is set in a file that has none, and only
    with --set-current-context in one where another context is current."""
    base = [
        "kubeconfig", "generate", "--namespace", "team-ml",
        "--namespace-id", "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f",
        "--server", "https://k8s.remotegpu.example", "--certificate-authority-data", CA_DATA,
        "--exec-command", "rgpu-exec", "--no-verify",
    ]  # fmt: skip
    new_file, other_current = tmp_path / "new.yaml", tmp_path / "other.yaml"
    other_current.write_text(
        "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\n"
        "contexts:\n- name: mine\n  context: {cluster: c, user: u}\ncurrent-context: mine\n"
    )
    assert main([*base, "--kubeconfig", str(new_file)]) == 0, capsys.readouterr().err
    assert main([*base, "--kubeconfig", str(other_current)]) == 0, capsys.readouterr().err
    assert "current-context: rgpu-team-ml" in new_file.read_text()
    assert "current-context: mine" in other_current.read_text()
    for comment in ("had no current context", "--set-current-context"):
        assert comment in EXAMPLE.read_text()
