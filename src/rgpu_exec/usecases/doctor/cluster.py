"""Ask the cluster, as kubectl would: for a context that runs rgpu-exec, `kubectl auth can-i
list pods` with that context. kubectl reads the kubeconfig, runs the exec stanza (rgpu-exec,
from the token cache or with one exchange, as any kubectl command would), connects to the
server with the cluster's TLS settings, and asks it with a SelfSubjectAccessReview whether the
token may list pods in the context's namespace. Whatever kubectl would fail on, this fails on
too: an unreachable server, a missing CA, a rejected token, a forbidden namespace, a stanza
kubectl refuses. Only the cluster's "yes" is "ok".

kubectl is the one the user runs (found on PATH). Without it nothing is asked, and the finding
says so ("not verified").
"""

from __future__ import annotations

import subprocess
import time
from typing import TYPE_CHECKING, Literal

from rgpu_exec import fixes, terminal
from rgpu_exec.cache import directory as cache_dir
from rgpu_exec.cache import files as cache_files
from rgpu_exec.hotpath import failures, request
from rgpu_exec.usecases.doctor.findings import Finding

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.usecases.doctor.kube import PluginContext

# kubectl waits for the plugin (its exchange deadline is 20 s by default) and then the server.
KUBECTL_TIMEOUT = 45.0
_PLUGIN_FAILED = "failed with exit code"
# What kubectl's error says, what it means, and what kind of trouble that is (the first marker
# found wins). The fix is chosen by the kind, never by reading the meaning back.
Cause = Literal["untrusted", "rejected", "unreachable", "refused-stanza"]
_CAUSES: tuple[tuple[str, str, Cause], ...] = (
    ("x509:", "kubectl does not trust the server's certificate", "untrusted"),
    (
        "certificate signed by unknown authority",
        "kubectl does not trust the server's certificate",
        "untrusted",
    ),
    ("Unauthorized", "the cluster rejected the token (HTTP 401)", "rejected"),
    ("connection refused", "the server refused the connection", "unreachable"),
    ("no such host", "the server's host name does not resolve", "unreachable"),
    ("i/o timeout", "the server did not answer in time", "unreachable"),
    ("dial tcp", "kubectl cannot reach the server", "unreachable"),
    (
        "interactiveMode must be specified",
        "kubectl refuses the exec stanza: no interactiveMode",
        "refused-stanza",
    ),
)


