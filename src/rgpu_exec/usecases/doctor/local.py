"""The checks that need no network: the API key, the keyring, the settings `token` refuses to run
with (deadline, API URL, CA files), the cache directory, and kubectl."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_exec import contract, fixes, output, terminal
from rgpu_exec.cache import directory as cache_dir
from rgpu_exec.cache import files as cache_files
from rgpu_exec.credentials import keyring_store
from rgpu_exec.credentials.key_shape import key_problem, shown_prefix
from rgpu_exec.errors import ApiKeyError, UsageError
from rgpu_exec.hotpath import failures, private_files, request, settings, url_rules
from rgpu_exec.redact import key_prefix
from rgpu_exec.usecases.doctor.findings import Finding
from rgpu_exec.usecases.key_exchange import find_key

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


def key_findings(
    environ: Mapping[str, str],
    profile: str,
    *,
    keyring_usable: bool = True,
    profile_flag: str | None = None,
) -> tuple[list[Finding], str | None]:
    """Which key `token` would use, and from where: found as `token` finds it
    (`key_exchange.find_key`: `--profile` beats the environment; then the keyring, then the
    key file of `login --insecure-storage`). Whether the API accepts it is asked later. Also
    where the key comes from when that is not the keyring (then a missing keyring is fine)."""
    env_key = request.environment_key(profile_flag, environ)
    if env_key is not None and key_problem(env_key):
        return [
            _unusable_key(
                profile,
                f"{settings.ENV_API_KEY}{shown_prefix(env_key)} {key_problem(env_key)}",
                "set it to the key exactly as the console showed it, without quotes or spaces",
            )
        ], None
    try:
        key = find_key(environ, profile_flag)
    except ApiKeyError:
        overridden = settings.api_key(environ) is not None
        detail = (
            f"no key: neither the keyring nor the key file holds one for profile {profile!r}, "
            f"and --profile wins over {settings.ENV_API_KEY}"
            if overridden
            else f"no key: {settings.ENV_API_KEY} is unset, and neither the keyring nor the key "
            f"file holds one for profile {profile!r}"
        )
        return [_unusable_key(profile, detail, no_key_fix(profile, keyring_usable))], None
    except UsageError as exc:  # a stored value that cannot be a key, or a key file not private
        return [_unusable_key(profile, exc.message, new_key_fix(None, profile))], None
    detail = f"key {key_prefix(key.value)} {key.origin}"
    if key.source != "env" and settings.api_key(environ) is not None:
        detail += f" (--profile wins over {settings.ENV_API_KEY}, which is set too)"
    findings = [Finding("API key", "ok", detail)]
    stored = keyring_store.get_key(profile) if key.source == "env" else None
    if stored:
        findings.append(
            Finding(
                "API key",
                "note",
                f"the keyring also holds {key_prefix(stored)} for profile {profile!r}; "
                f"{settings.ENV_API_KEY} wins while it is set (unless --profile is given)",
            )
        )
    return findings, None if key.source == "keyring" else key.origin


def _unusable_key(profile: str, detail: str, fix: str) -> Finding:
    """No key, or none that can be used, for the doctor's profile."""
    return Finding("API key", "problem", detail, fix, "key-unusable", {"profile": profile})


def no_key_fix(profile: str, keyring_usable: bool) -> str:
    if keyring_usable:
        return f"run {_login(profile)}, or export {settings.ENV_API_KEY}"
    return (
        f"export {settings.ENV_API_KEY} (in CI, from its secret store), or on a machine of "
        f"your own {_login(profile, '--insecure-storage')} (a file only you can read): this "
        "machine has no usable OS keyring to keep a key in"
    )


def _login(profile: str, *flags: str) -> str:
    return fixes.command("rgpu-exec", "login", *flags, "--profile", profile)


def keyring_usable(environ: Mapping[str, str]) -> bool:
    return keyring_store.backend_problem(environ) is None


def keyring_findings(environ: Mapping[str, str], key_origin: str | None = None) -> list[Finding]:
    """The keyring backend; a missing one is only a note when the key comes from elsewhere
    (`key_origin`: the environment, or the key file)."""
    name = keyring_store.backend_name()
    problem = keyring_store.backend_problem(environ)
    if problem is None:
        return [Finding("keyring", "ok", name)]
    if key_origin is not None:
        return [Finding("keyring", "note", f"{problem}; fine, the key comes {key_origin}")]
    return [
        Finding(
            "keyring",
            "problem",
            problem,
            f"on a server or in CI export {settings.ENV_API_KEY}; on a desktop unlock or install "
            "a keyring, then `rgpu-exec login`",
        )
    ]


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


def new_key_fix(source: str | None, profile: str) -> str:
    if source == "env":
        where = f"put it in {settings.ENV_API_KEY}"
    elif source == "file" or keyring_store.backend_problem() is not None:
        where = "store it with " + _login(profile, "--insecure-storage")
    else:
        where = "store it with " + _login(profile)
    return f"create a key with Kubernetes access in {contract.KEYS_CONSOLE_PAGE}, then {where}"
