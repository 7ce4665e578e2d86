"""`rgpu-exec doctor`: one screen that answers "why doesn't kubectl work?".

Checks, in order: the API key (source and prefix), the keyring backend, the cache directory, the
API (reachable, and clock skew from its `Date` header), kubectl, the kubeconfig contexts that use
rgpu-exec, and kuberc's credential plugin policy. Each problem comes with its fix.

The API check is one GET of the API's base URL without the key: any HTTP answer proves the
network path, TLS trust and proxy settings, and its `Date` gives the skew. It spends no exchange
(and no rate limit); `rgpu-exec check` is the command that tries the key itself.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rgpu_exec import command_support, settings
from rgpu_exec.errors import ExitCode

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import httpx

EXIT_PROBLEMS_FOUND = ExitCode.PROBLEMS_FOUND
_EXIT_CODES = f"""\
  0  no problem found
  {EXIT_PROBLEMS_FOUND}  at least one problem found (each is listed with its fix)
"""
SKEW_NOTE_SECONDS = 30.0
SKEW_PROBLEM_SECONDS = 300.0
PROBE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Finding:
    topic: str
    status: str  # ok | note | problem
    detail: str
    fix: str | None = None


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="diagnose why kubectl cannot get RemoteGPU credentials",
        description="Check the API key, keyring, token cache, API reachability and clock, kubectl, "
        "the kubeconfig contexts that use rgpu-exec and kuberc's plugin policy; print each problem "
        "with its fix. Makes one GET of the API base URL without the key (no exchange).",
        epilog=command_support.epilog(
            "rgpu-exec doctor",
            "rgpu-exec doctor --profile ci --output json",
            exit_codes=_EXIT_CODES,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--kubeconfig", help="inspect this kubeconfig file only (as kubectl does)")
    parser.add_argument("--output", "-o", choices=("text", "json"), default="text")
    command_support.add_api_url(parser)
    command_support.add_profile(parser, "keyring profile to look for a key under")
    parser.set_defaults(func=_run)


def key_findings(environ: Mapping[str, str], profile: str) -> list[Finding]:
    from rgpu_exec import keyring_store  # noqa: PLC0415
    from rgpu_exec.login_command import looks_like_key  # noqa: PLC0415
    from rgpu_exec.redact import key_prefix  # noqa: PLC0415

    env_key = settings.api_key(environ)
    stored = keyring_store.get_key(profile)
    if env_key is not None:
        findings = [Finding("API key", "ok", f"{settings.ENV_API_KEY}: {key_prefix(env_key)}")]
        if not looks_like_key(env_key) or any(c.isspace() for c in env_key):
            findings = [
                Finding(
                    "API key",
                    "problem",
                    f"{settings.ENV_API_KEY} ({key_prefix(env_key)}) does not look like a "
                    "RemoteGPU API key",
                    "copy the whole key again (rgpu_, 8 hex characters, _, 32 characters)",
                )
            ]
        if stored:
            findings.append(
                Finding(
                    "API key",
                    "note",
                    f"the keyring also holds {key_prefix(stored)} for profile {profile!r}; "
                    f"{settings.ENV_API_KEY} wins while it is set",
                )
            )
        return findings
    if stored:
        return [Finding("API key", "ok", f"keyring, profile {profile!r}: {key_prefix(stored)}")]
    return [
        Finding(
            "API key",
            "problem",
            f"no key: {settings.ENV_API_KEY} is unset and the keyring holds none for profile "
            f"{profile!r}",
            f"run `rgpu-exec login --profile {profile}`, or export {settings.ENV_API_KEY}",
        )
    ]


def keyring_findings(environ: Mapping[str, str]) -> list[Finding]:
    from rgpu_exec import keyring_store  # noqa: PLC0415

    name = keyring_store.backend_name()
    problem = keyring_store.backend_problem(environ)
    if problem is None:
        return [Finding("keyring", "ok", name)]
    if settings.api_key(environ) is not None:
        return [Finding("keyring", "note", f"{problem}; fine, the key comes from the environment")]
    return [
        Finding(
            "keyring",
            "problem",
            problem,
            f"on a server or in CI export {settings.ENV_API_KEY}; on a desktop unlock or install "
            "a keyring, then `rgpu-exec login`",
        )
    ]


def cache_findings(environ: Mapping[str, str], now: float) -> list[Finding]:
    import stat  # noqa: PLC0415

    from rgpu_exec import token_cache  # noqa: PLC0415

    directory = command_support.cache_directory(environ)
    problem = token_cache.directory_problem(directory)
    if problem:
        return [
            Finding(
                "cache",
                "problem",
                f"{directory} {problem}: tokens are not cached, every kubectl command exchanges",
                f"chmod 700 {directory} (and make it yours), or set {settings.ENV_CACHE_DIR} to a "
                "private directory",
            )
        ]
    if not Path(directory).is_dir():
        return [Finding("cache", "ok", f"{directory} (created on first use)")]
    mode = stat.S_IMODE(Path(directory).stat().st_mode)
    entries = [e for _, e in token_cache.iter_entries(directory) if e is not None]
    fresh = sum(e.fresh(now) for e in entries)
    tokens = f"{len(entries)} token{'s' if len(entries) != 1 else ''}"
    return [Finding("cache", "ok", f"{directory} (mode {mode:04o}; {tokens}, {fresh} fresh)")]


def api_findings(
    api_url: str,
    environ: Mapping[str, str],
    clock: Callable[[], float] = time.time,
    transport: httpx.BaseTransport | None = None,
) -> list[Finding]:
    import httpx  # noqa: PLC0415

    from rgpu_exec.errors import UsageError  # noqa: PLC0415
    from rgpu_exec.exchange import Exchanger  # noqa: PLC0415

    exchanger = Exchanger(api_url, "", environ, transport=transport)
    started = clock()
    try:
        with exchanger.client() as client:  # the exchange's TLS trust and proxies
            response = client.get(api_url + "/", timeout=PROBE_TIMEOUT)
    except UsageError as exc:
        return [Finding("API", "problem", exc.message)]
    except httpx.TransportError as exc:
        # The exchange's own wording: it names the fix (proxy, CA bundle, API URL).
        return [Finding("API", "problem", exchanger.transport_failure(exc).message)]
    finished = clock()
    reached = (
        f"{api_url} answered (HTTP {response.status_code}, {(finished - started) * 1000:.0f} ms)"
    )
    server = _server_date(response.headers.get("date"))
    if server is None:
        return [
            Finding("API", "ok", reached),
            Finding("clock", "note", "no Date header: skew unknown"),
        ]
    skew = (started + finished) / 2 - server
    ahead = f"{abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the API's"
    findings = [Finding("API", "ok", reached)]
    if abs(skew) >= SKEW_PROBLEM_SECONDS:
        findings.append(
            Finding(
                "clock",
                "problem",
                f"this machine's clock is {ahead}: TLS certificate checks may fail",
                "turn on time synchronisation (NTP), e.g. `timedatectl set-ntp true`",
            )
        )
    elif abs(skew) >= SKEW_NOTE_SECONDS:
        findings.append(Finding("clock", "note", f"clock {ahead}; rgpu-exec corrects for it"))
    else:
        findings.append(Finding("clock", "ok", f"within {SKEW_NOTE_SECONDS:.0f} s of the API's"))
    return findings


def _server_date(value: str | None) -> float | None:
    from email.utils import parsedate_to_datetime  # noqa: PLC0415

    try:
        parsed = parsedate_to_datetime(value or "")
    except (TypeError, ValueError):
        return None
    return parsed.timestamp() if parsed.tzinfo else None


def kubectl_findings(environ: Mapping[str, str]) -> list[Finding]:
    import json  # noqa: PLC0415
    import shutil  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    kubectl = shutil.which("kubectl", path=environ.get("PATH", os.defpath))
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
            capture_output=True, text=True, timeout=15, check=False,
            # No kubeconfig: a version dispatcher (gcloud's `kubectl`) would otherwise ask the
            # current context's server for its version, running rgpu-exec and spending a token.
            env={**environ, settings.ENV_KUBECONFIG: os.devnull},
        )  # fmt: skip
        version = json.loads(done.stdout)["clientVersion"]["gitVersion"]
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError) as exc:
        return [Finding("kubectl", "problem", f"{kubectl} does not run ({type(exc).__name__})",
                        "reinstall kubectl")]  # fmt: skip
    return [Finding("kubectl", "ok", f"{kubectl} ({version})")]


def diagnose(args: argparse.Namespace, environ: Mapping[str, str]) -> list[Finding]:
    from rgpu_exec import doctor_kube  # noqa: PLC0415
    from rgpu_exec.errors import UsageError  # noqa: PLC0415

    findings: list[Finding] = []
    try:
        profile = command_support.profile(args.profile, environ)
    except UsageError as exc:
        findings.append(Finding("API key", "problem", exc.message))
    else:
        findings += key_findings(environ, profile)
    findings += keyring_findings(environ)
    findings += cache_findings(environ, time.time())
    try:
        api_url = command_support.api_url(args.api_url, environ)
    except UsageError as exc:
        findings.append(Finding("API", "problem", exc.message))
    else:
        findings += api_findings(api_url, environ)
    findings += kubectl_findings(environ)
    kube, commands = doctor_kube.kubeconfig_findings(args.kubeconfig, environ)
    findings += kube
    findings += doctor_kube.kuberc_findings(environ, commands)
    return findings


def render_text(findings: list[Finding], colour: bool) -> str:
    paint = command_support.paint
    tones = {"ok": "green", "note": "yellow", "problem": "red"}
    width = max(len(f.topic) for f in findings)
    lines = []
    for f in findings:
        label = paint(
            f"{f.status.upper() if f.status == 'problem' else f.status:<8}", tones[f.status], colour
        )
        lines.append(f"{label} {f.topic:<{width}}  {f.detail}")
        if f.fix:
            lines.append(f"{'':<8} {'':<{width}}  fix: {f.fix}")
    problems = sum(f.status == "problem" for f in findings)
    verdict = "no problems found" if not problems else f"{problems} problem(s) found"
    return "\n".join([*lines, "", f"rgpu-exec doctor: {verdict}.", ""])


def _run(args: argparse.Namespace) -> int:
    import json  # noqa: PLC0415

    environ = os.environ
    findings = diagnose(args, environ)
    problems = any(f.status == "problem" for f in findings)
    if args.output == "json":
        document = {"ok": not problems, "findings": [asdict(f) for f in findings]}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write(render_text(findings, command_support.colour_on(sys.stdout, environ)))
    return EXIT_PROBLEMS_FOUND if problems else 0
