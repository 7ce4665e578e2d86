"""Ask a Kubernetes API server about a token: one cheap authenticated request (a
SelfSubjectAccessReview, what `kubectl auth can-i` sends; every Kubernetes version has it).

Only a well-formed Kubernetes answer counts (`verdict`): a 401 with a `Status` of code 401 is a
rejected token; a 200/201 with a SelfSubjectAccessReview that says `status.allowed` is an
accepted one (allowed or not); a 403 with a `Status` of code 403 is a token it knows (it may not
ask). Anything else (a redirect, a 5xx, an HTML page, garbage, an answer over the gate's cap, no
answer in time) is "could not ask": the caller decides as it would without a cluster to ask.

The token goes only to the server kubectl itself sends it to (the exec info's `spec.cluster`, or
the server `kubeconfig generate` / `import` writes), with that cluster's TLS settings, through
the proxy kubectl would use (`kube.proxy.cluster_proxy`), and through the HTTP gate like every
request (identity encoding, the byte cap, no redirects, `ASK_DEADLINE` in all).
"""

from __future__ import annotations

import json
import logging
import ssl
from typing import TYPE_CHECKING, Literal

from rgpu_exec import http_gate
from rgpu_exec.kube.proxy import cluster_proxy
from rgpu_exec.tls import tls_context

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.kube.exec_info import Cluster

log = logging.getLogger(__name__)

# The whole question, connection included: a cluster that does not answer this fast is not
# waited for (the caller then decides without it).
ASK_DEADLINE = 3.0
_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
_REVIEW = {
    "apiVersion": "authorization.k8s.io/v1",
    "kind": "SelfSubjectAccessReview",
    "spec": {"resourceAttributes": {"verb": "get", "resource": "namespaces"}},
}
_HTTP_UNAUTHORIZED = 401
_HTTP_FORBIDDEN = 403
_REVIEWED = (200, 201)

# What a well-formed answer says: the token is rejected (401 Status), known but may not ask (403
# Status), or the review's `allowed`.
Verdict = Literal["rejected", "forbidden", "allowed", "denied"]
# "untrusted": the server's certificate did not verify with the cluster's TLS settings, so
# kubectl, with the same settings, would fail too (`x509: …`).
Review = Literal["allowed", "denied", "rejected", "untrusted"]


def token_accepted(cluster: Cluster, token: str, environ: Mapping[str, str]) -> bool | None:
    """True when the server accepts the token, False when it rejects it; None when it cannot be
    asked, or its answer is not a well-formed Kubernetes one: never raises."""
    answer, why, _ = _ask(cluster, token, _REVIEW, environ)
    found = verdict(answer) if answer is not None else None
    if found is None:
        log.debug("could not ask the cluster (%s)", why or "not a Kubernetes answer")
        return None
    log.debug("the cluster answered %s to the token", found)
    return found != "rejected"


def may_list_pods(
    cluster: Cluster, token: str, namespace: str, environ: Mapping[str, str]
) -> tuple[Review | None, str]:
    """The cluster's answer to a SelfSubjectAccessReview (what `kubectl auth can-i list pods -n
    NAMESPACE` asks) made with `token`: allowed, denied, or rejected (the token itself, 401);
    untrusted when its certificate does not verify with the cluster's TLS settings; None when it
    cannot tell (unreachable, too slow, an answer it cannot read); with why in words."""
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {"verb": "list", "resource": "pods", "namespace": namespace}
        },
    }
    answer, why, untrusted = _ask(cluster, token, review, environ)
    if answer is None:
        return ("untrusted" if untrusted else None), why
    found = verdict(answer)
    if found in ("rejected", "allowed", "denied"):
        return found, ""
    what = "a review" if found == "forbidden" else "a Kubernetes answer"
    return None, f"it answered HTTP {answer.status}, not {what}"


def verdict(answer: http_gate.Answer) -> Verdict | None:
    """What a well-formed Kubernetes answer to a SelfSubjectAccessReview says; None for anything
    else (any other status, a body that is not the object that status must carry)."""
    try:
        body = json.loads(answer.body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict):
        return None
    if answer.status in (_HTTP_UNAUTHORIZED, _HTTP_FORBIDDEN):
        code = body.get("code")
        if body.get("kind") != "Status" or type(code) is not int or code != answer.status:
            return None
        return "rejected" if answer.status == _HTTP_UNAUTHORIZED else "forbidden"
    if answer.status not in _REVIEWED or body.get("kind") != "SelfSubjectAccessReview":
        return None
    api_version = body.get("apiVersion")
    status = body.get("status")
    if not isinstance(api_version, str) or not api_version.startswith("authorization.k8s.io/"):
        return None
    allowed = status.get("allowed") if isinstance(status, dict) else None
    if not isinstance(allowed, bool):
        return None
    return "allowed" if allowed else "denied"


def _ask(
    cluster: Cluster, token: str, review: Mapping[str, object], environ: Mapping[str, str]
) -> tuple[http_gate.Answer | None, str, bool]:
    """POST the review with the token through the gate: the answer, or None and why in words;
    and whether the server's certificate was refused (not trusted)."""
    try:
        with _session(cluster, environ) as session:
            answer = session.send(
                "POST",
                cluster.server.rstrip("/") + _REVIEW_PATH,
                {"authorization": f"Bearer {token}", "accept": "application/json"},
                review,
                timeout=ASK_DEADLINE,
            )
    except http_gate.TooSlowError:
        return None, f"it did not answer within {ASK_DEADLINE:.0f} s", False
    except http_gate.TooBigError as exc:
        return None, f"it answered HTTP {exc.status} with a body over {exc.cap // 1024} KiB", False
    except http_gate.EncodingError as exc:
        return None, f"it answered HTTP {exc.status} with {exc.args[0]}", False
    except Exception as exc:  # any failure to ask is "cannot tell"
        log.debug("could not ask the cluster (%s)", type(exc).__name__)
        return None, _why(exc), _refused_certificate(exc) is not None
    log.debug("the cluster answered HTTP %d", answer.status)
    return answer, "", False


def _session(cluster: Cluster, environ: Mapping[str, str]) -> http_gate.Session:
    """The gate's session with the cluster's TLS settings and proxy, as kubectl has them."""
    if cluster.insecure:  # as the kubeconfig tells kubectl to do
        verify: ssl.SSLContext | None = None
    else:
        verify = tls_context(cafile=cluster.ca_file, cadata=cluster.ca_data)
    proxy = cluster_proxy(cluster.server, cluster.proxy_url, environ)
    return http_gate.cluster_session(verify, proxy, ASK_DEADLINE, cluster.server_name)


def _causes(exc: BaseException) -> list[BaseException]:
    """The failure and its causes, once each (a chain may loop)."""
    cause: BaseException | None = exc
    seen: list[BaseException] = []
    while cause is not None and all(cause is not one for one in seen):
        seen.append(cause)
        cause = cause.__cause__ or cause.__context__
    return seen


def _refused_certificate(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The server certificate refused behind this failure, if that is what it is."""
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
    return None


def _why(exc: BaseException) -> str:
    """What stopped the question, in words."""
    refused = _refused_certificate(exc)
    if refused is not None:
        return f"its certificate is not trusted ({refused.verify_message})"
    if any(isinstance(cause, ConnectionRefusedError) for cause in _causes(exc)):
        return "it refused the connection"
    text = " ".join(str(exc).split())[:120]
    name = exc.name if isinstance(exc, http_gate.TransportError) else type(exc).__name__
    return f"it could not be reached ({name}: {text or 'no detail'})"
