"""`rgpu-exec doctor`'s kubectl side: the kubeconfig contexts that use rgpu-exec (kuberc's
plugin policy is `doctor.kuberc`'s).

Each finding says what is wrong and how to fix it. Facts relied on (see the kubectl docs): a v1
exec stanza needs `interactiveMode`; a `token` beside `exec` wins silently; a command with a path
separator is relative to the kubeconfig file that defines it; exec plugins run only for https
servers.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec import fixes, terminal
from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import private_files, request, settings, url_rules
from rgpu_exec.hotpath.exec_credential import INTERACTIVE_MODES, SUPPORTED_API_VERSIONS
from rgpu_exec.kubeconfig import view as kubeconfig_view
from rgpu_exec.kubeconfig.listing import exec_environment, managed_call
from rgpu_exec.usecases.doctor import exec_command
from rgpu_exec.usecases.doctor.findings import Finding

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.kubeconfig.view import Entry, Kubeconfig, PluginCall


def resolve_command(command: str, defined_in: str, environ: Mapping[str, str]) -> str | None:
    """The executable kubectl would run for this exec command, or None when there is none."""
    if os.sep in command or (os.altsep and os.altsep in command):
        path = Path(defined_in).parent / command  # an absolute command replaces the directory
        return str(path.absolute()) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which(command, path=settings.search_path(environ))


@dataclass(frozen=True)
class PluginContext:
    """A context whose user runs rgpu-exec, and what `rgpu-exec token` would do there."""

    name: str
    call: PluginCall
    environ: Mapping[str, str]  # the doctor's environment with the exec stanza's `env` on top
    api_url: str  # as `token` chooses it: --api-url in the args, else the environment
    exchangeable: bool  # the stanza's args name a valid namespace ID, profile and API URL
    namespace: str | None = None  # the context's namespace (its name)
    runnable: bool = True  # kubectl would run the stanza (no problem found in it or its server)
    user: Entry | None = None  # the kubeconfig user whose exec stanza it is (for a fix)


@dataclass
class KubeReport:
    findings: list[Finding] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # executables the stanzas resolve to
    contexts: list[PluginContext] = field(default_factory=list)
    current_context: str | None = None

    @property
    def current(self) -> PluginContext | None:
        """The current context, when it uses rgpu-exec."""
        return next((c for c in self.contexts if c.name == self.current_context), None)


def inspect(flag: str | None, environ: Mapping[str, str]) -> KubeReport:
    """The kubeconfig as kubectl reads it: findings, and the contexts that use rgpu-exec."""
    unusable = _not_a_regular_file(flag, environ)  # before reading: a FIFO would block
    if unusable is not None:
        return KubeReport([unusable])
    try:
        config = kubeconfig_view.load(flag, environ)
    except kubeconfig_view.KubeconfigFileError as exc:
        return KubeReport([Finding("kubeconfig", "problem", exc.detail, exc.fix)])
    except UsageError as exc:
        fix = f"check --kubeconfig and {settings.ENV_KUBECONFIG}"
        return KubeReport([Finding("kubeconfig", "problem", exc.message, fix)])
    if not config.files:
        where = ", ".join(kubeconfig_view.kubeconfig_files(flag, environ))
        return KubeReport(
            [Finding("kubeconfig", "note", f"no kubeconfig file found ({where})", _ADD_CONTEXT)]
        )
    report = KubeReport(current_context=config.current_context)
    for name in sorted(config.contexts):
        context = config.contexts[name]
        user = config.user_of(context)
        if user is None:
            continue
        call = managed_call(user)  # the same model as list, check and whoami
        if call is None:
            if _calls_exchange_directly(user):
                report.findings.append(
                    Finding(
                        "kubeconfig",
                        "note",
                        f"context {name!r} calls the RemoteGPU API itself on every kubectl "
                        "command (no token cache)",
                        "convert the console's file it came from with `rgpu-exec kubeconfig "
                        "import --replace` followed by that file's path (download it again from "
                        "the console's namespace page if it is gone)",
                    )
                )
            continue
        resolved = resolve_command(call.command, user.file, environ)
        if resolved:
            report.commands.append(resolved)
        found = _context_findings(
            name, config, context, user, call, resolved, flag=flag, environ=environ
        )
        report.findings += found
        runnable = not any(f.status == "problem" for f in found)
        report.contexts.append(_plugin_context(name, context, user, call, environ, runnable))
    if not report.contexts and not report.findings:
        report.findings.append(
            Finding(
                "kubeconfig",
                "note",
                f"no context in {', '.join(config.files)} uses rgpu-exec",
                _ADD_CONTEXT,
            )
        )
    return report


def _not_a_regular_file(flag: str | None, environ: Mapping[str, str]) -> Finding | None:
    """A kubeconfig path that is a device, a FIFO or a directory (`KUBECONFIG=/dev/null`):
    kubectl reads nothing from it and rgpu-exec never writes it (the write gate's path rule)."""
    for path in kubeconfig_view.kubeconfig_files(flag, environ):
        problem = private_files.write_target_problem(str(Path(path).absolute()), follow=True)
        if problem is None:
            continue
        usual = str(kubeconfig_view.home(environ) / ".kube" / "config")
        fix = (
            f"give --kubeconfig a regular file, such as {usual}"
            if flag is not None
            else f"point {settings.ENV_KUBECONFIG} at regular files: "
            + fixes.command("export", f"{settings.ENV_KUBECONFIG}={usual}")
        )
        detail = f"the kubeconfig {path} {problem}: kubectl finds no context in it"
        return Finding("kubeconfig", "problem", detail, fix)
    return None


_ADD_CONTEXT = (
    "convert the console's kubeconfig download with `rgpu-exec kubeconfig import` followed by "
    "its path, or write a context with `rgpu-exec kubeconfig generate` (its --help says which "
    "values it needs, all on the console's namespace page)"
)


def _plugin_context(  # noqa: PLR0917
    name: str,
    context: Entry,
    user: Entry,
    call: PluginCall,
    environ: Mapping[str, str],
    runnable: bool,
) -> PluginContext:
    merged = exec_environment(user, environ)  # kubectl sets the stanza's `env` on top
    api_url = settings.api_url(call.api_url, merged)
    # The stanza's own faults; an API URL from the environment is the settings check's business.
    exchangeable = (
        call.namespace_id is not None
        and settings.looks_like_uuid(call.namespace_id)
        and (call.api_url is None or url_rules.url_problem(call.api_url) is None)
        and settings.valid_profile(settings.profile(call.profile, merged))
    )
    namespace = context.body.get("namespace")
    namespace = namespace if isinstance(namespace, str) and namespace else None
    return PluginContext(name, call, merged, api_url, exchangeable, namespace, runnable, user)


def _context_findings(  # noqa: PLR0917
    name: str,
    config: Kubeconfig,
    context: Entry,
    user: Entry,
    call: PluginCall,
    resolved: str | None,
    *,
    flag: str | None = None,
    environ: Mapping[str, str],
) -> list[Finding]:
    exec_ = user.body["exec"]
    where = f"context {name!r} (user {user.name!r} in {user.file})"
    problems: list[Finding] = []

    def problem(what: str, fix: str) -> None:
        problems.append(Finding("kubeconfig", "problem", f"{where}: {what}", fix))

    if resolved is None:
        problems.append(
            exec_command.missing(
                where, config, context, user, call, kubeconfig_flag=flag, environ=environ
            )
        )
    version = exec_.get("apiVersion")
    if version not in SUPPORTED_API_VERSIONS:
        problem(
            f"exec apiVersion {version!r} is not supported",
            f"set `apiVersion: {SUPPORTED_API_VERSIONS[0]}`",
        )
    mode = exec_.get("interactiveMode")
    if version == SUPPORTED_API_VERSIONS[0] and mode is None:
        problem(
            "the v1 exec stanza has no interactiveMode, so kubectl rejects it",
            "add `interactiveMode: Never` to the exec stanza",
        )
    elif mode is not None and mode not in INTERACTIVE_MODES:
        problem(f"interactiveMode {mode!r} is not valid", "use `interactiveMode: Never`")
    static = [k for k in ("token", "tokenFile") if user.body.get(k)]
    if static:
        problem(
            f"a static `{static[0]}` sits beside exec, so kubectl uses it and never runs rgpu-exec",
            f"{_unset(user, static[0])} (some clients write tokens back)",
        )
    if call.namespace_id is None or not settings.looks_like_uuid(call.namespace_id):
        problem(
            f"the exec args give no valid --namespace-id ({call.namespace_id!r})",
            "give the exec args --namespace-id and the namespace's ID (a UUID, on the console's "
            "namespace page)",
        )
    if call.api_url and url_rules.url_problem(call.api_url):
        problem(
            f"--api-url {call.api_url!r} {url_rules.url_problem(call.api_url)}",
            "use the https:// API URL",
        )
    if call.profile and not settings.valid_profile(call.profile):
        problem(
            f"the exec args give an invalid --profile {call.profile!r}",
            f"use a profile name of {request.PROFILE_RULE}",
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
    namespace = context.body.get("namespace")
    label = request.namespace_label(
        namespace if isinstance(namespace, str) else None, call.namespace_id
    )
    detail = f"{where}: runs {resolved}, namespace {label}"
    return [Finding("kubeconfig", "ok", detail)]


def _calls_exchange_directly(user: Entry) -> bool:
    exec_ = user.body.get("exec")
    if not isinstance(exec_, dict):
        return False
    words = [str(exec_.get("command", "")), *(str(a) for a in exec_.get("args") or [])]
    return any("exec-credential" in w for w in words)


def _unset(user: Entry, key: str) -> str:
    """The command that deletes `key` from the user in the file defining it, shell-quoted
    (`fixes.command`); prose for a name kubectl's property path
    cannot hold (a dot) or a terminal would not show as it is."""
    if "." in user.name or not terminal.printable(user.name + user.file):
        return f"delete `{key}` from user {terminal.shown(user.name)!r}"
    argv = ["kubectl", "config", "unset", f"users.{user.name}.{key}", "--kubeconfig", user.file]
    return fixes.command(*argv)
