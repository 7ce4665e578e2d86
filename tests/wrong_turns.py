"""Support for the wrong-turns catalogue (tests/e2e/test_wrong_turns.py): one turn's sandbox
against the emulator, the commands it runs (and their exit codes), and the reading of a fix.

A `World` is one wrong turn's own HOME, KUBECONFIG and cache (the test's sandbox), an emulator
shared by the module, and a log of every command run, so that each exit code can be held to
the list in that command's `--help`.
"""

from __future__ import annotations

import functools
import json
import os
import re
import secrets
import select
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML

from rgpu_emulator.testing import EmulatorClient, Ready, exec_kubeconfig, write_kubeconfig

if TYPE_CHECKING:
    from collections.abc import Callable

BIN = Path(sys.executable).parent  # rgpu-exec and kubectl (the dev extra's) live here
RGPU_EXEC = str(BIN / "rgpu-exec")
KUBECTL = str(BIN / "kubectl") if (BIN / "kubectl").exists() else "kubectl"
TIMEOUT = 30  # one command; a hang fails the turn rather than the run

# What a printed fix may start with: commands a user pastes into a shell.
_COMMANDS = ("rgpu-exec ", "kubectl ", "export ", "unset ", "chmod ", "rm ", "mv ", "mkdir ")
# A placeholder a user would have to replace before the command runs.
_PLACEHOLDER = re.compile(r"…|\.\.\.|<[^>]*>|\b(?:FILE|ID|NAME|URL|PATH|PROFILE|KEY)\b")
_KUBECTL_EXIT = re.compile(r"executable \S+ failed with exit code (\d+)")
_GROUPS = frozenset({"kubeconfig", "cache", "scope", "completion"})


@dataclass(frozen=True)
class Ran:
    """One command the user ran, as they saw it."""

    command: str
    code: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


