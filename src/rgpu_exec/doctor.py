"""`rgpu-exec doctor`: one screen that answers "why doesn't kubectl work?".

Checks, in order: the API key (source and prefix), the keyring backend, the settings `token`
refuses to run with (deadline, API URL, CA bundles), the cache directory (and failures it is
replaying), each API (reachable, and clock skew from its `Date` header), kubectl, the kubeconfig
contexts that use rgpu-exec, kuberc's credential plugin policy, and finally whether the current
context's key may use its namespace. Each problem comes with its fix.

The API checks are one GET of each API base URL the environment and the rgpu-exec contexts use,
without the key: any HTTP answer proves the network path, TLS trust and proxy settings, and its
`Date` gives the skew. The access check is one exchange for the current context only (so the
cost stays at one, however many contexts there are), done by `check`'s code: the token cache is
neither read nor written, and the token is dropped unseen.
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

    from rgpu_exec import doctor_kube
    from rgpu_exec.doctor_kube import PluginContext

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
        description="Check the API key, keyring, settings, token cache, API reachability and "
        "clock, kubectl, the kubeconfig contexts that use rgpu-exec and kuberc's plugin policy, "
        "then whether the current context's key may use its namespace; print each problem with "
        "its fix. Makes one keyless GET of each API base URL in use, and spends one exchange "
        "(for the current context, when it uses rgpu-exec; the token cache is not touched and "
        "the token is never shown).",
        epilog=command_support.epilog(
            "rgpu-exec doctor",
            "rgpu-exec doctor --profile ci --output json",
            exit_codes=_EXIT_CODES,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--kubeconfig", metavar="PATH", help="inspect this kubeconfig file only (as kubectl does)"
    )
    command_support.add_output(parser, '{"ok", "findings": [{"topic", "status", "detail", "fix"}]}')
    command_support.add_api_url(parser)
    command_support.add_profile(parser, "keyring profile to look for a key under")
    parser.set_defaults(func=_run)


def key_findings(
    environ: Mapping[str, str], profile: str, *, keyring_usable: bool = True
) -> list[Finding]:
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
            _no_key_fix(profile, keyring_usable),
        )
    ]


def _no_key_fix(profile: str, keyring_usable: bool) -> str:
    if keyring_usable:
        return f"run `rgpu-exec login --profile {profile}`, or export {settings.ENV_API_KEY}"
    return (
        f"export {settings.ENV_API_KEY} (on a server or in CI, from its secret store): this "
        "machine has no usable OS keyring to keep a key in"
    )


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


def settings_findings(
    environ: Mapping[str, str], api_url_flag: str | None = None, where: str = ""
) -> list[Finding]:
    """The settings `rgpu-exec token` refuses to run with: each one fails every kubectl command."""
    findings: list[Finding] = []

    def problem(detail: str, fix: str) -> None:
        findings.append(Finding("settings", "problem", detail + where, fix))

    deadline = settings.deadline(environ)
    if deadline is None:
        problem(
            f"{settings.ENV_DEADLINE}={environ.get(settings.ENV_DEADLINE)!r} is not a number of "
            "seconds between 0.1 and 300, so `rgpu-exec token` refuses to run",
            f"unset {settings.ENV_DEADLINE} (default {settings.DEFAULT_DEADLINE:.0f} s), or set "
            "it to a number of seconds such as 30",
        )
    api_url = settings.api_url(api_url_flag, environ)
    url_problem = settings.url_problem(api_url)
    if url_problem:
        source = "--api-url" if api_url_flag else settings.ENV_API_URL
        problem(
            f"the API URL {api_url!r} ({source}) {url_problem}, so `rgpu-exec token` refuses it",
            f"set {source} to the https:// URL of the RemoteGPU API (or unset "
            f"{settings.ENV_API_URL} for {settings.DEFAULT_API_URL})",
        )
    for variable, purpose in _CA_FILES:
        path = environ.get(variable)
        trouble = _pem_problem(path) if path else None
        if trouble:
            problem(
                f"{variable} names {path}, which {trouble}, so no exchange can be made",
                f"point {variable} at {purpose}, or unset it",
            )
    if not findings:
        detail = f"API URL {api_url}, exchange deadline {deadline:g} s"
        bundle = environ.get(settings.ENV_CA_BUNDLE)
        findings.append(
            Finding("settings", "ok", detail + (f", CA bundle {bundle}" if bundle else "") + where)
        )
    return findings


_CA_FILES = (
    (
        settings.ENV_CA_BUNDLE,
        "the PEM file of the private CA that signed the API's certificate (only for a private CA)",
    ),
    (
        settings.ENV_SSL_CERT_FILE,
        "a PEM bundle of the CAs to trust (a TLS-inspecting proxy's, for example)",
    ),
)


_CA_VARIABLES = tuple(f"{variable} " for variable, _ in _CA_FILES)


def _pem_problem(path: str) -> str | None:
    """Why this CA bundle cannot be loaded, or None."""
    import ssl  # noqa: PLC0415

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
                command_support.cache_directory_fix(directory),
            )
        ]
    if not Path(directory).is_dir():
        return [Finding("cache", "ok", f"{directory} (created on first use)")]
    mode = stat.S_IMODE(Path(directory).stat().st_mode)
    entries = [e for _, e in token_cache.iter_entries(directory) if e is not None]
    fresh = sum(e.fresh(now) for e in entries)
    tokens = f"{len(entries)} token{'s' if len(entries) != 1 else ''}"
    findings = [Finding("cache", "ok", f"{directory} (mode {mode:04o}; {tokens}, {fresh} fresh)")]
    for stem in token_cache.stems_in(directory):
        failure = token_cache.read_failure(directory, stem, now)
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


def api_findings(
    api_url: str,
    environ: Mapping[str, str],
    clock: Callable[[], float] = time.time,
    transport: httpx.BaseTransport | None = None,
    *,
    source: str | None = None,
    name_in_clock: bool = False,
    ca_reported: bool = False,
) -> list[Finding]:
    """One keyless GET of the API's base URL: reachable? and the clock skew from its `Date`.

    `source` says where the URL comes from, for the fix; `name_in_clock` names the API in the
    clock finding (when several APIs are probed); `ca_reported`: a CA bundle that does not load
    is already listed (so it is not listed again).
    """
    import httpx  # noqa: PLC0415

    from rgpu_exec.errors import UsageError  # noqa: PLC0415
    from rgpu_exec.exchange import Exchanger  # noqa: PLC0415

    source = source or f"--api-url or {settings.ENV_API_URL}"
    exchanger = Exchanger(api_url, "", environ, transport=transport)
    started = clock()
    try:
        with exchanger.client() as client:  # the exchange's TLS trust and proxies
            response = client.get(api_url + "/", timeout=PROBE_TIMEOUT)
    except UsageError as exc:  # the CA certificates do not load
        if ca_reported:
            return [
                Finding("API", "note", f"{api_url} not probed: fix the CA settings above first")
            ]
        fix = f"fix {settings.ENV_CA_BUNDLE}, {settings.ENV_SSL_CERT_FILE} or "
        return [Finding("API", "problem", exc.message, fix + f"{settings.ENV_SSL_CERT_DIR}")]
    except httpx.TransportError as exc:
        # The exchange's own wording, which names the likely cause.
        failure = exchanger.transport_failure(exc)
        fix = (
            f"point {settings.ENV_SSL_CERT_FILE} at your proxy's CA bundle, or set "
            f"{settings.ENV_CA_BUNDLE} for a private API CA"
            if _untrusted(exc)
            else f"check your network and proxy settings (HTTPS_PROXY, NO_PROXY), and that "
            f"{api_url} ({source}) is the RemoteGPU API"
        )
        return [Finding("API", "problem", failure.message, fix)]
    finished = clock()
    reached = (
        f"{api_url} answered (HTTP {response.status_code}, {(finished - started) * 1000:.0f} ms)"
    )
    api = f" ({api_url})" if name_in_clock else ""
    server = _server_date(response.headers.get("date"))
    if server is None:
        return [
            Finding("API", "ok", reached),
            Finding("clock", "note", f"no Date header{api}: skew unknown"),
        ]
    skew = (started + finished) / 2 - server
    ahead = f"{abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the API's{api}"
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
        findings.append(
            Finding("clock", "ok", f"within {SKEW_NOTE_SECONDS:.0f} s of the API's{api}")
        )
    return findings


def _untrusted(exc: BaseException) -> bool:
    import ssl  # noqa: PLC0415

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


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


def access_findings(
    report: doctor_kube.KubeReport,
    environ: Mapping[str, str],
    *,
    listed: list[Finding],
    unreachable: set[str],
    profile: str | None,
) -> list[Finding]:
    """One exchange for the current context, as kubectl would make it: allowed, denied, or why not.

    `listed`: the findings so far (a problem already listed is not listed again); `unreachable`:
    API URLs whose probe failed (no exchange is tried there); `profile`: the doctor's profile.
    """
    from rgpu_exec.api_key import find_api_key  # noqa: PLC0415
    from rgpu_exec.errors import ApiKeyError, UsageError  # noqa: PLC0415

    def note(detail: str) -> list[Finding]:
        return [Finding("access", "note", detail)]

    name = report.current_context
    context = report.current
    if name is None:
        return (
            note("no current-context in the kubeconfig: no exchange tried")
            if report.contexts
            else []
        )
    if context is None:
        return note(f"the current context {name!r} does not use rgpu-exec: no exchange tried")
    where = f"context {name!r}"
    if not context.exchangeable:
        return note(f"not tried for {where}: fix its exec stanza first (above)")
    own = [
        f for f in settings_findings(context.environ, context.call.api_url) if f.status == "problem"
    ]
    if own:
        details = {f.detail for f in listed}
        new = [
            Finding(f.topic, f.status, f"{f.detail} (in {where}'s exec env)", f.fix)
            for f in own
            if f.detail not in details
        ]
        return new or note(f"not tried for {where}: fix the settings above first")
    if context.api_url in unreachable:
        return note(f"not tried for {where}: the API at {context.api_url} did not answer (above)")
    context_profile = settings.profile(context.call.profile, context.environ)
    try:
        key = find_api_key(context.environ, context_profile, interactive=False)
    except ApiKeyError:
        same = context_profile == profile and settings.api_key(context.environ) == (
            settings.api_key(environ)
        )
        if same and any(f.topic == "API key" and f.status == "problem" for f in listed):
            return note(f"not tried for {where}: no API key (above)")
        return [
            Finding(
                "access",
                "problem",
                f"{where} uses keyring profile {context_profile!r}, which holds no key, and "
                f"{settings.ENV_API_KEY} is unset",
                _no_key_fix(context_profile, _keyring_usable(environ)),
            )
        ]
    except UsageError as exc:  # a key with spaces or control characters in it
        fix = _new_key_fix(None, context_profile)
        return [Finding("access", "problem", f"{where}: {exc.message}", fix)]
    return _exchange_findings(context, key.value, key.source, context_profile)


def _exchange_findings(
    context: PluginContext, key: str, source: str, profile: str
) -> list[Finding]:
    from rgpu_exec import api_contract, check_command  # noqa: PLC0415
    from rgpu_exec.errors import ApiError, ApiKeyError, UsageError  # noqa: PLC0415
    from rgpu_exec.redact import key_prefix  # noqa: PLC0415

    namespace_id = str(context.call.namespace_id)
    prefix = key_prefix(key)
    whose = f"{prefix} ({_source(source, profile)})"
    where = f"context {context.name!r}"
    target = check_command.Target(namespace_id, None, context.name)
    try:
        (result,) = check_command.check([target], context.api_url, key, context.environ)
    except ApiKeyError as exc:
        return [
            Finding("access", "problem", f"{where}: {exc.message}", _new_key_fix(source, profile))
        ]
    except ApiError as exc:
        fix = (
            "check your network and proxy settings (HTTPS_PROXY, NO_PROXY), and the API URL "
            f"{context.api_url}; then run `rgpu-exec doctor` again"
        )
        return [Finding("access", "problem", f"{where}: {exc.message}", fix)]
    except UsageError as exc:
        return [Finding("access", "problem", f"{where}: {exc.message}", "fix the settings above")]
    http = f"HTTP {result.status}: {result.reason}"
    if result.result == "allowed":
        lifetime = check_command.duration(result.lifetime_seconds)
        detail = (
            f"{where}: the key {whose} may use namespace {namespace_id} (a token for {lifetime}; "
            "one exchange spent, nothing cached)"
        )
        return [Finding("access", "ok", detail)]
    if result.result == "denied":
        return [
            Finding(
                "access",
                "problem",
                f"{where}: the key {whose} may not use namespace {namespace_id} ({http})",
                f"add the namespace to the key's kubernetes_exec scope in "
                f"{api_contract.KEYS_CONSOLE_PAGE}, or use a key whose scope covers it",
            )
        ]
    if result.result == "not_found":
        return [
            Finding(
                "access",
                "problem",
                f"{where}: namespace {namespace_id} does not exist in the account of the key "
                f"{whose} ({http})",
                "check the --namespace-id in the context's exec args against the console, and "
                "that the key belongs to the account that owns the namespace",
            )
        ]
    return [
        Finding(
            "access",
            "problem",
            f"{where}: the RemoteGPU API at {context.api_url} answered an error ({http})",
            "try again in a minute; if it persists, check that the API URL is the RemoteGPU API",
        )
    ]


def _source(source: str, profile: str) -> str:
    return settings.ENV_API_KEY if source == "env" else f"keyring profile {profile!r}"


def _new_key_fix(source: str | None, profile: str) -> str:
    from rgpu_exec import api_contract  # noqa: PLC0415

    where = (
        f"put it in {settings.ENV_API_KEY}"
        if source == "env"
        else f"store it with `rgpu-exec login --profile {profile}`"
    )
    return f"create a key with Kubernetes access in {api_contract.KEYS_CONSOLE_PAGE}, then {where}"


def _keyring_usable(environ: Mapping[str, str]) -> bool:
    from rgpu_exec import keyring_store  # noqa: PLC0415

    return keyring_store.backend_problem(environ) is None


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
    given = bool(flag or environ.get(settings.ENV_API_URL, "").strip())
    relied_on = any(c.call.api_url is None for c in contexts)
    if not settings.url_problem(default) and (given or relied_on or not contexts):
        urls[default] = f"--api-url or {settings.ENV_API_URL}"
    for context in contexts:
        usable = context.exchangeable and not settings.url_problem(context.api_url)
        if usable and context.api_url not in urls:
            urls[context.api_url] = f"context {context.name!r}"
    return list(urls.items())


def diagnose(args: argparse.Namespace, environ: Mapping[str, str]) -> list[Finding]:
    from rgpu_exec import doctor_kube  # noqa: PLC0415
    from rgpu_exec.errors import UsageError  # noqa: PLC0415

    findings: list[Finding] = []
    keyring_usable = _keyring_usable(environ)
    profile: str | None = None
    try:
        profile = command_support.profile(args.profile, environ)
    except UsageError as exc:
        source = "--profile" if args.profile else settings.ENV_PROFILE
        fix = f"set {source} to 1-64 letters, digits, '.', '_' or '-'"
        findings.append(Finding("API key", "problem", exc.message.rstrip("."), fix))
    else:
        findings += key_findings(environ, profile, keyring_usable=keyring_usable)
    findings += keyring_findings(environ)
    settings_found = settings_findings(environ, args.api_url)
    findings += settings_found
    findings += cache_findings(environ, time.time())
    report = doctor_kube.inspect(args.kubeconfig, environ)
    unreachable: set[str] = set()
    urls = api_urls(args.api_url, environ, report.contexts)
    ca_reported = any(f.detail.startswith(_CA_VARIABLES) for f in settings_found)
    for url, source in urls:
        probed = api_findings(
            url, environ, source=source, name_in_clock=len(urls) > 1, ca_reported=ca_reported
        )
        if probed[0].status != "ok":
            unreachable.add(url)
        findings += probed
    findings += kubectl_findings(environ)
    findings += report.findings
    findings += doctor_kube.kuberc_findings(environ, report.commands)
    findings += access_findings(
        report, environ, listed=findings, unreachable=unreachable, profile=profile
    )
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
