"""`rgpu-exec doctor`'s kubectl side: the kubeconfig contexts that use rgpu-exec, and kuberc.

Each finding says what is wrong and how to fix it. Facts relied on (see the kubectl docs): a v1
exec stanza needs `interactiveMode`; a `token` beside `exec` wins silently; a command with a path
separator is relative to the kubeconfig file that defines it; exec plugins run only for https
servers; kubectl 1.35+ may restrict plugins with `credentialPluginPolicy` in kuberc.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec import settings
from rgpu_exec.doctor import Finding
from rgpu_exec.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.kubeconfig_view import Entry, Kubeconfig, PluginCall

_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
_INTERACTIVE_MODES = ("Never", "IfAvailable", "Always")


def resolve_command(command: str, defined_in: str, environ: Mapping[str, str]) -> str | None:
    """The executable kubectl would run for this exec command, or None when there is none."""
    if os.sep in command or (os.altsep and os.altsep in command):
        path = Path(defined_in).parent / command  # an absolute command replaces the directory
        return str(path.absolute()) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which(command, path=environ.get("PATH", os.defpath))


def kubeconfig_findings(
    flag: str | None, environ: Mapping[str, str]
) -> tuple[list[Finding], list[str]]:
    """Findings about the contexts, and the executables their rgpu-exec stanzas resolve to."""
    from rgpu_exec import kubeconfig_view  # noqa: PLC0415

    try:
        config = kubeconfig_view.load(flag, environ)
    except kubeconfig_view.UnreadableFileError as exc:
        return [Finding("kubeconfig", "problem", exc.detail, exc.FIX)], []
    except UsageError as exc:
        return [Finding("kubeconfig", "problem", exc.message)], []
    if not config.files:
        where = ", ".join(kubeconfig_view.kubeconfig_files(flag, environ))
        fix = (
            "write one with `rgpu-exec kubeconfig generate …`, or convert the console's "
            "download with `rgpu-exec kubeconfig import FILE`"
        )
        return [Finding("kubeconfig", "note", f"no kubeconfig file found ({where})", fix)], []
    findings: list[Finding] = []
    commands: list[str] = []
    for name in sorted(config.contexts):
        context = config.contexts[name]
        user = config.user_of(context)
        if user is None:
            continue
        call = kubeconfig_view.plugin_call(user)
        if call is None:
            if _calls_exchange_directly(user):
                findings.append(
                    Finding(
                        "kubeconfig",
                        "note",
                        f"context {name!r} calls the RemoteGPU API itself on every kubectl "
                        "command (no token cache)",
                        f"run `rgpu-exec token --namespace-id <ID>` in user {user.name!r}'s exec "
                        "stanza instead",
                    )
                )
            continue
        resolved = resolve_command(call.command, user.file, environ)
        if resolved:
            commands.append(resolved)
        findings += _context_findings(name, config, context, user, call, resolved)
    if not commands and not findings:
        findings.append(
            Finding(
                "kubeconfig",
                "note",
                f"no context in {', '.join(config.files)} uses rgpu-exec",
                "add the namespace's kubeconfig from the console, with `rgpu-exec token` as its "
                "exec command",
            )
        )
    return findings, commands


def _context_findings(  # noqa: PLR0917
    name: str,
    config: Kubeconfig,
    context: Entry,
    user: Entry,
    call: PluginCall,
    resolved: str | None,
) -> list[Finding]:
    exec_ = user.body["exec"]
    where = f"context {name!r} (user {user.name!r} in {user.file})"
    problems: list[Finding] = []

    def problem(what: str, fix: str) -> None:
        problems.append(Finding("kubeconfig", "problem", f"{where}: {what}", fix))

    if resolved is None:
        problem(
            f"the exec command {call.command!r} is not found"
            + ("" if os.sep in call.command else " on PATH"),
            "install rgpu-exec where kubectl can find it, or set `command:` to its full path "
            "(`command -v rgpu-exec`)",
        )
    version = exec_.get("apiVersion")
    if version not in _API_VERSIONS:
        problem(
            f"exec apiVersion {version!r} is not supported",
            f"set `apiVersion: {_API_VERSIONS[0]}`",
        )
    mode = exec_.get("interactiveMode")
    if version == _API_VERSIONS[0] and mode is None:
        problem(
            "the v1 exec stanza has no interactiveMode, so kubectl rejects it",
            "add `interactiveMode: Never` to the exec stanza",
        )
    elif mode is not None and mode not in _INTERACTIVE_MODES:
        problem(f"interactiveMode {mode!r} is not valid", "use `interactiveMode: Never`")
    static = [k for k in ("token", "tokenFile") if user.body.get(k)]
    if static:
        problem(
            f"a static `{static[0]}` sits beside exec, so kubectl uses it and never runs rgpu-exec",
            f"delete `{static[0]}` from user {user.name!r} (some clients write tokens back)",
        )
    if call.namespace_id is None or not settings.looks_like_uuid(call.namespace_id):
        problem(
            f"the exec args give no valid --namespace-id ({call.namespace_id!r})",
            "set `--namespace-id <namespace UUID>` from the console in the exec args",
        )
    if call.api_url and settings.url_problem(call.api_url):
        problem(
            f"--api-url {call.api_url!r} {settings.url_problem(call.api_url)}",
            "use the https:// API URL",
        )
    cluster = config.cluster_of(context)
    server = str(cluster.body.get("server", "")) if cluster else ""
    if not server.startswith("https://"):
        problem(
            f"the cluster server {server or '(none)'!r} is not https://, and kubectl runs exec "
            "plugins only for TLS servers",
            "use the https:// server address from the console's kubeconfig",
        )
    if problems:
        return problems
    detail = f"{where}: runs {resolved}, namespace {call.namespace_id}"
    return [Finding("kubeconfig", "ok", detail)]


def _calls_exchange_directly(user: Entry) -> bool:
    exec_ = user.body.get("exec")
    if not isinstance(exec_, dict):
        return False
    words = [str(exec_.get("command", "")), *(str(a) for a in exec_.get("args") or [])]
    return any("exec-credential" in w for w in words)


def kuberc_findings(environ: Mapping[str, str], commands: list[str]) -> list[Finding]:
    """kubectl 1.35+'s credential plugin policy, when a kuberc sets one."""
    from rgpu_exec.kubeconfig_view import UnreadableFileError, home, load_yaml  # noqa: PLC0415

    chosen = environ.get(settings.ENV_KUBERC, "").strip()
    if chosen.lower() == "off":
        return []
    path = str(
        Path(chosen).expanduser().absolute() if chosen else home(environ) / ".kube" / "kuberc"
    )
    try:
        document = load_yaml(path)
    except UnreadableFileError as exc:
        return [Finding("kuberc", "problem", exc.detail, exc.FIX)]
    if not isinstance(document, dict):
        return []
    policy = document.get("credentialPluginPolicy") or "AllowAll"
    edit = f"edit {path}"
    if policy == "AllowAll":
        return [Finding("kuberc", "ok", f"{path}: credential plugins allowed (AllowAll)")]
    if policy == "DenyAll":
        return [
            Finding(
                "kuberc",
                "problem" if commands else "note",
                f"{path}: credentialPluginPolicy DenyAll stops kubectl from running rgpu-exec",
                f"{edit}: set `credentialPluginPolicy: Allowlist` and allow rgpu-exec",
            )
        ]
    if policy != "Allowlist":
        return [
            Finding(
                "kuberc",
                "problem",
                f"{path}: unknown credentialPluginPolicy {policy!r}",
                f"{edit}: use AllowAll, DenyAll or Allowlist",
            )
        ]
    allowed = set()
    for item in document.get("credentialPluginAllowlist") or []:
        name = str(item.get("name", "")) if isinstance(item, dict) else ""
        found = name if Path(name).is_absolute() else shutil.which(name, path=environ.get("PATH"))
        if found:
            allowed.add(Path(found).resolve())
    missing = sorted({c for c in commands if Path(c).resolve() not in allowed})
    if missing:
        entries = " and ".join(f"`- name: {c}`" for c in missing)
        return [
            Finding(
                "kuberc",
                "problem",
                f"{path}: the credential plugin allowlist does not allow {', '.join(missing)}",
                f"{edit}: add {entries} under credentialPluginAllowlist",
            )
        ]
    return [Finding("kuberc", "ok", f"{path}: rgpu-exec is on the credential plugin allowlist")]
