"""Read a kubeconfig downloaded from the RemoteGPU console (shape: docs/api-contract.md), as
the file the console downloads or as the console API's JSON answer that wraps it.

It holds one cluster (server, CA data), one context (`namespace: <name>`) and one user whose
exec stanza runs `sh -c "curl ... <api>/v1/kubernetes/namespaces/<id>/exec-credential"`. We
take the server, CA, namespace name, namespace ID and API base URL from it; the curl stanza
itself is not copied (it has no cache and calls the API before every kubectl command).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rgpu_exec.contract import EXCHANGE_PATH
from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath.settings import looks_like_uuid
from rgpu_exec.kubeconfig import entries
from rgpu_exec.kubeconfig.document import Document

if TYPE_CHECKING:
    from typing import BinaryIO

_URL = re.compile(r"https?://[^\s\"'<>]+")
# What to do about a console file that is not a kubeconfig at all (cut short, edited, HTML).
SOURCE_FIX = (
    "Download it again from the console's namespace page and import that file; nothing was changed."
)
_EXCHANGE = re.compile(
    re.escape(EXCHANGE_PATH).replace(re.escape("{namespace_id}"), "(?P<id>[^/]+)") + "$"
)


@dataclass(frozen=True)
class ConsoleKubeconfig:
    server: str
    ca_data: str | None
    namespace: str
    namespace_id: str
    api_url: str
    # Where it was read from, for messages (the file that named the server, for one).
    origin: str = field(default="the imported file", compare=False)


def read(path: Path | None, stdin: BinaryIO) -> ConsoleKubeconfig:
    """The facts of a console kubeconfig file (`path`), or of the one on stdin (None)."""
    if path is None:
        where, base = "the kubeconfig on stdin", Path.cwd()
        data = stdin.read()
    else:
        where, base = str(path), path.parent
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(
                f"cannot read {path} ({exc.strerror or exc}). Check the file name, or download "
                "the kubeconfig again from the console's namespace page; nothing was changed."
            ) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{where} is not UTF-8 text (byte {exc.start}), so not a kubeconfig from the "
            f"console. {SOURCE_FIX}"
        ) from None
    return parse(text, where, base)


def unwrap(text: str, where: str) -> tuple[str, str]:
    """The kubeconfig text, also out of the console API's JSON answer
    (`{"namespace", "filename", "kubeconfig"}`, what `curl …/kubeconfig` prints); and where it
    was read from, for messages. Anything else is taken as the kubeconfig itself."""
    if not text.lstrip().startswith("{"):
        return text, where
    try:
        answer = json.loads(text)
    except ValueError:
        return text, where  # not JSON: the YAML reader says what is wrong with it
    inner = answer.get("kubeconfig") if isinstance(answer, dict) else None
    if not isinstance(inner, str) or "clusters" in answer:
        return text, where  # a kubeconfig written as JSON
    return inner, f"{where} (the console API's JSON answer)"


def parse(text: str, where: str, base_dir: Path) -> ConsoleKubeconfig:
    text, where = unwrap(text, where)
    doc = Document.parse(text, where, fix=SOURCE_FIX)
    context = _the_context(doc, where)
    body = context.get("context") or {}
    cluster = doc.find("cluster", str(body.get("cluster", "")))
    user = doc.find("user", str(body.get("user", "")))
    if cluster is None or user is None:
        raise _not_console(where, f"context {context['name']!r} names a missing cluster or user")
    namespace = body.get("namespace")
    if not isinstance(namespace, str) or not namespace:
        raise _not_console(where, f"context {context['name']!r} has no namespace")
    cluster_body = cluster.get("cluster") or {}
    server = cluster_body.get("server")
    if not isinstance(server, str) or not server:
        raise _not_console(where, f"cluster {cluster['name']!r} has no server")
    api_url, namespace_id = _exchange_target(user.get("user") or {}, where)
    return ConsoleKubeconfig(
        server=server,
        ca_data=_ca_data(cluster_body, base_dir),
        namespace=namespace,
        namespace_id=namespace_id,
        api_url=api_url,
        origin=where,
    )


def _the_context(doc: Document, where: str) -> dict[str, Any]:
    contexts = doc.items("context")
    chosen = doc.find("context", doc.current_context) if doc.current_context else None
    if chosen is None and len(contexts) == 1:
        chosen = contexts[0]
    if chosen is None:
        found = ", ".join(repr(c["name"]) for c in contexts) or "none"
        raise _not_console(where, f"expected one context (or a current-context), found {found}")
    return chosen


def exchange_target(user: Any) -> tuple[str, str] | None:
    """(API base URL, namespace ID) of a user (the body under `user:`) whose exec stanza calls
    the RemoteGPU exchange endpoint itself, as the console's curl stanza does; else None."""
    exec_ = user.get("exec") if isinstance(user, dict) else None
    if not isinstance(exec_, dict):
        return None
    args = exec_.get("args")
    args = args if isinstance(args, list) else []
    words = [str(exec_.get("command", "")), *(str(a) for a in args)]
    for word in words:
        for url in _URL.findall(word):
            match = _EXCHANGE.search(url.split("?", 1)[0])
            if match and looks_like_uuid(match.group("id")):
                return url[: match.start()].rstrip("/"), match.group("id")
    return None


