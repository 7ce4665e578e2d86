"""The wrong turns users take (issue 25), walked against the emulator and real kubectl.

Each turn is set up in its own HOME, KUBECONFIG and cache; what the user runs must name the
cause and print a fix. The printed fix is then run exactly as printed, through a shell, and
kubectl must work afterwards; or the fix lies honestly outside the tool ("create a key in the
console"), and then the output says so and offers no command. Every exit code a command returns
here must be one its `--help` lists. The turns are in tests/wrong_turns_catalogue.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rgpu_emulator.testing import EmulatorClient, EmulatorProcess
from wrong_turns import (
    Turn,
    World,
    cause_of,
    command_of,
    offered,
    placeholders,
    printed_commands,
    the_fix,
    world_env,
)
from wrong_turns_catalogue import CATALOGUE

from help_claims import listed_exit_codes

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

README = Path(__file__).parents[2] / "README.md"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """One emulator for the whole catalogue, started with --seed (the README's happy path)."""
    process = EmulatorProcess(
        tmp_path_factory.mktemp("wrong-turns-emulator"), "--seed", "--max-active-keys", "1000"
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def world(seeded: EmulatorProcess, sandbox: Path) -> Iterator[World]:
    home = Path(sandbox) / "home"
    clients = EmulatorClient(seeded.ready), EmulatorClient(seeded.ready, account=1)
    try:
        yield World(seeded.ready, *clients, home, world_env(home, seeded.ready))
    finally:
        for client in clients:
            client.close()


@pytest.mark.parametrize("turn", CATALOGUE, ids=[t.name for t in CATALOGUE])
def test_each_wrong_turn_names_its_cause_and_its_printed_fix_works(turn: Turn, world: World):
    shown = turn.act(world)
    print(f"$ {shown.command}  -> {shown.code}\n{shown.text}")
    assert re.search(cause_of(turn, world), shown.text), shown.text
    if turn.never is not None:
        assert not re.search(turn.never, shown.text), shown.text
    if turn.fix is not None and (turn.outside is None or offered(shown.text, turn.fix)):
        fix = the_fix(shown.text, turn.fix)
        assert placeholders(fix) == [], f"the fix holds placeholders: {fix}"
        typed = turn.fix_stdin(world) if turn.fix_stdin else None
        ran = world.shell(f"{fix}\n{turn.works}", stdin=typed)
        assert ran.code == 0, f"$ {fix}\n{ran.text}"
    elif turn.outside is not None:
        assert re.search(turn.outside, shown.text), shown.text
        assert [c for c in printed_commands(shown.text) if placeholders(c)] == []
    else:
        ran = world.shell(turn.works)
        assert ran.code == 0, ran.text
    if turn.after is not None:
        turn.after(world)
    for command, code in world.codes:
        assert code in listed_exit_codes(command.split()), f"`rgpu-exec {command}` exited {code}"
    assert world.secrets_shown() == [], "only a key's prefix ever appears in output"


def readme_happy_path() -> list[str]:
    """The commands of the README's "Use it with kubectl" block, comments dropped."""
    section = README.read_text().split("## Use it with kubectl", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_happy_path_verifies_each_step_against_the_seeded_emulator(
    seeded: EmulatorProcess, world: World
):
    seed = seeded.ready.seed
    assert seed is not None, "the module's emulator runs with --seed"
    world.with_keyring()  # a desktop: login keeps the key in the OS keyring
    world.keys.append(seed["api_key"])
    steps = readme_happy_path()
    assert [s.split()[:2] for s in steps] == [
        ["rgpu-exec", "kubeconfig"], ["rgpu-exec", "login"], ["kubectl", "get"],
    ]  # fmt: skip
    downloaded = "~/Downloads/remotegpu-team-ml-kubeconfig.yaml"
    (world.home / "Downloads").mkdir()
    (world.home / "Downloads" / Path(downloaded).name).write_text(
        Path(seed["kubeconfig_file"]).read_text()
    )
    for step in steps:
        typed = seed["api_key"] if step.startswith("rgpu-exec login") else None
        ran = world.shell(step, stdin=typed)
        assert ran.code == 0, f"$ {step}\n{ran.text}"
        assert "unverified" not in ran.text, f"$ {step}\n{ran.text}"
        if step.startswith("rgpu-exec login"):
            assert f"verified with {seeded.ready.api_url}" in ran.text, ran.text
            assert seed["api_key"] not in ran.text
        if step.startswith("kubectl"):
            assert f"No resources found in {seed['namespace']} namespace" in ran.text
    for command, code in world.codes:
        assert code in listed_exit_codes(command.split()), f"`rgpu-exec {command}` exited {code}"
    assert world.secrets_shown() == []


def test_each_printed_fix_is_read_from_its_line_and_placeholders_are_caught():
    doctor = (
        "PROBLEM  cluster  context 'x': kubectl does not trust the server's certificate\n"
        "                  fix: give the cluster its CA: `rgpu-exec kubeconfig import FILE "
        "--replace` with the console's kubeconfig\n"
    )
    message = "rgpu-exec: set it back: `kubectl config set-context a\n  --namespace b`."
    assert printed_commands(doctor) == ["rgpu-exec kubeconfig import FILE --replace"]
    assert printed_commands(message) == ["kubectl config set-context a --namespace b"]
    assert the_fix(message, "kubectl config") == "kubectl config set-context a --namespace b"
    assert placeholders("rgpu-exec kubeconfig import FILE --replace") == ["FILE"]
    assert placeholders("export REMOTEGPU_API_KEY=rgpu_…") == ["…"]
    assert placeholders("rgpu-exec token --namespace-id <ID>") == ["<ID>"]
    assert placeholders("kubectl config set-context rgpu-team-ml --namespace team-ml") == []
    assert command_of(["kubeconfig", "import", "a.yaml", "--replace"]) == "kubeconfig import"
    assert command_of(["doctor", "-o", "json"]) == "doctor"
    assert command_of(["token", "--namespace-id", "x"]) == "token"