@dataclass
class World:
    ready: Ready
    client: EmulatorClient
    other_account: EmulatorClient
    home: Path
    env: dict[str, str]
    codes: list[tuple[str, int]] = field(default_factory=list)  # (rgpu-exec command, exit code)
    notes: dict[str, str] = field(default_factory=dict)  # values a turn's cause names ($NAME)
    keys: list[str] = field(default_factory=list)  # every raw key the turn made
    shown: list[str] = field(default_factory=list)  # everything the commands printed

    @property
    def kubeconfig(self) -> Path:
        return Path(self.env["KUBECONFIG"])

    # -- the platform, as the console would change it --------------------------------------------

    def namespace(self, name: str, client: EmulatorClient | None = None) -> dict[str, Any]:
        """A new namespace `name-xxxx` (each turn its own, on the shared emulator)."""
        return (client or self.client).create_namespace(f"{name}-{secrets.token_hex(2)}")

    def key(
        self, *namespaces: dict[str, Any], scopes: dict[str, Any] | None = None,
        expires_at: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """A new key (the console's answer; the raw key in "key"), for these namespaces."""
        ids = [ns["id"] for ns in namespaces]
        scopes = scopes or {"kubernetes_exec": {"namespace_ids": ids}}
        created = self.client.create_key("wrong-turn", scopes, expires_at=expires_at)
        self.keys.append(created["key"])
        return created

    def secrets_shown(self) -> list[str]:
        """The keys whose secret part (beyond the prefix) any command printed: none, ever."""
        return [k for k in self.keys if any(k[13:] in text for text in self.shown)]

    # -- the user's machine ---------------------------------------------------------------------

    def with_keyring(self) -> None:
        """A desktop's keyring (a file-backed one, tests/file_keyring.py), in place of none."""
        self.env["TEST_KEYRING_FILE"] = str(self.home / "keyring.json")
        self.env["PYTHON_KEYRING_BACKEND"] = "file_keyring.FileKeyring"
        self.env["PYTHONPATH"] = str(Path(__file__).parent)

    def context(self, *namespaces: dict[str, Any], command: str = RGPU_EXEC, **kwargs: Any) -> Path:
        """A kubeconfig with a working context per namespace (named after it), the first current."""
        pairs = [(ns["name"], ns["id"]) for ns in namespaces]
        return write_kubeconfig(
            self.kubeconfig, exec_kubeconfig(self.ready, command, pairs, **kwargs)
        )

    def run(self, argv: list[str], stdin: str | None = None, **env: str) -> Ran:
        merged = {**self.env, **env}
        result = subprocess.run(
            argv, env=merged, input=stdin, capture_output=True, text=True, timeout=TIMEOUT,
            check=False, cwd=self.home,
        )  # fmt: skip
        ran = Ran(shlex.join(argv), result.returncode, result.stdout, result.stderr)
        self.shown.append(ran.text)
        if Path(argv[0]).name == "rgpu-exec":
            self.codes.append((command_of(argv[1:]), ran.code))
        self.codes.extend(("token", int(code)) for code in _KUBECTL_EXIT.findall(ran.stderr))
        return ran

    def plugin(self) -> Ran:
        """The current context's exec plugin, run as kubectl runs it for `kubectl get pods`
        (argv, env, `KUBERNETES_EXEC_INFO`): its stderr is what kubectl shows. Cheaper than
        kubectl, which runs a failing plugin 5-6 times and shows the same message each time."""
        config = YAML(typ="safe").load(self.kubeconfig.read_text())
        current = config["current-context"]
        context = next(c["context"] for c in config["contexts"] if c["name"] == current)
        stanza = next(u["user"] for u in config["users"] if u["name"] == context["user"])["exec"]
        info = {"kind": "ExecCredential", "apiVersion": stanza["apiVersion"],
                "spec": {"interactive": False}}  # fmt: skip
        return self.run([stanza["command"], *stanza.get("args", [])],
                        KUBERNETES_EXEC_INFO=json.dumps(info, separators=(",", ":")))  # fmt: skip

    def rgpu(self, *args: str, stdin: str | None = None, **env: str) -> Ran:
        return self.run([RGPU_EXEC, *args], stdin, **env)

    def kubectl(self, *args: str, **env: str) -> Ran:
        return self.run([KUBECTL, *args, "--request-timeout", "10s"], **env)

    def shell(self, script: str, stdin: str | None = None) -> Ran:
        """`script` as a user's shell runs it (sh, `set -e`), in this world's environment."""
        return self.run(["sh", "-ec", script], stdin)


def world_env(home: Path, ready: Ready) -> dict[str, str]:
    """The test's sandboxed environment, with the venv's commands first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "/usr/bin:/bin")])
    env["REMOTEGPU_API_URL"] = ready.api_url
    env["HOME"] = str(home)
    return env


def command_of(args: list[str]) -> str:
    """`kubeconfig import` of `kubeconfig import a.yaml --replace`; `doctor` of `doctor -o json`."""
    words = [a for a in args[:2] if not a.startswith("-")]
    if not words:
        return ""
    return " ".join(words[:2]) if words[0] in _GROUPS and len(words) > 1 else words[0]


@functools.cache
def printed_commands(text: str) -> list[str]:
    """The commands an output offers to paste: each `fix:` line's command, then each command
    in backquotes, in order, whitespace collapsed (a message may wrap inside one)."""
    found: list[str] = []
    for line in text.splitlines():
        if "fix: " in line:
            fix = line.split("fix: ", 1)[1]
            quoted = re.findall(r"`([^`]+)`", fix)
            found += quoted or [fix.strip()]
    found += re.findall(r"`([^`]+)`", text)
    commands = [" ".join(c.split()) for c in found]
    return list(dict.fromkeys(c for c in commands if c.startswith(_COMMANDS)))


def placeholders(command: str) -> list[str]:
    return _PLACEHOLDER.findall(command)


def offered(text: str, starts: str) -> list[str]:
    """The printed commands whose start matches the regex `starts`."""
    return [c for c in printed_commands(text) if re.match(starts, c)]


def the_fix(text: str, starts: str) -> str:
    """The first printed command whose start matches `starts` (what the turn's fix is about)."""
    found = offered(text, starts)
    assert found, f"no printed command starts with {starts!r}; printed: {printed_commands(text)}"
    return found[0]


@dataclass(frozen=True)
class Turn:
    """One wrong turn: `act` sets it up and runs what the user runs (returning what they saw).

    `cause`: a regex the output must match (the cause, not incidental wording); `$NAME` stands
    for the turn's `notes["NAME"]` (a value it made up, such as a mistyped ID).
    Then one of:
    - `fix`: a regex for the start of the printed command that fixes it; it is run as printed
      (with `fix_stdin`'s answer, say a key typed at a prompt), then `works` (default: kubectl
      get pods) must succeed;
    - `outside`: a regex saying where the fix lies outside the tool (the console); no printed
      command may then hold a placeholder;
    - both: the fix when such a command is printed, else the outside statement (for a value
      the tool cannot know, such as a cluster's CA);
    - neither: the tool copes by itself, and `works` succeeds with nothing else done.
    `after`: more checks once `works` succeeded.
    `never`: a regex for wrong advice the output must not hold.
    """

    name: str
    act: Callable[[World], Ran]
    cause: str
    fix: str | None = None
    outside: str | None = None
    fix_stdin: Callable[[World], str] | None = None
    works: str = "kubectl get pods --request-timeout 10s"
    never: str | None = None  # a regex the output must not match (a wrong hint)
    after: Callable[[World], None] | None = None  # more checks once kubectl works


def cause_of(turn: Turn, world: World) -> str:
    """The turn's cause regex with its `$NAME`s replaced by the values they stand for."""
    notes = world.notes
    return re.sub(r"\$([A-Z]+)", lambda m: re.escape(notes.get(m[1], m[0])), turn.cause)


# gcloud's kubectl dispatcher, as it behaves: it asks the cluster for its version through
# client-go (which runs the exec plugin, the dispatcher being its parent) and then execs the
# versioned kubectl in the same process (which runs the plugin again, with the same parent).
DISPATCHER = """#!{python}
import json, os, subprocess, sys
from ruamel.yaml import YAML

config = YAML(typ="safe").load(open(os.environ["KUBECONFIG"]))
context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
stanza = next(u["user"] for u in config["users"] if u["name"] == context["user"])["exec"]
info = {{"kind": "ExecCredential", "apiVersion": stanza["apiVersion"], "spec": {{"interactive": True}}}}
env = {{**os.environ, "KUBERNETES_EXEC_INFO": json.dumps(info)}}
subprocess.run([stanza["command"], *stanza["args"]], env=env, stdout=subprocess.DEVNULL, check=False)
os.execv({kubectl!r}, [{kubectl!r}, *sys.argv[1:]])
"""
PROMPT = "RemoteGPU API key ("


def with_dispatcher(world: World) -> None:
    """`kubectl` on the world's PATH is now the dispatcher in front of the real one."""
    bin_dir = world.home / "dispatcher-bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "kubectl"
    script.write_text(DISPATCHER.format(python=sys.executable, kubectl=KUBECTL))
    script.chmod(0o755)
    world.env["PATH"] = os.pathsep.join([str(bin_dir), world.env["PATH"]])


def typed_at_a_terminal(world: World, command: str, key: str) -> tuple[Ran, list[str]]:
    """`command` on a terminal (script(1) gives it one), typing `key` at each prompt for a key
    once the prompt shows. The transcript, and what each prompt said: its line, with what was
    shown since the answer before it (the message after a typed key that works left out)."""
    argv = ["script", "-qfec", command, "/dev/null"]
    with subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env=world.env, cwd=world.home,
    ) as process:  # fmt: skip
        assert process.stdin is not None
        assert process.stdout is not None
        transcript, prompts = "", list[str]()
        give_up = time.monotonic() + TIMEOUT
        while time.monotonic() < give_up:
            ready, _, _ = select.select([process.stdout], [], [], 0.5)
            chunk = os.read(process.stdout.fileno(), 4096) if ready else b""
            if ready and not chunk:
                break
            transcript += chunk.decode(errors="replace")
            if transcript.count(PROMPT) > len(prompts):
                since = transcript.rsplit(PROMPT, 1)[0].rsplit(PROMPT, 1)[-1]
                said = [
                    line for line in since.splitlines() if "the key you typed works" not in line
                ]
                prompts.append("\n".join([*said[1:], PROMPT + transcript.rsplit(PROMPT, 1)[1]]))
                time.sleep(0.3)  # the prompt turns echo off (flushing what was typed) after showing
                process.stdin.write(key.encode() + b"\n")
                process.stdin.flush()
        if process.poll() is None:
            process.kill()
        code = process.wait()
    ran = Ran(command, code, transcript, "")
    world.shown.append(ran.text)
    return ran, prompts
