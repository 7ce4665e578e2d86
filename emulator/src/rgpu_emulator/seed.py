"""`rgpu-emulator --seed`: what a newcomer needs to try rgpu-exec at once.

The first account gets a namespace and an API key scoped to it (`kubernetes_exec` for that
namespace only), and the console's kubeconfig for the namespace is written beside the CA file.
All of it goes into the ready document under `"seed"`; the raw key is in it, as the console
shows a new key once. `POST /_emulator/reset` forgets them like everything else.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_emulator.responses import console_kubeconfig

if TYPE_CHECKING:
    from rgpu_emulator.server import Emulator

SEED_NAMESPACE = "team-ml"
SEED_KEY_NAME = "seed"


def seed(emulator: Emulator, state_dir: str, namespace: str = SEED_NAMESPACE) -> dict[str, str]:
    """Create the namespace and the key; write the console's kubeconfig into `state_dir`."""
    backend = emulator.backend
    account = backend.accounts[0]
    ns = backend.create_namespace(account, namespace)
    scopes = {"kubernetes_exec": {"namespace_ids": [ns.id]}}
    key, raw = backend.create_key(account, SEED_KEY_NAME, scopes)
    kubeconfig = Path(state_dir) / f"remotegpu-{ns.name}-kubeconfig.yaml"
    kubeconfig.write_text(console_kubeconfig(emulator.endpoints, ns.id, ns.name), "utf-8")
    kubeconfig.chmod(0o600)
    return {
        "account_id": account.id,
        "namespace": ns.name,
        "namespace_id": ns.id,
        "api_key": raw,
        "key_prefix": key.prefix,
        "kubeconfig_file": str(kubeconfig),
    }


def try_it(ready: dict[str, object], seeded: dict[str, str]) -> str:
    """The shell lines that try rgpu-exec against the seeded emulator (shown on stderr)."""
    q = shlex.quote
    said = (
        f"rgpu-emulator: seeded namespace {seeded['namespace']} ({seeded['namespace_id']}) and "
        f"an API key for it ({seeded['key_prefix']}…). To try rgpu-exec, in another shell:"
    )
    url, key = q(str(ready["api_url"])), q(seeded["api_key"])
    # rgpu-exec (and the dev extra's kubectl) installed beside the emulator, in a venv the other
    # shell need not have on its PATH.
    here = Path(sys.executable).parent
    lines = [said]
    if (here / "rgpu-exec").exists():
        lines.append(f'  export PATH={q(str(here))}:"$PATH"')
    lines += [
        "  TRY=$(mktemp -d)",
        '  export KUBECONFIG="$TRY/kubeconfig" RGPU_EXEC_CACHE_DIR="$TRY/cache"',
        f"  export REMOTEGPU_API_URL={url} REMOTEGPU_API_KEY={key}",
        f"  rgpu-exec kubeconfig import {q(seeded['kubeconfig_file'])}",
        "  kubectl get pods",
    ]
    return "\n".join(lines)
