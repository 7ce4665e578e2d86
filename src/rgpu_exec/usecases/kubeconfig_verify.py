"""Verification before `kubeconfig generate | import` writes: one exchange with the key the exec
stanza will use (the API, which the user chose, vouches for the key and the namespace ID), then
the cluster asked whether that token may list pods in the namespace named (only the cluster can
say the name and the ID are one namespace's).

What is called verified is what the API or a cluster the user chose (`--server`) confirmed. A
cluster an imported file names is asked too, and quoted as saying so, with the file it came
from: the file chose whom to ask, so its answer is that server's word, not a verification.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.errors import ApiError, NamespaceAccessError, RgpuExecError, UsageError
from rgpu_exec.usecases.key_exchange import KeyExchange, find_key

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.credentials.api_key import ApiKey
    from rgpu_exec.kubeconfig.entries import Spec


@dataclass(frozen=True)
class ServerSource:
    """Where the cluster's server URL came from: `chosen` when the user gave it (`--server`),
    not when a file named it (`import`). Only a cluster the user chose can verify anything; a
    file's cluster is quoted as saying so."""

    words: str  # "given with --server", "named in <file>"
    chosen: bool


GIVEN_WITH_SERVER = ServerSource("given with --server", chosen=True)


def verify(
    spec: Spec,
    environ: Mapping[str, str],
    url_source: str = "the API URL",
    server_source: ServerSource = GIVEN_WITH_SERVER,
) -> tuple[ApiKey, str]:
    """One exchange with the key the exec stanza will use, then the cluster asked whether that
    token may act in the context's namespace (the name and the ID must be one namespace's); the
    key, and what was verified, in words. Failures say nothing was written."""
    asked = False  # whether the API answered: after a definite "no", --no-verify is no help
    try:
        key = find_key(environ, spec.profile_flag)
        asked = True
        endpoint = ApiEndpoint(spec.api_url, environ, url_source=url_source)
        issued = KeyExchange(key, endpoint).exchange(spec.namespace_id, spec.namespace)
        paired = _pairing(spec, issued.token, server_source, environ)
    except RgpuExecError as exc:
        # Offered when no key is at hand or the API could not answer (an offline set-up); not
        # after a definite "no" (a rejected key, a namespace out of scope): a context written
        # anyway could not work.
        offline = (
            " (--no-verify writes the kubeconfig without this check, e.g. to set up offline.)"
            if not asked or (isinstance(exc, ApiError) and exc.status is None)
            else ""
        )
        whom = (  # the API asked, and where its URL came from, unless the message says so
            f" (The API asked: {spec.api_url}, {url_source}.)"
            if asked and spec.api_url not in exc.message
            else ""
        )
        exc.message = f"verification failed, so nothing was written: {exc.message}{whom}{offline}"
        raise
    return key, paired


def _pairing(spec: Spec, token: str, source: ServerSource, environ: Mapping[str, str]) -> str:
    """Whether the cluster lets the namespace ID's token list pods in the namespace named: what
    kubectl will meet. Only the cluster can say; when it does not answer, say it was not
    verified. A cluster a file named (not one the user chose) is quoted, never called verified:
    the file chose whom to ask."""
    from rgpu_exec.kube.cluster import may_list_pods  # noqa: PLC0415 - httpx
    from rgpu_exec.kube.exec_info import Cluster  # noqa: PLC0415

    pem = base64.b64decode(spec.ca_data).decode() if spec.ca_data else None
    answer, why = may_list_pods(Cluster(spec.server, ca_data=pem), token, spec.namespace, environ)
    where = f"the cluster at {spec.server} {source.words}"
    if answer == "allowed" and source.chosen:
        return f"; {where} lets its token list pods in namespace {spec.namespace}"
    if answer == "allowed":
        return (
            f"; {where} says its token may list pods in namespace {spec.namespace} (its own "
            "word, not verified: the file chose that cluster)"
        )
    if answer == "denied":
        raise NamespaceAccessError(
            f"{where} does not let the token for namespace ID {spec.namespace_id} list pods in "
            f"namespace {spec.namespace}: the name and the ID are of different namespaces (a "
            "token is valid in its own namespace only). Copy both from the same console page.",
            status=403,
            code=None,
            api_message=None,
        )
    if answer == "rejected":
        raise UsageError(
            f"{where} rejects the token the API issued for namespace {spec.namespace_id} (HTTP "
            "401): it is another cluster than the namespace's. "
            + (
                "Copy the server from the console's kubeconfig."
                if source.chosen
                else "Download the kubeconfig again from the console's namespace page."
            )
        )
    return (
        f"; whether namespace {spec.namespace} is that namespace was not verified ({where}: {why})"
    )
