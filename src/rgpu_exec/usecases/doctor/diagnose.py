"""`rgpu-exec doctor`: one list of findings that answers "why doesn't kubectl work?".

Checks, in order: the API key (source and prefix), the keyring backend, the settings `token`
refuses to run with (deadline, API URL, CA bundles), the cache directory (and failures it is
replaying), the API (reachable, clock skew from its `Date` header) and whether it accepts the
key, kubectl, the kubeconfig contexts that use rgpu-exec, kuberc's credential plugin policy,
and finally, for every such context (or the one named), its key and the cluster's own answer:
may its token list pods in its namespace? Each problem comes with its fix.

The checks live in `local` (no network), `network` (the keyless API probes), `access` (a
context's key, and one exchange when kubectl is missing), `cluster` (kubectl asks the cluster),
`kube` (the kubeconfig) and `kuberc` (its plugin policy); this module decides which run, in what
order, on what. The
key is sent only where kubectl would send it: never for a context whose stanza kubectl refuses
or whose plugin kuberc denies; probes go only to the API URL chosen (flag, environment or
default) and to the ones of the contexts checked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rgpu_exec import fixes, output
from rgpu_exec.errors import ExitCode
from rgpu_exec.hotpath import request, settings, url_rules
from rgpu_exec.kubeconfig import listing
from rgpu_exec.usecases.doctor import (
    access,
    cluster,
    exec_command,
    keys,
    kube,
    local,
    network,
    validity,
)
from rgpu_exec.usecases.doctor.findings import Finding, of_kind, problem_count
from rgpu_exec.usecases.doctor.kuberc import kuberc_findings
from rgpu_exec.usecases.key_exchange import named_kubernetes_server

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from rgpu_exec.usecases.doctor.kube import PluginContext


@dataclass(frozen=True)
class DoctorRequest:
    """`doctor`'s flags as given (unset: None); the doctor reports bad values as findings."""

    kubeconfig: str | None = None  # inspect this kubeconfig file only
    api_url: str | None = None
    profile: str | None = None  # the keyring profile to look for a key under
    context: str | None = None  # check this context only (else every one that runs rgpu-exec)


@dataclass(frozen=True)
class DoctorResult:
    """Every finding, in the order they are shown; the exit code is the doctor's verdict."""

    findings: list[Finding]

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.PROBLEMS_FOUND if problem_count(self.findings) else ExitCode.OK


def run(options: DoctorRequest, environ: Mapping[str, str]) -> DoctorResult:
    return DoctorResult(diagnose(options, environ))


def diagnose(options: DoctorRequest, environ: Mapping[str, str]) -> list[Finding]:
    """Every check, in the order they are shown."""
    findings: list[Finding] = []
    keyring_usable = keys.keyring_usable(environ)
    profile, refused = request.resolve_profile(options.profile, environ)
    elsewhere: str | None = None  # where the key comes from, when not the keyring
    if refused:
        source = "--profile" if options.profile else settings.ENV_PROFILE
        fix = f"set {source} to {request.PROFILE_RULE}"
        detail, about = refused.rstrip("."), {"profile": profile}
        findings.append(Finding("API key", "problem", detail, fix, "key-unusable", about))
    else:
        found, elsewhere = keys.key_findings(
            environ, profile, keyring_usable=keyring_usable, profile_flag=options.profile
        )
        findings += found
    findings += keys.keyring_findings(environ, elsewhere)
    report = kube.inspect(options.kubeconfig, environ)
    default_url = settings.api_url(options.api_url, environ)
    own_url = [c.name for c in report.contexts if c.call.api_url and c.api_url != default_url]
    settings_found = local.settings_findings(environ, options.api_url, own_url=own_url)
    findings += settings_found
    findings += local.cache_findings(environ, time.time())
    checked = _contexts(report, options.context)
    if options.context is not None and not checked:
        findings.append(_unknown_context(report, options.context))
    unreachable: set[str] = set()
    urls = api_urls(options.api_url, environ, report.contexts, checked)
    ca_reported = bool(of_kind(settings_found, "ca-file-unusable"))
    servers = listing.cluster_servers(options.kubeconfig, environ)  # no URL may be one of them
    for url, source in urls:
        named = named_kubernetes_server(url, source, servers, environ)
        probed = (
            [network.not_probed(named)]  # never sent a request, with or without a key
            if named is not None
            else network.api_findings(
                url,
                environ,
                source=source,
                name_in_clock=len(urls) > 1,
                ca_reported=ca_reported,
                rewrite=_rewrite(url, source, checked, options),
            )
        )
        if probed[0].status != "ok":
            unreachable.add(url)
        findings += probed
    # The key is judged by the API it would go to, the key that would go there: the doctor's at
    # the API URL chosen (flag, environment, default), else the current (or first) context's at
    # its own; never at a URL that did not answer.
    answering = {url: source for url, source in urls if url not in unreachable}
    current = [c for c in checked if c.name == report.current_context] + checked
    judge: tuple[Mapping[str, str], str | None, str] | None = None
    if default_url in answering:
        judge = (environ, options.profile, default_url)
    else:
        first = next((c for c in current if c.api_url in answering), None)
        judge = (first.environ, first.call.profile, first.api_url) if first else None
    rejected = None
    if not refused and judge is not None:
        judged, rejected_key = validity.key_validity(*judge, answering[judge[2]])
        findings += judged
        rejected = (rejected_key, judge[2]) if rejected_key else None
    kubectl_found = local.kubectl_findings(environ)
    findings += kubectl_found
    findings += report.findings
    kuberc = kuberc_findings(environ, report.commands)
    findings += kuberc
    # Decided on what the findings are about, never on their wording (`findings.Finding`).
    kubectl = next((f.about["path"] for f in of_kind(kubectl_found, "kubectl-found")), None)
    denied = bool(of_kind(kuberc, "plugins-denied", "problem"))
    refused_stanzas = {c.name for c in report.contexts if not c.runnable}
    for context in checked:
        blocked = None
        if context.name in refused_stanzas:
            blocked = "kubectl refuses its exec stanza or server"
        elif denied:
            blocked = "kuberc's credentialPluginPolicy denies credential plugins"

        def ask(found: PluginContext) -> Finding:
            assert kubectl is not None  # noqa: S101 - only given when kubectl was found
            return cluster.can_i(kubectl, found, environ, options.kubeconfig, report.contexts)

        findings += access.context_findings(
            context,
            environ,
            listed=findings,
            unreachable=unreachable,
            profile=None if refused else profile,
            ask_cluster=ask if kubectl else None,
            blocked=blocked,
            rejected=rejected,
        )
    return findings


