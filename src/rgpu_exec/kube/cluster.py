"""Ask a Kubernetes API server whether it still accepts a token: one cheap authenticated request
(a SelfSubjectAccessReview, what `kubectl auth can-i` sends; every Kubernetes version has it).
The server answers 401 for a token it rejects, and anything else (201 with the review, or 403)
for one it accepts. The token goes only to the server kubectl itself sends it to (the exec info's
`spec.cluster`), with that cluster's TLS settings.
"""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING, Literal

from rgpu_exec.bounded import TooSlowError, finish_within
from rgpu_exec.tls import tls_context

if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx

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


def token_accepted(cluster: Cluster, token: str) -> bool | None:
    """True when the server accepts the token, False when it rejects it (401), None when it
    cannot tell (unreachable, untrusted, too slow): never raises."""
    try:
        status, _ = finish_within(
            ASK_DEADLINE, lambda: _review(cluster, token, _REVIEW), "rgpu-exec-cluster"
        )
    except TooSlowError:
        log.debug("the cluster did not answer within %.0f s", ASK_DEADLINE)
        return None
    except Exception as exc:  # any failure to ask is "cannot tell"
        log.debug("could not ask the cluster (%s)", type(exc).__name__)
        return None
    log.debug("the cluster answered HTTP %d to the token", status)
    return status != _HTTP_UNAUTHORIZED


def _client(cluster: Cluster) -> httpx.Client:
    """A client with the cluster's TLS settings as the kubeconfig gives them to kubectl."""
    import httpx  # noqa: PLC0415

    if cluster.insecure:  # as the kubeconfig tells kubectl to do
        verify: ssl.SSLContext | bool = False
    else:
        verify = tls_context(cafile=cluster.ca_file, cadata=cluster.ca_data)
    return httpx.Client(
        verify=verify,
        proxy=cluster.proxy_url,
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(ASK_DEADLINE),
    )


def _extensions(cluster: Cluster) -> dict[str, object]:
    return {"sni_hostname": cluster.server_name} if cluster.server_name else {}


Review = Literal["allowed", "denied", "rejected"]


def may_list_pods(cluster: Cluster, token: str, namespace: str) -> tuple[Review | None, str]:
    """The cluster's answer to a SelfSubjectAccessReview (what `kubectl auth can-i list pods -n
    NAMESPACE` asks) made with `token`: allowed, denied, or rejected (the token itself, 401);
    None when it cannot tell (unreachable, untrusted, too slow, an answer it cannot read), with
    why in words."""
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {"verb": "list", "resource": "pods", "namespace": namespace}
        },
    }
    try:
        status, allowed = finish_within(
            ASK_DEADLINE, lambda: _review(cluster, token, review), "rgpu-exec-cluster"
        )
    except TooSlowError:
        return None, f"it did not answer within {ASK_DEADLINE:.0f} s"
    except Exception as exc:  # any failure to ask is "cannot tell"
        log.debug("could not ask the cluster (%s)", type(exc).__name__)
        return None, _why(exc)
    if status == _HTTP_UNAUTHORIZED:
        return "rejected", ""
    if allowed is None:
        return None, f"it answered HTTP {status}, not a review"
    return ("allowed" if allowed else "denied"), ""


def _why(exc: BaseException) -> str:
    """What stopped the question, in words."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"its certificate is not trusted ({cause.verify_message})"
        if isinstance(cause, ConnectionRefusedError):
            return "it refused the connection"
        cause = cause.__cause__ or cause.__context__
    text = " ".join(str(exc).split())[:120]
    return f"it could not be reached ({type(exc).__name__}: {text or 'no detail'})"


def _review(cluster: Cluster, token: str, review: Mapping[str, object]) -> tuple[int, bool | None]:
    """POST the review with the token: the HTTP status, and `status.allowed` when it says."""
    with _client(cluster) as client:
        response = client.post(
            cluster.server.rstrip("/") + _REVIEW_PATH,
            json=review,
            headers={"authorization": f"Bearer {token}"},
            extensions=_extensions(cluster),
        )
        try:
            allowed = response.json().get("status", {}).get("allowed")
        except (ValueError, AttributeError):
            allowed = None
        return response.status_code, allowed if isinstance(allowed, bool) else None
