"""The wrong-turns catalogue (issue 25): each turn sets up a mistake users make and runs what
the user runs; tests/e2e/test_wrong_turns.py walks them (see `wrong_turns.Turn`).
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from wrong_turns import Ran, Turn, World, typed_at_a_terminal, with_dispatcher


def _working(w: World, name: str = "team") -> tuple[dict[str, Any], str]:
    """A namespace, a key for it in REMOTEGPU_API_KEY, and a context for it (current)."""
    ns = w.namespace(name)
    key = w.key(ns)["key"]
    w.env["REMOTEGPU_API_KEY"] = key
    w.context(ns)
    return ns, key


def revoked_key_in_ci(w: World) -> Ran:
    ns = w.namespace("team")
    created = w.key(ns)
    w.client.revoke_key(created["id"])
    w.env["REMOTEGPU_API_KEY"] = created["key"]
    w.context(ns)
    return w.plugin()


def revoked_key_in_keyring(w: World) -> Ran:
    ns = w.namespace("team")
    created = w.key(ns)
    w.context(ns)
    w.with_keyring()
    assert w.rgpu("login", "--no-verify", stdin=created["key"]).code == 0
    w.client.revoke_key(created["id"])
    return w.plugin()


def expired_key(w: World) -> Ran:
    ns = w.namespace("team")
    soon = datetime.now(timezone.utc) + timedelta(seconds=1)
    created = w.key(ns, expires_at=soon.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    w.env["REMOTEGPU_API_KEY"] = created["key"]
    w.context(ns)
    time.sleep(max(0.0, (soon - datetime.now(timezone.utc)).total_seconds()) + 0.2)
    return w.plugin()


def unknown_key(w: World) -> Ran:
    ns = w.namespace("team")
    real = w.key(ns)["key"]
    w.env["REMOTEGPU_API_KEY"] = real[:-4] + "abcd"  # a typo in the last characters
    w.context(ns)
    return w.plugin()


def inference_only_key(w: World) -> Ran:
    ns = w.namespace("team")
    w.env["REMOTEGPU_API_KEY"] = w.key(scopes={"inference": True})["key"]
    w.context(ns)
    return w.plugin()


def another_accounts_namespace(w: World) -> Ran:
    theirs = w.namespace("theirs", w.other_account)
    mine = w.namespace("mine")
    w.env["REMOTEGPU_API_KEY"] = w.key(mine)["key"]
    w.context(theirs)
    return w.plugin()


def namespace_switched_with_kubens(w: World) -> Ran:
    ns, other = w.namespace("team"), w.namespace("other")
    w.env["REMOTEGPU_API_KEY"] = w.key(ns, other)["key"]
    w.context(ns)
    assert w.kubectl("get", "pods").code == 0
    switched = w.kubectl("config", "set-context", "--current", "--namespace", other["name"])
    assert switched.code == 0
    assert w.kubectl("get", "pods").code != 0  # Forbidden
    return w.rgpu("doctor", "--problems-only")


def wrong_api_port(w: World) -> Ran:
    ns, _ = _working(w)
    w.context(ns, api_url="http://127.0.0.1:9")  # discard: nothing listens
    return w.plugin()


def api_url_with_v1(w: World) -> Ran:
    ns, _ = _working(w)
    w.context(ns, api_url=w.ready.api_url + "/v1")
    return w.plugin()


def api_url_without_scheme(w: World) -> Ran:
    ns = w.namespace("team")
    w.env["REMOTEGPU_API_KEY"] = w.key(ns)["key"]
    w.env["REMOTEGPU_API_URL"] = w.ready.api_url.split("://", 1)[1]
    return w.rgpu(*_generate(w, ns))


def api_url_with_https_for_http(w: World) -> Ran:
    ns = w.namespace("team")
    w.env["REMOTEGPU_API_KEY"] = w.key(ns)["key"]
    w.env["REMOTEGPU_API_URL"] = w.ready.api_url.replace("http://", "https://")
    return w.rgpu(*_generate(w, ns))


def import_two_files_then_undo(w: World) -> Ran:
    mine = w.namespace("mine")
    w.env["REMOTEGPU_API_KEY"] = w.key(mine)["key"]
    w.context(mine)
    w.notes["ORIGINAL"] = w.kubeconfig.read_text()
    a, b = w.namespace("a"), w.namespace("b")
    w.env["REMOTEGPU_API_KEY"] = w.key(mine, a, b)["key"]
    files = [str(_console_file(w, ns)) for ns in (a, b)]
    return w.rgpu("kubeconfig", "import", *files)


def _undone(w: World) -> None:
    assert w.kubeconfig.read_text() == w.notes["ORIGINAL"], "the undo restores the file as it was"


def cache_list_after_kubens(w: World) -> Ran:
    cv, ml = w.namespace("cv"), w.namespace("ml")
    w.env["REMOTEGPU_API_KEY"] = w.key(cv, ml)["key"]
    w.context(cv, ml)
    for ns in (cv, ml):
        assert w.kubectl("--context", ns["name"], "get", "pods").code == 0
    w.kubectl("config", "set-context", ml["name"], "--namespace", cv["name"])
    w.notes.update(CV=cv["name"], ML=ml["name"])
    return w.rgpu("cache", "list")


def version(w: World) -> Ran:
    return w.rgpu("--version")


def yaml_output(w: World) -> Ran:
    _working(w)
    return w.rgpu("kubeconfig", "list", "-o", "yaml")


def mistyped_flag(w: World) -> Ran:
    ns = w.namespace("team")
    return w.rgpu("kubeconfig", "generate", "--namespce", ns["name"], "--namespace-id", ns["id"])


def doctor_bogus_flag(w: World) -> Ran:
    return w.rgpu("doctor", "--bogus")


def cluster_without_ca(w: World) -> Ran:
    _ns, _ = _working(w)
    config = YAML(typ="safe").load(w.kubeconfig.read_text())
    del config["clusters"][0]["cluster"]["certificate-authority-data"]
    w.kubeconfig.write_text(_dump(config))
    assert w.kubectl("get", "pods").code != 0  # x509
    return w.rgpu("doctor", "--problems-only")


def quoted_key(w: World) -> Ran:
    _ns, key = _working(w)
    w.env["REMOTEGPU_API_KEY"] = f'"{key}"'
    return w.plugin()


def no_key_at_all(w: World) -> Ran:
    _ns, _key = _working(w)
    del w.env["REMOTEGPU_API_KEY"]
    return w.plugin()


def key_in_a_misnamed_variable(w: World) -> Ran:
    _ns, key = _working(w)
    del w.env["REMOTEGPU_API_KEY"]
    w.env["RGPU_API_KEY"] = key
    return w.plugin()


def key_pasted_as_an_argument(w: World) -> Ran:
    _ns, key = _working(w)
    del w.env["REMOTEGPU_API_KEY"]
    w.with_keyring()
    return w.rgpu("login", key)


def key_file_others_can_read(w: World) -> Ran:
    _ns, key = _working(w)
    del w.env["REMOTEGPU_API_KEY"]
    assert w.rgpu("login", "--insecure-storage", "--no-verify", stdin=key).code == 0
    (w.home / ".config" / "rgpu-exec" / "api-keys").chmod(0o644)
    return w.plugin()


def stale_lock(w: World) -> Ran:
    """The entry's lock left behind by a plugin that was killed while it exchanged."""
    _working(w)
    assert w.plugin().code == 0
    cache = Path(w.env["RGPU_EXEC_CACHE_DIR"])
    entries = list(cache.glob("*.token"))
    assert entries, sorted(p.name for p in cache.iterdir())
    for entry in entries:
        entry.unlink()  # a miss again, with the entry's lock file left where it was
        entry.with_suffix(".lock").write_text(str(2**22 + 1))  # a pid that is not running
    return w.plugin()