def _rewrite(
    url: str, source: str, checked: list[PluginContext], options: DoctorRequest
) -> Callable[[str], str] | None:
    """The fix that sets another API URL where `url` comes from: REMOTEGPU_API_URL exported, the
    doctor's own --api-url (the same doctor run again, its other flags kept), or the exec args
    of the context whose --api-url it is."""
    if source == settings.ENV_API_URL:
        return lambda new: f"run {fixes.command('export', f'{settings.ENV_API_URL}={new}')}"
    if source == "--api-url":
        kept = [
            word
            for flag, value in (
                ("--kubeconfig", options.kubeconfig),
                ("--profile", options.profile),
                ("--context", options.context),
            )
            if value is not None
            for word in (flag, value)
        ]
        return lambda new: f"run {fixes.command('rgpu-exec', 'doctor', *kept, '--api-url', new)}"
    context = next((c for c in checked if c.call.api_url and c.api_url == url), None)
    if context is None or context.user is None:
        return None
    user, command = context.user, context.call.command
    return lambda new: exec_command.setting_the_api_url(user, command, new)


def _contexts(report: kube.KubeReport, name: str | None) -> list[PluginContext]:
    """The contexts to check: the one named, else every one that runs rgpu-exec."""
    if name is None:
        return report.contexts
    return [c for c in report.contexts if c.name == name]


def _unknown_context(report: kube.KubeReport, name: str) -> Finding:
    known = ", ".join(repr(c.name) for c in report.contexts) or "none"
    return Finding(
        "kubeconfig",
        "problem",
        f"--context {name!r} is not a context that runs rgpu-exec",
        f"name one of the contexts that do ({known}; `rgpu-exec kubeconfig list` lists them)",
    )


def api_urls(
    flag: str | None,
    environ: Mapping[str, str],
    contexts: list[PluginContext],
    checked: list[PluginContext],
) -> list[tuple[str, str]]:
    """Each distinct API URL to probe, once, with where it comes from (for the fix): only URLs
    the user chose or a context checked uses.

    The URL of the flag or the environment is probed when it is given, when no context uses
    rgpu-exec (to check the setup as a whole), or when a checked context relies on it; the
    public default that no context uses is not. A context's own --api-url is probed only when
    that context is checked and kubectl would run its stanza.
    """
    urls: dict[str, str] = {}
    default = settings.api_url(flag, environ)
    given = bool(flag or settings.api_url_from_environment(environ))
    relied_on = any(c.call.api_url is None for c in checked)
    refused = url_rules.url_problem(default) or output.holds_secret(default)  # listed above
    if not refused and (given or relied_on or not contexts):
        urls[default] = request.api_url_source(flag, environ)
    for context in checked:
        usable = context.exchangeable and context.runnable
        if usable and not url_rules.url_problem(context.api_url) and context.api_url not in urls:
            urls[context.api_url] = f"the --api-url in the exec args of context {context.name!r}"
    return list(urls.items())
