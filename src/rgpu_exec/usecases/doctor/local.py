"""The checks that need no network but the key's (`keys`): the settings `token` refuses to run
with (deadline, API URL, CA files), the cache directory, and kubectl."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec import output, terminal
from rgpu_exec.cache import directory as cache_dir
from rgpu_exec.cache import files as cache_files
from rgpu_exec.hotpath import failures, private_files, request, settings, url_rules
from rgpu_exec.usecases.doctor.findings import Finding

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from rgpu_exec.usecases.doctor.findings import Kind

KUBECTL_TIMEOUT = 15

# The CA files `token` loads, and what each should name (for the fix).
CA_FILES = (
    (
        settings.ENV_CA_BUNDLE,
        "the PEM file of the private CA that signed the API's certificate (only for a private CA)",
    ),
    (
        settings.ENV_SSL_CERT_FILE,
        "a PEM bundle of the CAs to trust (a TLS-inspecting proxy's, for example)",
    ),
)


def settings_findings(
    environ: Mapping[str, str],
    api_url_flag: str | None = None,
    where: str = "",
    own_url: Sequence[str] = (),
) -> list[Finding]:
    """The settings `rgpu-exec token` refuses to run with: each one fails every kubectl command.
    `own_url`: the contexts whose exec args name another API URL (said beside the one shown)."""
    findings: list[Finding] = []

    def problem(detail: str, fix: str, kind: Kind, about: dict[str, str]) -> None:
        findings.append(Finding("settings", "problem", detail + where, fix, kind, about))

    deadline = settings.deadline(environ)
    if deadline is None:
        problem(
            f"{settings.ENV_DEADLINE}={settings.raw_deadline(environ)!r} is not a number of "
            "seconds between 0.1 and 300, so `rgpu-exec token` refuses to run",
            f"unset {settings.ENV_DEADLINE} (default {settings.DEFAULT_DEADLINE:.0f} s), or set "
            "it to a number of seconds such as 30",
            "deadline-refused",
            {"variable": settings.ENV_DEADLINE, "value": str(settings.raw_deadline(environ))},
        )
    api_url = settings.api_url(api_url_flag, environ)
    key_in_url = output.holds_secret(api_url)  # a key pasted into it: never asked or shown
    url_problem = "holds what looks like a key" if key_in_url else url_rules.url_problem(api_url)
    if url_problem:
        source = "--api-url" if api_url_flag else settings.ENV_API_URL
        problem(
            f"the API URL{'' if key_in_url else f' {api_url!r}'} ({source}) {url_problem}, so "
            "`rgpu-exec token` refuses it",
            f"set {source} to the https:// URL of the RemoteGPU API (or unset "
            f"{settings.ENV_API_URL} for {settings.DEFAULT_API_URL})",
            "api-url-refused",
            {"url": api_url, "source": source},
        )
    cert_file, _, bundle = settings.ca_files(environ)
    chosen = {settings.ENV_CA_BUNDLE: bundle, settings.ENV_SSL_CERT_FILE: cert_file}
    for variable, purpose in CA_FILES:
        path = chosen[variable]
        trouble = _pem_problem(path) if path else None
        if trouble:
            problem(
                f"{variable} names {path}, which {trouble}, so no exchange can be made",
                f"point {variable} at {purpose}, or unset it",
                "ca-file-unusable",
                {"variable": variable, "path": str(path)},
            )
    key_log = settings.ssl_key_log(environ)
    if key_log:  # a note, not a problem: rgpu-exec itself never logs keys (`tls.tls_context`)
        findings.append(
            Finding(
                "settings",
                "note",
                f"{settings.ENV_SSL_KEY_LOG} is set ({terminal.shown(key_log)}): programs that "
                "honour it write TLS session keys there, and anyone who reads the file can "
                "decrypt their traffic; rgpu-exec never writes to it, kubectl and others may",
                f"unset {settings.ENV_SSL_KEY_LOG} unless you are debugging TLS right now",
            )
        )
    if not [f for f in findings if f.status == "problem"]:
        source = request.api_url_source(api_url_flag, environ)
        others = ""
        if own_url:  # the URL shown is not the one those contexts use: say so beside it
            names = ", ".join(repr(name) for name in own_url[:3])
            more = f" and {len(own_url) - 3} more" if len(own_url) > 3 else ""  # noqa: PLR2004
            others = (
                f"; contexts {names}{more} use their own --api-url"
                if len(own_url) > 1
                else f"; context {names} uses its own --api-url"
            )
        detail = f"API URL {api_url} ({source}{others}), exchange deadline {deadline:g} s"
        findings.append(
            Finding("settings", "ok", detail + (f", CA bundle {bundle}" if bundle else "") + where)
        )
    return findings


def _pem_problem(path: str) -> str | None:
    """Why this CA bundle cannot be loaded, or None."""
    import ssl  # noqa: PLC0415  # stdlib, but ~15 ms to import: kept off `rgpu-exec --help`

    file = Path(path)
    if not file.exists():
        return "does not exist"
    if not file.is_file():
        return "is not a file"
    try:
        with file.open("rb") as stream:
            stream.read(1)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    try:
        ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        return f"holds no usable PEM certificate ({reason})"
    return None


def cache_findings(environ: Mapping[str, str], now: float) -> list[Finding]:
    directory = cache_dir.cache_directory(environ)
    problem = private_files.directory_problem(directory)
    if problem:
        return [
            Finding(
                "cache",
                "problem",
                f"{directory} {problem}: tokens are not cached, every kubectl command exchanges",
                cache_dir.cache_directory_fix(directory),
            )
        ]
    if not Path(directory).is_dir():
        return [Finding("cache", "ok", f"{directory} (created on first use)")]
    mode = stat.S_IMODE(Path(directory).stat().st_mode)
    entries = [e for _, e in cache_files.iter_entries(directory) if e is not None]
    fresh = sum(e.fresh(now) for e in entries)
    tokens = f"{len(entries)} token{'s' if len(entries) != 1 else ''}"
    findings = [Finding("cache", "ok", f"{directory} (mode {mode:04o}; {tokens}, {fresh} fresh)")]
    for stem in cache_files.stems_in(directory):
        failure = failures.read_failure(directory, stem, now)
        if failure is not None:  # kubectl's retries get this again instead of a new exchange
            message = " ".join(failure.message.split()).removeprefix("rgpu-exec: ")
            findings.append(
                Finding(
                    "cache",
                    "note",
                    f"a failure is replayed to kubectl for {max(failure.until - now, 0):.0f} s "
                    f"more: {message}",
                    "`rgpu-exec cache clear` forgets it (the findings below say whether it "
                    "still happens)",
                )
            )
    return findings


def kubectl_findings(environ: Mapping[str, str]) -> list[Finding]:
    import subprocess  # noqa: PLC0415  # stdlib, but ~5 ms: kept off `rgpu-exec --help`

    kubectl = shutil.which("kubectl", path=settings.search_path(environ))
    if kubectl is None:
        return [
            Finding(
                "kubectl",
                "problem",
                "kubectl is not on PATH",
                "install kubectl: https://kubernetes.io/docs/tasks/tools/",
            )
        ]
    try:
        done = subprocess.run(
            [kubectl, "version", "--client", "--output=json"],
            capture_output=True,
            text=True,
            timeout=KUBECTL_TIMEOUT,
            check=False,
            # No kubeconfig: a version dispatcher (gcloud's `kubectl`) would otherwise ask the
            # current context's server for its version, running rgpu-exec and spending a token.
            env={**environ, settings.ENV_KUBECONFIG: os.devnull},
        )
        version = json.loads(done.stdout)["clientVersion"]["gitVersion"]
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError) as exc:
        detail = f"{kubectl} does not run ({type(exc).__name__})"
        return [Finding("kubectl", "problem", detail, "reinstall kubectl")]
    found = {"path": kubectl, "version": str(version)}
    return [Finding("kubectl", "ok", f"{kubectl} ({version})", None, "kubectl-found", found)]
