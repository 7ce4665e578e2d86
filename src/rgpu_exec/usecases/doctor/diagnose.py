"""`rgpu-exec doctor`: one list of findings that answers "why doesn't kubectl work?".

Checks, in order: the API key (source and prefix), the keyring backend, the settings `token`
refuses to run with (deadline, API URL, CA bundles), the cache directory (and failures it is
replaying), each API (reachable, and clock skew from its `Date` header), kubectl, the kubeconfig
contexts that use rgpu-exec, kuberc's credential plugin policy, and finally whether the current
context's key may use its namespace. Each problem comes with its fix.

The checks live in `local` (no network), `network` (the keyless API probes), `access` (the one
exchange) and `kube` (kubeconfig and kuberc); this module decides which run, in what order, on
what.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rgpu_exec.hotpath import request, settings, url_rules
from rgpu_exec.usecases.doctor import access, kube, local, network
from rgpu_exec.usecases.doctor.findings import Finding

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.usecases.doctor.kube import PluginContext


@dataclass(frozen=True)
class DoctorOptions:
    """`doctor`'s flags as given (unset: None); the doctor reports bad values as findings."""

    kubeconfig: str | None = None  # inspect this kubeconfig file only
    api_url: str | None = None
    profile: str | None = None  # the keyring profile to look for a key under


def diagnose(options: DoctorOptions, environ: Mapping[str, str]) -> list[Finding]:
    """Every check, in the order they are shown."""
    findings: list[Finding] = []
    keyring_usable = local.keyring_usable(environ)
    profile, refused = request.resolve_profile(options.profile, environ)
    if refused:
        source = "--profile" if options.profile else settings.ENV_PROFILE
        fix = f"set {source} to 1-64 letters, digits, '.', '_' or '-'"
        findings.append(Finding("API key", "problem", refused.rstrip("."), fix))
    else:
        findings += local.key_findings(
            environ, profile, keyring_usable=keyring_usable, profile_flag=options.profile
        )
    findings += local.keyring_findings(environ)
    report = kube.inspect(options.kubeconfig, environ)
    default_url = settings.api_url(options.api_url, environ)
    own_url = [c.name for c in report.contexts if c.call.api_url and c.api_url != default_url]
    settings_found = local.settings_findings(environ, options.api_url, own_url=own_url)
    findings += settings_found
    findings += local.cache_findings(environ, time.time())
    unreachable: set[str] = set()
    urls = api_urls(options.api_url, environ, report.contexts)
    ca_reported = any(f.detail.startswith(local.CA_VARIABLES) for f in settings_found)
    for url, source in urls:
        probed = network.api_findings(
            url, environ, source=source, name_in_clock=len(urls) > 1, ca_reported=ca_reported
        )
        if probed[0].status != "ok":
            unreachable.add(url)
        findings += probed
    findings += local.kubectl_findings(environ)
    findings += report.findings
    findings += kube.kuberc_findings(environ, report.commands)
    findings += access.access_findings(
        report,
        environ,
        listed=findings,
        unreachable=unreachable,
        profile=None if refused else profile,
    )
    return findings


def api_urls(
    flag: str | None, environ: Mapping[str, str], contexts: list[PluginContext]
) -> list[tuple[str, str]]:
    """Each distinct API URL to probe, once, with where it comes from (for the fix).

    The URL of the flag or the environment is probed when it is given, when no context uses
    rgpu-exec (to check the setup as a whole), or when a context relies on it; the public
    default that no context uses is not.
    """
    urls: dict[str, str] = {}
    default = settings.api_url(flag, environ)
    given = bool(flag or settings.api_url_from_environment(environ))
    relied_on = any(c.call.api_url is None for c in contexts)
    if not url_rules.url_problem(default) and (given or relied_on or not contexts):
        urls[default] = request.api_url_source(flag, environ)
    for context in contexts:
        usable = context.exchangeable and not url_rules.url_problem(context.api_url)
        if usable and context.api_url not in urls:
            urls[context.api_url] = f"the --api-url in the exec args of context {context.name!r}"
    return list(urls.items())