def can_i(
    kubectl: str,
    context: PluginContext,
    environ: Mapping[str, str],
    kubeconfig: str | None,
    others: list[PluginContext],
) -> Finding:
    """The cluster's answer for `context`, by the user's kubectl."""
    where = f"context {context.name!r}"
    namespace = context.namespace or "default"
    argv = [kubectl, "auth", "can-i", "list", "pods", "--context", context.name]
    if kubeconfig:
        argv += ["--kubeconfig", kubeconfig]
    try:
        done = subprocess.run(
            argv,
            env=dict(environ),
            capture_output=True,
            text=True,
            timeout=KUBECTL_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return Finding(
            "cluster",
            "problem",
            f"{where}: kubectl did not finish within {KUBECTL_TIMEOUT:.0f} s",
            f"run {fixes.command('kubectl', '--context', context.name, 'get', 'pods')} to see "
            "where it waits",
        )
    except OSError as exc:
        return Finding("cluster", "note", f"{where}: not verified: kubectl does not run ({exc})")
    answer = done.stdout.strip()
    if done.returncode == 0 and answer == "yes":
        return Finding(
            "cluster",
            "ok",
            f"{where}: the cluster accepts its token and allows listing pods in namespace "
            f"{terminal.shown(namespace)} (asked by kubectl)",
        )
    if answer == "no":
        return _forbidden(context, namespace, others)
    return _failed(context, done.stderr)


def _forbidden(context: PluginContext, namespace: str, others: list[PluginContext]) -> Finding:
    """The cluster said no. Tokens are per namespace: the usual cause is a context whose
    namespace was switched (kubens) away from the one its exec stanza gets tokens for."""
    where = f"context {context.name!r}"
    serves = context.call.namespace_name
    label = request.namespace_label(serves, context.call.namespace_id)
    if serves and serves != namespace:
        made = next(
            (c.name for c in others if c.call.namespace_name == namespace and c is not context),
            None,
        )
        use = (
            f"{fixes.command('kubectl', 'config', 'use-context', made)} (the context made for "
            f"{terminal.shown(namespace)}), or"
            if made
            else f"import {terminal.shown(namespace)}'s kubeconfig from the console (`rgpu-exec "
            "kubeconfig import` with the downloaded file's path) for a context of its own, or"
        )
        return Finding(
            "cluster",
            "problem",
            f"{where}: the cluster forbids listing pods in namespace "
            f"{terminal.shown(namespace)}: the context's namespace was changed, but its exec "
            f"stanza gets tokens for {terminal.shown(label)}, and a token is valid in its own "
            "namespace only",
            f"{use} set the namespace back: "
            + fixes.command(
                "kubectl", "config", "set-context", context.name, "--namespace", serves
            ),
        )
    return Finding(
        "cluster",
        "problem",
        f"{where}: the cluster forbids listing pods in namespace {terminal.shown(namespace)} "
        f"with the token for {terminal.shown(label)}",
        "check that the context's namespace is the one its --namespace-id names (copy both "
        "from the console, or `rgpu-exec kubeconfig import` the console's file again)",
    )


def _failed(context: PluginContext, stderr: str) -> Finding:
    """kubectl could not ask: the plugin failed, or the server could not be reached or trusted."""
    where = f"context {context.name!r}"
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    ours = [line for line in lines if line.startswith("rgpu-exec:")]
    if ours or any(_PLUGIN_FAILED in line for line in lines):
        said = ours[-1].removeprefix("rgpu-exec: ") if ours else "no message"
        said = _in_full(said, context.environ)
        return Finding(
            "cluster",
            "problem",
            f"{where}: kubectl ran rgpu-exec, which failed: {terminal.shown(said)}",
            "the message says what to do; the rows above headed API key, settings and API "
            "show the key, settings and API it ran with",
        )
    text = " ".join(lines)
    meaning, kind = next(((m, k) for marker, m, k in _CAUSES if marker in text), (None, None))
    detail = f"{where}: {meaning or 'kubectl failed'} ({terminal.shown(_last(lines))})"
    if kind == "untrusted":
        # No command: the CA is in a file rgpu-exec does not know (no hole in a command).
        fix = (
            "give the cluster its CA. The kubeconfig the console offers for download on the "
            "namespace's page holds it (your cluster admin has it as a file too): import that "
            "download again, with --replace and the download's path, or run generate again with "
            "--certificate-authority-data and the download's certificate-authority-data value "
            "(or --certificate-authority and the CA file)"
        )
    elif kind == "rejected":
        fix = (
            f"run {fixes.command('kubectl', '--context', context.name, 'get', 'pods')} once "
            "more (rgpu-exec replaces a token the cluster rejects); if it persists, check the "
            "cluster's server address"
        )
    else:
        fix = "check the cluster's server address in the kubeconfig against the console's file"
    return Finding("cluster", "problem", detail, fix)


def _in_full(said: str, environ: Mapping[str, str]) -> str:
    """What rgpu-exec said under kubectl, in full: a failure told moments ago is replayed to
    kubectl's reruns in one line (its first sentence, then `[same failure as …]`); the doctor
    shows the whole message, from the failure's record."""
    directory = cache_dir.cache_directory(environ)
    now = time.time()
    for stem in cache_files.stems_in(directory):
        failure = failures.read_failure(directory, stem, now)
        if failure is None:
            continue
        first = failures.summary(failure.message).removeprefix("rgpu-exec: ")
        if said.startswith(f"{first} [same failure as "):
            return " ".join(failure.message.split()).removeprefix("rgpu-exec: ")
    return said


def _last(lines: list[str]) -> str:
    text = lines[-1] if lines else "no message"
    return text if len(text) <= 200 else text[:199] + "…"  # noqa: PLR2004