def cache_dir_is_a_file(w: World) -> Ran:
    _working(w)
    Path(w.env["RGPU_EXEC_CACHE_DIR"]).write_text("not a directory\n")
    return w.plugin()


def relative_cache_dir(w: World) -> Ran:
    _working(w)
    w.env["RGPU_EXEC_CACHE_DIR"] = "relative/cache"
    return w.plugin()


def relative_xdg_config_home(w: World) -> Ran:
    _ns, key = _working(w)
    del w.env["REMOTEGPU_API_KEY"]
    w.env["XDG_CONFIG_HOME"] = "relative-config"
    return w.rgpu("login", "--insecure-storage", stdin=key)


def kubeconfig_is_dev_null(w: World) -> Ran:
    ns = w.namespace("team")
    w.env["REMOTEGPU_API_KEY"] = w.key(ns)["key"]
    w.env["KUBECONFIG"] = "/dev/null"
    return w.rgpu(*_generate(w, ns))


def static_token_beside_exec(w: World) -> Ran:
    _ns, _ = _working(w)
    config = YAML(typ="safe").load(w.kubeconfig.read_text())
    config["users"][0]["user"]["token"] = "left-over-token"
    w.kubeconfig.write_text(_dump(config))
    assert w.kubectl("get", "pods").code != 0  # Unauthorized: the plugin never ran
    return w.rgpu("doctor", "--problems-only")


