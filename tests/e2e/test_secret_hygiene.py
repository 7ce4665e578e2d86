"""Secret hygiene over the whole flow, with debug logging on everywhere.

login (a file-backed keyring), token (miss and hit, keyring key and environment key), check,
kubeconfig generate (and a dry run), doctor, cache list, every kind of failure, logout; all with
RGPU_EXEC_LOG=debug, against the emulator. Then every byte written is scanned: each command's
stdout and stderr, and every file under the test's directory (the cache, the kubeconfig and its
backups, the keyring's call log, anything else) except the keyring's own store.

- No raw API key (nor its secret part alone) appears anywhere.
- Tokens appear only on the stdout of `rgpu-exec token` and in the cache's entry files.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rgpu_emulator.testing import own_parent

from emulator_support import RGPU_EXEC, Harness

pytestmark = pytest.mark.e2e

TESTS = Path(__file__).parents[1]  # tests/, where file_keyring.py lives
# What the emulator's tokens look like (rgpu-k8s- and 43 url-safe characters).
TOKEN_SHAPE = re.compile(rb"rgpu-k8s-[A-Za-z0-9_-]{20,}")
UNKNOWN_KEY = "rgpu_0badc0de_Q7wErTyUiOpAsDfGhJkLzXcVbNm12345"
EXEC_INFO_V1 = (
    '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",'
    '"spec":{"interactive":false}}'
)


@dataclass(frozen=True)
class Output:
    label: str
    argv: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes


@dataclass
class Flow:
    emulator: Harness
    sandbox: Path
    outputs: list[Output]

    def run(
        self, label: str, *args: str, key: str | None = None, stdin: bytes = b"",
        expect: int | tuple[int, ...] = 0, **env: str,
    ) -> Output:  # fmt: skip
        environ = {
            **os.environ,
            "RGPU_EXEC_LOG": "debug",
            "PYTHON_KEYRING_BACKEND": "file_keyring.FileKeyring",
            "TEST_KEYRING_FILE": str(self.sandbox / "keyring.json"),
            "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
            **env,
        }
        if key is not None:
            environ["REMOTEGPU_API_KEY"] = key
        argv = [str(RGPU_EXEC), *args]
        result = subprocess.run(  # each run a new parent process, as each kubectl command is
            own_parent(argv), env=environ, input=stdin, capture_output=True, timeout=120,
            check=False,
        )  # fmt: skip
        output = Output(label, argv, result.returncode, result.stdout, result.stderr)
        self.outputs.append(output)
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert result.returncode in expected, (label, result.stderr.decode(errors="replace"))
        return output


def test_no_key_anywhere_and_tokens_only_where_they_belong(emulator: Harness, sandbox: Path):
    team = emulator.namespace("team-ml")
    spare = emulator.namespace("spare")
    other = emulator.namespace("other")
    key = emulator.namespace_key(team, spare)
    revoked = emulator.namespace_key(team)
    emulator.client.revoke_key(revoked["id"])
    secrets = [key["key"], revoked["key"], UNKNOWN_KEY]

    api_url = emulator.ready.api_url
    flow = Flow(emulator, sandbox, [])

    def token(label: str, namespace: dict[str, Any], *extra: str, **kwargs: Any) -> Output:
        kwargs.setdefault("KUBERNETES_EXEC_INFO", EXEC_INFO_V1)
        return flow.run(label, "token", "--namespace-id", namespace["id"], "--api-url", api_url,
                        *extra, **kwargs)  # fmt: skip

    flow.run("login", "login", "--profile", "hygiene", stdin=key["key"].encode() + b"\n")
    keyring_miss = token("token, keyring key, miss", team, "--profile", "hygiene")
    token("token, keyring key, hit", team, "--profile", "hygiene")
    token("token, environment key, miss", team, key=key["key"])
    token("token, environment key, hit", team, key=key["key"])
    assert b"rgpu-exec: DEBUG:" in keyring_miss.stderr, "debug logging is on"

    flow.run("check, keyring key", "check", "--api-url", api_url, "--profile", "hygiene",
             "--expect-allowed", team["id"], "--expect-denied", other["id"])  # fmt: skip
    flow.run("check, environment key, json", "check", "--api-url", api_url, "-o", "json",
             "--namespace-id", team["id"], "--expect-denied", other["id"], key=key["key"])  # fmt: skip
    flow.run("check, revoked key", "check", "--api-url", api_url, "--namespace-id", team["id"],
             key=revoked["key"], expect=(3, 4, 5))  # fmt: skip

    ready = emulator.ready
    generate = ["kubeconfig", "generate", "--namespace", team["name"], "--namespace-id",
                team["id"], "--server", ready.kube_server, "--certificate-authority-data",
                ready.ca_data, "--api-url", api_url]  # fmt: skip
    flow.run("generate, keyring profile", *generate, "--profile", "hygiene")
    flow.run("generate again, environment key", *generate, "--set-current-context",
             key=key["key"])  # fmt: skip
    flow.run("generate, dry run", *generate, "--context", "dry", "--dry-run", key=key["key"])
    kubeconfig = os.environ["KUBECONFIG"]
    flow.run("doctor, keyring", "doctor", "--kubeconfig", kubeconfig, expect=(0, 6),
             RGPU_EXEC_PROFILE="hygiene")  # fmt: skip
    flow.run("doctor, environment key", "doctor", "--kubeconfig", kubeconfig, "-o", "json",
             key=key["key"], expect=(0, 6))  # fmt: skip

    # Failures of every kind, each with the key at hand.
    token("revoked key", team, key=revoked["key"], expect=3)
    token("unknown key", team, key=UNKNOWN_KEY, expect=3)
    token("namespace outside the scope", other, key=key["key"], expect=4)
    emulator.client.add_fault(status=503, count=None)
    token("API down", spare, key=key["key"], expect=5, RGPU_EXEC_DEADLINE="1")
    token("API down, damped rerun", spare, key=key["key"], expect=5)
    emulator.client.clear_faults()
    emulator.client.add_fault(body="garbage")
    token("garbage answer", spare, "--profile", "hygiene", expect=5)
    token("bad exec info", spare, key=key["key"], expect=2,
          KUBERNETES_EXEC_INFO='{"apiVersion": "v1"}')  # fmt: skip
    token("key with a typo", spare, key=key["key"] + " x", expect=2)
    flow.run("cache list", "cache", "list")
    flow.run("cache list, json", "cache", "list", "-o", "json")
    flow.run("logout", "logout", "--profile", "hygiene")

    # Every byte written: the commands' output, and the files under the test's directory.
    streams = [(f"{o.label}: stdout", o.stdout) for o in flow.outputs]
    streams += [(f"{o.label}: stderr", o.stderr) for o in flow.outputs]
    files = [
        path for path in sandbox.rglob("*")
        if path.is_file() and not path.is_symlink() and path.name != "keyring.json"
    ]  # fmt: skip
    streams += [(str(path.relative_to(sandbox)), path.read_bytes()) for path in files]
    assert any(name.endswith(".token") for name, _ in streams), "the cache was scanned"
    assert any(name == "kubeconfig" for name, _ in streams), "the kubeconfig was scanned"
    assert any(name.endswith(".calls") for name, _ in streams), "the keyring log was scanned"

    # Not only whole values: any 8 characters of a key's secret part (everything after its
    # 13-character prefix) is a leak, so a redaction that shows a few characters too many fails.
    for secret in secrets:
        leaks = sorted(
            {name for piece in pieces(secret[13:]) for name, data in streams if piece in data}
        )
        assert leaks == [], f"part of {secret[:13]}…'s secret written to {leaks}"

    token_places = {name for name, data in streams if TOKEN_SHAPE.search(data)}
    printed = [o for o in flow.outputs if o.argv[1] == "token" and o.returncode == 0]
    allowed = {f"{o.label}: stdout" for o in printed}
    cached = {name for name, _ in streams if name.startswith("cache/") and name.endswith(".token")}
    assert token_places - allowed == token_places & cached, sorted(token_places - allowed)
    assert {f"{o.label}: stdout" for o in printed} <= token_places
    # Any 8 characters of a token's random part count too, wherever a token may not be.
    tokens = {m.group() for o in printed for m in TOKEN_SHAPE.finditer(o.stdout)}
    assert tokens, "tokens were issued and scanned for"
    elsewhere = [(name, data) for name, data in streams if name not in allowed | cached]
    for issued in tokens:
        random_part = issued.decode().removeprefix("rgpu-k8s-")
        leaks = sorted(
            {n for piece in pieces(random_part) for n, data in elsewhere if piece in data}
        )
        assert leaks == [], f"part of a token written to {leaks}"


def pieces(secret: str, width: int = 8) -> set[bytes]:
    """Every `width`-character piece of `secret`, as bytes."""
    return {secret[i : i + width].encode() for i in range(len(secret) - width + 1)}
