"""`doctor`: an exec command kubectl cannot start, what kubectl shows for it, and the command that
writes the stanza again with one that lasts.

What kubectl shows depends on how the command is written. A path (one with a separator) is run as
it is, relative to the kubeconfig file that defines it: when it no longer exists kubectl fails
with `fork/exec <path>: no such file or directory` (`permission denied` when it is not
executable), and never shows the installHint. A bare name is looked up on PATH: when none is
found kubectl shows the stanza's installHint. The usual cause of the first is a virtual
environment that moved or was recreated under a kubeconfig that named the launcher inside it.

The fix is `rgpu-exec kubeconfig generate` again with every value the context already has
(namespace, ID, server, API URL, profile, exec API version, interactive mode, context name), so
that it rewrites the exec stanza with the launcher the user runs (`kubeconfig.launcher`), with
`--no-verify` (no exchange: only the command changes, and a missing key is its own finding); for a
context whose entries generate did not name (its user, cluster and context named alike),
`kubectl config set-credentials` of that user's command alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec import fixes
from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import settings
from rgpu_exec.hotpath.exec_credential import V1BETA1
from rgpu_exec.kubeconfig import entries, launcher
from rgpu_exec.usecases.doctor.findings import Finding

if TYPE_CHECKING:
    from rgpu_exec.kubeconfig.view import Entry, Kubeconfig, PluginCall

_REINSTALL = "pipx install ./rgpu-exec"  # from a checkout of the repository (see the README)


def missing(
    where: str,
    config: Kubeconfig,
    context: Entry,
    user: Entry,
    call: PluginCall,
    *,
    kubeconfig_flag: str | None,
    environ: Mapping[str, str],
) -> Finding:
    """The problem of a context whose exec command kubectl cannot start, with its fix."""
    detail = f"{where}: {_what_kubectl_shows(call.command, user.file)}"
    fix = _fix(config, context, user, call, kubeconfig_flag, environ)
    about = {"context": context.name, "command": call.command}
    return Finding("kubeconfig", "problem", detail, fix, "exec-command-missing", about)


def _what_kubectl_shows(command: str, defined_in: str) -> str:
    if os.sep not in command and not (os.altsep and os.altsep in command):
        return (
            f"the exec command {command!r} is not found on PATH, so kubectl shows the stanza's "
            "installHint"
        )
    path = Path(defined_in).parent / command  # an absolute command replaces the directory
    if path.exists():
        return (
            f"the exec command {command!r} is not an executable file, so kubectl fails with "
            f"`fork/exec {path}: permission denied`"
        )
    gone = (
        f"a link to {path.readlink()}, which no longer exists (the virtual environment it was "
        "installed in moved or was removed)"
        if path.is_symlink()
        else "no longer there (moved, or removed by an uninstall or a reinstall)"
    )
    return (
        f"the exec command {command!r} is {gone}, so kubectl fails with `fork/exec {path}: no "
        "such file or directory` (and shows no installHint for a path)"
    )


def _fix(  # noqa: PLR0917
    config: Kubeconfig,
    context: Entry,
    user: Entry,
    call: PluginCall,
    kubeconfig_flag: str | None,
    environ: Mapping[str, str],
) -> str:
    try:
        command = launcher.default_command(environ)
    except UsageError:
        return (
            f"install rgpu-exec again (`{_REINSTALL}` from a checkout of its repository; see its "
            "README), then run `rgpu-exec doctor` again for the command that repairs the stanza"
        )
    program = _program(command, environ)
    words = _generate_words(config, context, user, call)
    if words is not None:
        if kubeconfig_flag:
            words += ["--kubeconfig", kubeconfig_flag]
        # --no-verify: only the command changes, and the fix must work as printed even while
        # the key is another finding's problem (the doctor checks the key on its own).
        return (
            f"run {fixes.command(program, 'kubeconfig', 'generate', *words, '--no-verify')}: "
            f"it writes the stanza again with the command {command}, and keeps everything else"
        )
    words = ["config", "set-credentials", user.name, f"--exec-command={command}"]
    return f"run {fixes.command('kubectl', *words, *_kept(user), '--kubeconfig', user.file)}"


def setting_the_api_url(user: Entry, command: str, api_url: str) -> str:
    """The fix that gives this user's exec stanza another `--api-url`: `kubectl config
    set-credentials` with its command, and every other arg and env given again (`_kept`)."""
    kept = _kept(user)
    for at, word in enumerate(kept):
        if word == "--exec-arg=--api-url" and at + 1 < len(kept):
            kept[at + 1] = f"--exec-arg={api_url}"
        elif word.startswith("--exec-arg=--api-url="):
            kept[at] = f"--exec-arg=--api-url={api_url}"
    words = ["config", "set-credentials", user.name, f"--exec-command={command}", *kept]
    return f"run {fixes.command('kubectl', *words, '--kubeconfig', user.file)}"


def _kept(user: Entry) -> list[str]:
    """The stanza's args and env, given again: `kubectl config set-credentials --exec-command`
    drops both (kubectl 1.37 writes `args: null`, `env: null`)."""
    exec_ = user.body.get("exec")
    if not isinstance(exec_, Mapping):
        return []
    args = exec_.get("args")
    env = exec_.get("env")
    kept = (
        [f"--exec-arg={arg}" for arg in args if isinstance(arg, str)]
        if isinstance(args, list)
        else []
    )
    listed = env if isinstance(env, list) else []
    kept.extend(
        f"--exec-env={item['name']}={item.get('value', '')}"
        for item in listed
        if isinstance(item, Mapping) and isinstance(item.get("name"), str)
    )
    return kept


def _program(command: str, environ: Mapping[str, str]) -> str:
    """How the fix names rgpu-exec: its bare name when PATH finds this very file (a run through
    PATH then writes PATH's path), else the whole path, quoted for the shell."""
    process = launcher.Process.current()
    if launcher.bare_name_works(command, process, environ):
        return Path(command).name.removesuffix(".exe")
    return command


def _generate_words(
    config: Kubeconfig, context: Entry, user: Entry, call: PluginCall
) -> list[str] | None:
    """`generate`'s flags that write this context again as it is (None when it is no context
    generate or import wrote: one name for its cluster, user and context, a namespace, an ID
    and an https server)."""
    cluster = config.cluster_of(context)
    namespace = context.body.get("namespace")
    server = cluster.body.get("server") if cluster is not None else None
    if (
        cluster is None
        or not (context.name == user.name == cluster.name)
        or not isinstance(namespace, str)
        or not settings.valid_namespace_name(namespace)
        or not isinstance(server, str)
        or not server.startswith("https://")
        or call.namespace_id is None
        or not settings.looks_like_uuid(call.namespace_id)
    ):
        return None
    words = ["--namespace", namespace, "--namespace-id", call.namespace_id, "--server", server]
    if context.name != entries.default_context(namespace):
        words += ["--context", context.name]
    if call.api_url:
        words += ["--api-url", call.api_url]
    if call.profile:
        words += ["--profile", call.profile]
    exec_ = user.body.get("exec") or {}
    if exec_.get("apiVersion") == V1BETA1:
        words += ["--exec-api-version", "v1beta1"]
    if exec_.get("interactiveMode") == "Never":
        words += ["--interactive-mode", "Never"]
    return words