def generate_without_ca(w: World) -> Ran:
    ns = w.namespace("team")
    w.env["REMOTEGPU_API_KEY"] = w.key(ns)["key"]
    ran = w.rgpu(*_generate(w, ns, ca=False))
    assert ran.code != 0, "an untrusted cluster certificate is not success"
    assert not w.kubeconfig.exists(), "nothing is written"
    return ran


def import_without_ca(w: World) -> Ran:
    ns = w.namespace("team")
    w.env["REMOTEGPU_API_KEY"] = w.key(ns)["key"]
    console = _console_file(w, ns, ca=False)
    ran = w.rgpu("kubeconfig", "import", str(console))
    assert ran.code != 0, "an untrusted cluster certificate is not success"
    assert not w.kubeconfig.exists(), "nothing is written"
    return ran


def api_url_is_the_kubernetes_server(w: World) -> Ran:
    ns = w.namespace("team")
    w.env["REMOTEGPU_API_KEY"] = w.key(ns)["key"]
    before = w.client.stats()
    ran = w.rgpu(*_generate(w, ns), "--api-url", w.ready.kube_server)
    assert w.client.stats()["exchanges"] == before["exchanges"]
    return ran


def namespace_id_typo_at_the_end(w: World) -> Ran:
    ns = w.namespace("team")
    w.env["REMOTEGPU_API_KEY"] = w.key(ns)["key"]
    typo = ns["id"][:-3] + ("000" if not ns["id"].endswith("000") else "111")
    w.notes["TYPO"] = typo
    w.context({**ns, "id": typo})  # the ID copied with a slip in its last characters
    return w.rgpu("check")


def moved_venv(w: World) -> Ran:
    moved = w.home / "old-venv" / "bin" / "rgpu-exec"  # a venv that pipx recreated elsewhere
    ns, _ = _working(w)
    w.context(ns, command=str(moved))
    assert "no such file or directory" in w.kubectl("get", "pods").stderr
    return w.rgpu("doctor", "--problems-only")


def replace_without_file(w: World) -> Ran:
    ns = w.namespace("team")
    w.env["REMOTEGPU_API_KEY"] = w.key(ns)["key"]
    console = _console_file(w, ns)
    w.kubeconfig.write_text(console.read_text())  # merged by hand, as the console suggests
    return w.rgpu("kubeconfig", "import", str(console))


def no_kubeconfig_file(w: World) -> Ran:
    ns = w.namespace("team")
    w.env["REMOTEGPU_API_KEY"] = w.key(ns)["key"]
    return w.rgpu("doctor")


