"""`make demo`: rgpu-exec end to end against a local emulator, explained as it goes.

Everything happens in a temporary directory that is removed at the end: the emulator's state,
the kubeconfig, the token cache, kubectl's HOME. The user's own ~/.kube/config, cache and keyring
are never touched, and the emulator is stopped even if a step fails.

Not product code: it imports the emulator (the plugin itself never does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_emulator.testing import EmulatorClient, EmulatorProcess, Ready

if TYPE_CHECKING:
    from collections.abc import Mapping

_STRIPPED_PREFIXES = ("REMOTEGPU_", "RGPU_EXEC_", "KUBERNETES_", "KUBECONFIG", "PYTHON_KEYRING")


def say(text: str = "") -> None:
    print(textwrap.fill(text, width=100, break_on_hyphens=False) if text else "", flush=True)


def _tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def _child_env(root: Path) -> dict[str, str]:
    """The environment for every child: all state under `root`, no real keyring."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_STRIPPED_PREFIXES)}
    home = root / "home"
    home.mkdir()
    env.update(
        HOME=str(home), TMPDIR=str(root), XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local" / "share"),
        RGPU_EXEC_CACHE_DIR=str(root / "token-cache"), KUBECONFIG=str(root / "kubeconfig"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", PYTHONDONTWRITEBYTECODE="1",
    )  # fmt: skip
    return env


def _generate(
    rgpu_exec: str, env: Mapping[str, str], ready: Ready, namespace: dict[str, str], *flags: str
) -> subprocess.CompletedProcess[str]:
    """`rgpu-exec kubeconfig generate` for one namespace, shown as the user would type it."""
    shown = f"rgpu-exec kubeconfig generate --namespace {namespace['name']} --namespace-id … "
    print(f"  $ {shown}--server … --certificate-authority-data … --api-url … {' '.join(flags)}")
    argv = [
        rgpu_exec, "kubeconfig", "generate", "--namespace", namespace["name"],
        "--namespace-id", namespace["id"], "--server", ready.kube_server,
        "--certificate-authority-data", ready.ca_data, "--api-url", ready.api_url, *flags,
    ]  # fmt: skip
    result = subprocess.run(
        argv, env=dict(env), capture_output=True, text=True, stdin=subprocess.DEVNULL,
        timeout=120, check=False,
    )  # fmt: skip
    for line in (result.stdout + result.stderr).rstrip().splitlines():
        print(f"    {line}")
    return result


def _kubectl(kubectl: str, env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    shown = " ".join(["kubectl", *args])
    print(f"  $ {shown}", flush=True)
    result = subprocess.run(
        [kubectl, *args], env=dict(env), capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=120, check=False,
    )  # fmt: skip
    for line in (result.stdout + result.stderr).rstrip().splitlines():
        print(f"    {line}")
    return result


def _demo(root: Path, kubectl: str, rgpu_exec: str) -> bool:
    env = _child_env(root)
    say("1. Starting the RemoteGPU emulator: a local stand-in for the RemoteGPU API and a "
        "Kubernetes API server (TLS), on loopback only.")  # fmt: skip
    with EmulatorProcess(root / "emulator", env=env) as emulator:
        console = EmulatorClient(emulator.ready)
        try:
            ml = console.create_namespace("team-ml")
            vision = console.create_namespace("team-vision")
            key = console.create_key("demo", {"kubernetes_exec": {"namespace_ids": [ml["id"]]}})
            say(f"2. As the console would: created namespaces team-ml and team-vision, and an API "
                f"key {key['prefix']}… whose scope covers team-ml only. The raw key is handed to "
                "kubectl's children in REMOTEGPU_API_KEY and never written to disk.")  # fmt: skip
            env["REMOTEGPU_API_KEY"] = key["key"]
            say("3. Writing a kubeconfig context per namespace with the generator. It first "
                "checks that the key can get a credential there (one exchange):")  # fmt: skip
            made = _generate(rgpu_exec, env, emulator.ready, ml, "--set-current-context")
            refused = _generate(rgpu_exec, env, emulator.ready, vision)
            say("   The key is not scoped to team-vision, so that context was refused and nothing "
                "was written. --no-verify writes it anyway (meant for an offline set-up; here, to "
                "show in step 6 what kubectl then meets):")  # fmt: skip
            forced = _generate(rgpu_exec, env, emulator.ready, vision, "--no-verify")
            say("   Each context runs `rgpu-exec token --namespace-id <id> --namespace <name>` "
                "whenever kubectl needs a credential.")  # fmt: skip
            say()
            say("4. The allowed namespace works:")
            ok = _kubectl(kubectl, env, "create", "configmap", "hello", "--from-literal=gpu=h100")
            ok2 = _kubectl(kubectl, env, "get", "configmaps")
            say(f"   Exchanges of the API key for a token so far: {console.exchanges()} (the "
                "generator's check, then the first kubectl call).")  # fmt: skip
            say()
            say("5. The second kubectl call is served from rgpu-exec's token cache:")
            before = console.exchanges()
            ok3 = _kubectl(kubectl, env, "get", "pods")
            after = console.exchanges()
            say(f"   Exchanges before: {before}, after: {after} — "
                + ("no new exchange, the cached token was used." if after == before
                   else "unexpected: a new exchange happened."))  # fmt: skip
            say()
            say("6. The other namespace is forbidden. With the team-ml token, Kubernetes says no:")
            denied_kube = _kubectl(kubectl, env, "get", "pods", "--namespace", "team-vision")
            say("   And the key cannot even get a token for team-vision (rgpu-exec exits with 4):")
            denied_key = _kubectl(kubectl, env, "--context", "rgpu-team-vision", "get", "pods")
        finally:
            console.close()
    say()
    say("7. Stopped the emulator. Everything lived in a temporary directory, removed now.")
    return (
        made.returncode == forced.returncode == 0
        and refused.returncode == 4  # noqa: PLR2004 - the documented exit code
        and ok.returncode == ok2.returncode == ok3.returncode == 0
        and after == before
        and denied_kube.returncode != 0
        and denied_key.returncode != 0
    )


def main() -> int:
    kubectl, rgpu_exec = _tool("kubectl"), _tool("rgpu-exec")
    if kubectl is None or rgpu_exec is None:
        missing = "kubectl" if kubectl is None else "rgpu-exec"
        print(f"demo: {missing} not found; run `make install` first.", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="rgpu-exec-demo-") as tmp:
        ok = _demo(Path(tmp), kubectl, rgpu_exec)
    say("Demo finished: everything behaved as described." if ok else "Demo: a step misbehaved.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