# What the console's stanza runs (docs/api-contract.md): `sh -c "curl … <exchange URL>"`, one
# curl command. A script with more in it (`;`, `&&`, a pipe, a substitution) is someone's own.
_NOT_ONE_COMMAND = (";", "&", "|", "`", "$(", "<", ">", "\n")


def console_stanza_target(user: Any) -> tuple[str, str] | None:
    """`exchange_target`, only for a stanza of the console's own shape: `sh -c` and one curl
    command that calls the exchange. A user's own command line that merely contains the
    exchange URL is not the console's, and `import --replace` leaves it alone."""
    exec_ = user.get("exec") if isinstance(user, dict) else None
    if not isinstance(exec_, dict) or not isinstance(exec_.get("command"), str):
        return None
    args = exec_.get("args")
    if Path(exec_["command"]).name != "sh" or not isinstance(args, list) or len(args) != 2:  # noqa: PLR2004
        return None
    option, script = args
    if option != "-c" or not isinstance(script, str) or not script.strip().startswith("curl "):
        return None
    if any(mark in script for mark in _NOT_ONE_COMMAND):
        return None
    return exchange_target({"exec": {"args": [script]}})


def _exchange_target(user: dict[str, Any], where: str) -> tuple[str, str]:
    found = exchange_target(user)
    if found is not None:
        return found
    raise _not_console(
        where,
        "its user's exec stanza does not call the RemoteGPU exchange endpoint "
        f"({EXCHANGE_PATH.format(namespace_id='<namespace-id>')})",
    )


def _ca_data(cluster: dict[str, Any], base_dir: Path) -> str | None:
    data = cluster.get("certificate-authority-data")
    if isinstance(data, str) and data.strip():
        return "".join(data.split())
    path = cluster.get("certificate-authority")
    if isinstance(path, str) and path:
        try:
            raw = entries.read_small_file(base_dir / path, "certificate authority file")
        except UsageError as exc:
            raise UsageError(
                f"{exc.message.rstrip('.')}, named by the console kubeconfig. Put the CA file "
                "there, or download the kubeconfig again from the console's namespace page (it "
                "holds the CA inline); nothing was changed."
            ) from exc
        certificates = entries.certificates_only(raw)
        if certificates is None:
            raise UsageError(
                f"{path}, named by the console kubeconfig as its certificate authority, holds no "
                "PEM certificate. Download the kubeconfig again from the console's namespace page "
                "(it holds the CA inline); nothing was changed."
            )
        return base64.b64encode(certificates).decode("ascii")
    return None


def _not_console(where: str, problem: str) -> UsageError:
    return UsageError(
        f"{where} does not look like a kubeconfig from the RemoteGPU console: {problem}. "
        "Download it again from the console's namespace page, or use `rgpu-exec kubeconfig "
        "generate` with --namespace, --namespace-id and --server."
    )