def typed_key_under_the_dispatcher(w: World) -> Ran:
    ns = w.namespace("team")
    key = w.key(ns)["key"]
    w.context(ns)
    config = YAML(typ="safe").load(w.kubeconfig.read_text())
    config["users"][0]["user"]["exec"]["interactiveMode"] = "IfAvailable"
    w.kubeconfig.write_text(_dump(config))
    with_dispatcher(w)
    ran, prompts = typed_at_a_terminal(w, "kubectl get pods --request-timeout 10s", key)
    w.notes["PROMPTS"] = str(len(prompts))
    w.notes["SECOND"] = prompts[1] if len(prompts) > 1 else ""
    return ran


def _asked_once_or_said_why(w: World) -> None:
    """One prompt per kubectl command; or the second says why it asks again, and how not to."""
    asked, second = int(w.notes["PROMPTS"]), w.notes["SECOND"]
    assert asked == 1 or (asked == 2 and "again" in second and "rgpu-exec login" in second), second


def _generate(w: World, ns: dict[str, Any], *, ca: bool = True) -> list[str]:
    argv = ["kubeconfig", "generate", "--namespace", ns["name"], "--namespace-id", ns["id"],
            "--server", w.ready.kube_server]  # fmt: skip
    return [*argv, "--certificate-authority-data", w.ready.ca_data] if ca else argv


