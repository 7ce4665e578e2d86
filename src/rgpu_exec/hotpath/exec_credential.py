"""The ExecCredential kubectl reads from our stdout, and the exec info it hands us.

Standard library only, and no `json`: the cache-hit path imports this module. It recognises
kubectl's usual exec info by heart, and reads any other well-formed one with a small, strict
scanner (`exec_info_scan`) that gives up wherever it could disagree with the full parser.
"""

import os
import sys
import time

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"
SUPPORTED_API_VERSIONS = (V1, V1BETA1)
# The exec stanza's interactiveMode values kubectl accepts (required with v1).
INTERACTIVE_MODES = ("Never", "IfAvailable", "Always")
KIND = "ExecCredential"
# JSON's whitespace (RFC 8259), and nothing else: what may surround the exec info.
JSON_SPACE = " \t\n\r"
# The exit code when the reader of stdout went away (as shells report SIGPIPE: 128 + 13).
OUTPUT_GONE = 141


def _kubectl_exec_info(api_version: str, interactive: bool) -> str:
    # What kubectl (client-go's JSON encoder) puts in KUBERNETES_EXEC_INFO when the stanza has no
    # provideClusterInfo, less the newline the encoder ends it with. Anything else goes through
    # the full JSON parser.
    spec = "true" if interactive else "false"
    return f'{{"kind":"{KIND}","apiVersion":"{api_version}","spec":{{"interactive":{spec}}}}}'


_KNOWN_EXEC_INFO = {
    _kubectl_exec_info(version, interactive): (version, interactive)
    for version in SUPPORTED_API_VERSIONS
    for interactive in (False, True)
}


def recognise_exec_info(raw: "str | None") -> "tuple[str, bool] | None":
    """(apiVersion, interactive) from KUBERNETES_EXEC_INFO, else None.

    Unset, empty or blank (lightkube, kr8s, a manual run) means v1, not interactive. kubectl's
    usual forms are known by heart; anything else is read by `exec_info_scan.scan_exec_info`,
    which answers only when it is sure. None means "parse it properly" (see
    `exec_info.parse_exec_info`), never "invalid".
    """
    raw = raw.strip(JSON_SPACE) if raw else raw
    if not raw:
        return V1, False
    known = _KNOWN_EXEC_INFO.get(raw)
    if known is not None:
        return known
    # Only for exec info kubectl does not usually send: kubectl's own forms skip loading it.
    from rgpu_exec.hotpath.exec_info_scan import scan_exec_info  # noqa: PLC0415

    scanned = scan_exec_info(raw)
    if scanned is None:
        return None
    api_version, kind, interactive = scanned
    if api_version not in SUPPORTED_API_VERSIONS or kind not in (None, KIND):
        return None
    return api_version, interactive


def token_is_safe(token: str) -> bool:
    """Visible ASCII with no quote or backslash: safe in an HTTP header and in JSON as is."""
    return (
        bool(token)
        and token.isascii()
        and token.isprintable()
        and " " not in token
        and '"' not in token
        and "\\" not in token
    )


def rfc3339(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def render(api_version: str, token: str, expires_at: float) -> str:
    """The ExecCredential JSON, one line. `token` must pass `token_is_safe`."""
    return (
        f'{{"apiVersion":"{api_version}","kind":"{KIND}",'
        f'"status":{{"token":"{token}","expirationTimestamp":"{rfc3339(expires_at)}"}}}}\n'
    )


def output_gone() -> int:
    """The reader of stdout went away (`… | head -c 10`): point stdout at /dev/null, so that
    Python's own flush at exit does not fail again with a traceback; the exit code to give."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return OUTPUT_GONE
