"""Ask a Kubernetes API server whether it still accepts a token: one cheap authenticated request
(a SelfSubjectAccessReview, what `kubectl auth can-i` sends; every Kubernetes version has it).
The server answers 401 for a token it rejects, and anything else (201 with the review, or 403)
for one it accepts. The token goes only to the server kubectl itself sends it to (the exec info's
`spec.cluster`), with that cluster's TLS settings.
"""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING

from rgpu_exec.bounded import TooSlowError, finish_within

if TYPE_CHECKING:
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
        status = finish_within(ASK_DEADLINE, lambda: _ask(cluster, token), "rgpu-exec-cluster")
    except TooSlowError:
        log.debug("the cluster did not answer within %.0f s", ASK_DEADLINE)
        return None
    except Exception as exc:  # any failure to ask is "cannot tell"
        log.debug("could not ask the cluster (%s)", type(exc).__name__)
        return None
    log.debug("the cluster answered HTTP %d to the token", status)
    return status != _HTTP_UNAUTHORIZED


def _ask(cluster: Cluster, token: str) -> int:
    import httpx  # noqa: PLC0415

    if cluster.insecure:  # as the kubeconfig tells kubectl to do
        verify: ssl.SSLContext | bool = False
    else:
        verify = ssl.create_default_context(cafile=cluster.ca_file, cadata=cluster.ca_data)
    extensions = {"sni_hostname": cluster.server_name} if cluster.server_name else {}
    with httpx.Client(
        verify=verify,
        proxy=cluster.proxy_url,
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(ASK_DEADLINE),
    ) as client:
        response = client.post(
            cluster.server.rstrip("/") + _REVIEW_PATH,
            json=_REVIEW,
            headers={"authorization": f"Bearer {token}"},
            extensions=extensions,
        )
        return response.status_code