def _console_file(w: World, ns: dict[str, Any], *, ca: bool = True) -> Path:
    answer = w.client.call("GET", f"/v1/kubernetes/namespaces/{ns['id']}/kubeconfig").json()
    text = answer["kubeconfig"]
    if not ca:
        text = re.sub(r"\n\s*certificate-authority-data: .*", "", text)
    path: Path = w.home / "Downloads" / answer["filename"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _dump(config: Any) -> str:
    out = StringIO()
    YAML(typ="safe", pure=True).dump(config, out)
    return out.getvalue()


def _new_key_typed(w: World) -> str:
    """What the user does in the console (a new key for the context's namespace), typed."""
    config = YAML(typ="safe").load(w.kubeconfig.read_text())
    args = config["users"][0]["user"]["exec"]["args"]
    namespace_id = args[args.index("--namespace-id") + 1]
    return str(w.key({"id": namespace_id})["key"])


def _key_of_world(w: World) -> str:
    return w.env.get("REMOTEGPU_API_KEY") or _new_key_typed(w)


CONSOLE = r"(?i)console|Settings / API Keys"

CATALOGUE = [
    Turn(
        "revoked key from a CI secret",
        revoked_key_in_ci,
        r"revoked",
        outside=CONSOLE,
        never=r"(?i)to use the keyring",
    ),
    Turn(
        "revoked key in the key file",
        revoked_key_in_keyring,
        r"revoked",
        fix="rgpu-exec login",
        fix_stdin=_new_key_typed,
    ),
    Turn("expired key", expired_key, r"expired", outside=CONSOLE),
    Turn("a typo in the key", unknown_key, r"no such key", outside=CONSOLE),
    Turn("inference-only key", inference_only_key, r"(?i)inference|scope", outside=CONSOLE),
    Turn(
        "another account's namespace",
        another_accounts_namespace,
        r"does not exist in the account",
        outside=CONSOLE,
    ),
    Turn(
        "namespace switched with kubens",
        namespace_switched_with_kubens,
        r"(?i)switched|namespace",
        fix="kubectl config set-context",
    ),
    Turn("wrong API port", wrong_api_port, r"(?i)unreachable|refused|connect", outside=r"api-url"),
    Turn(
        "API URL with a trailing /v1",
        api_url_with_v1,
        r"is not the RemoteGPU API",
        outside=r"no /v1 or other path",
    ),
    Turn(
        "API URL without a scheme",
        api_url_without_scheme,
        r"not an http\(s\) URL",
        fix="export REMOTEGPU_API_URL",
    ),
    Turn(
        "API URL with https for an http API",
        api_url_with_https_for_http,
        r"does not speak TLS",
        fix="export REMOTEGPU_API_URL",
    ),
    Turn(
        "cluster without a CA",
        cluster_without_ca,
        r"(?i)certificate|CA\b",
        fix=r"rgpu-exec kubeconfig|kubectl config set-cluster",
        outside=CONSOLE,
    ),
    Turn(
        "quoted key",
        quoted_key,
        r"quotes",
        outside=r"(?i)without quotes",
    ),
    Turn(
        "no key at all",
        no_key_at_all,
        r"(?i)no RemoteGPU API key|no API key",
        fix="rgpu-exec login --insecure-storage",
        fix_stdin=_key_of_world,
    ),
    Turn(
        "key in a misnamed variable",
        key_in_a_misnamed_variable,
        r"RGPU_API_KEY",
        fix="export REMOTEGPU_API_KEY",
    ),
    Turn(
        "key pasted as an argument",
        key_pasted_as_an_argument,
        r"(?i)argument|stdin|prompt",
        fix="rgpu-exec login",
        fix_stdin=_key_of_world,
    ),
    Turn(
        "key file others can read",
        key_file_others_can_read,
        r"(?i)others|permission|0644|mode",
        fix="chmod",
    ),
    Turn("a stale lock file", stale_lock, r""),
    Turn("cache directory that is a file", cache_dir_is_a_file, r""),
    Turn("relative RGPU_EXEC_CACHE_DIR", relative_cache_dir, r""),
    Turn("relative XDG_CONFIG_HOME", relative_xdg_config_home, r""),
    Turn(
        "KUBECONFIG=/dev/null",
        kubeconfig_is_dev_null,
        r"/dev/null is a device",
        fix=r"rgpu-exec kubeconfig generate|export KUBECONFIG",
    ),
    Turn(
        "static token beside exec",
        static_token_beside_exec,
        r"static `token` sits beside exec",
        fix="kubectl config unset",
    ),
    Turn(
        "generate without a CA",
        generate_without_ca,
        r"(?i)certificate|trust",
        fix="rgpu-exec kubeconfig generate",
        outside=CONSOLE,
    ),
    Turn(
        "import of a console file without a CA",
        import_without_ca,
        r"(?i)certificate|trust",
        fix="rgpu-exec kubeconfig import",
        outside=CONSOLE,
    ),
    Turn(
        "API URL = the Kubernetes server",
        api_url_is_the_kubernetes_server,
        r"(?i)Kubernetes (API )?server",
        outside=r"RemoteGPU API",
    ),
    Turn(
        "a typo at the end of a namespace ID",
        namespace_id_typo_at_the_end,
        r"$TYPO",
        outside=r"(?i)wrong ID",
    ),
    Turn(
        "a moved venv",
        moved_venv,
        r"(?i)no longer (exists|there)|not found|does not exist",
        fix=r"rgpu-exec kubeconfig|kubectl config set-credentials",
    ),
    Turn(
        "import --replace hint",
        replace_without_file,
        r"--replace",
        fix="rgpu-exec kubeconfig import",
    ),
    Turn(
        "no kubeconfig file at all",
        no_kubeconfig_file,
        r"(?i)no kubeconfig|does not exist",
        outside=CONSOLE,
    ),
    Turn(
        "import a.yaml b.yaml, then the documented undo",
        import_two_files_then_undo,
        r"\.rgpu-exec\.bak",
        works='mv "$KUBECONFIG.rgpu-exec.bak" "$KUBECONFIG"',
        after=_undone,
    ),
    Turn(
        "cache list after kubens",
        cache_list_after_kubens,
        r"$CV[\s\S]*$ML|$ML[\s\S]*$CV",
        works="rgpu-exec cache list",
    ),
    Turn(
        "a typed key under gcloud's kubectl dispatcher",
        typed_key_under_the_dispatcher,
        r"No resources found",
        works="true",
        after=_asked_once_or_said_why,
    ),
    Turn(
        "rgpu-exec --version",
        version,
        r"\d+\.\d+",
        works="rgpu-exec version -o json",
    ),
    Turn("-o yaml where -o json exists", yaml_output, r"team-", works="rgpu-exec whoami -o yaml"),
    Turn(
        "a mistyped flag",
        mistyped_flag,
        r"(?i)did you mean.*--namespace\b",
        works="true",
    ),
    Turn(
        "doctor --bogus",
        doctor_bogus_flag,
        r"--bogus",
        works="true",
    ),
]
