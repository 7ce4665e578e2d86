"""Verification before `kubeconfig generate | import` writes: one exchange with the key the exec
stanza will use (the API, which the user chose, vouches for the key and the namespace ID), then
the cluster asked whether that token may list pods in the namespace named (only the cluster can
say the name and the ID are one namespace's).

What is called verified is what the API or a cluster the user chose (`--server`) confirmed. A
cluster an imported file names is asked too, and quoted as saying so, with the file it came
from: the file chose whom to ask, so its answer is that server's word, not a verification.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.errors import ApiError, NamespaceAccessError, RgpuExecError, UsageError
from rgpu_exec.hotpath import settings
from rgpu_exec.usecases.key_exchange import KeyExchange, find_key, named_kubernetes_server

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from rgpu_exec.credentials.api_key import ApiKey
    from rgpu_exec.kube.exec_info import Cluster
    from rgpu_exec.kubeconfig.document import Document
    from rgpu_exec.kubeconfig.entries import Spec


@dataclass(frozen=True)
class ServerSource:
    """Where the cluster's server URL came from: `chosen` when the user gave it (`--server`),
    not when a file named it (`import`). Only a cluster the user chose can verify anything; a
    file's cluster is quoted as saying so."""

    words: str  # "given with --server", "named in <file>"
    chosen: bool


GIVEN_WITH_SERVER = ServerSource("given with --server", chosen=True)


def not_a_kubernetes_server(
    spec: Spec,
    url_source: str,
    server_source: ServerSource,
    docs: Mapping[Path, Document],
    environ: Mapping[str, str],
) -> None:
    """Refuse an API URL that is a Kubernetes server the user named (this cluster's server, or
    a cluster's server in the kubeconfig), before any request is made."""
    servers = [(spec.server, server_source.words)]
    for path, doc in docs.items():
        for item in doc.items("cluster"):
            body = item.get("cluster")
            server = body.get("server") if isinstance(body, dict) else None
            if isinstance(server, str):
                servers.append((server, f"of cluster {item.get('name')!r} in {path}"))
    found = named_kubernetes_server(spec.api_url, url_source, servers, environ)
    if found is not None:
        raise found


@dataclass(frozen=True)
class ClusterTrust:
    """The cluster as kubectl will meet it once written: its server with the TLS settings the
    written entry will have (`cluster`); whether a CA was given for it (a flag, or the imported
    file's own); and the command as the user gave it, without CA flags (`rerun`), for a fix
    that adds one."""

    cluster: Cluster
    ca_given: bool
    rerun: tuple[str, ...] = field(default=())
    imported: bool = False


def verify(
    spec: Spec,
    environ: Mapping[str, str],
    url_source: str = "the API URL",
    server_source: ServerSource = GIVEN_WITH_SERVER,
    trust: ClusterTrust | None = None,
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
        paired = _pairing(spec, issued.token, server_source, environ, trust)
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


def _pairing(
    spec: Spec,
    token: str,
    source: ServerSource,
    environ: Mapping[str, str],
    trust: ClusterTrust | None,
) -> str:
    """Whether the cluster lets the namespace ID's token list pods in the namespace named: what
    kubectl will meet. Only the cluster can say; when it does not answer, say it was not
    verified. A cluster a file named (not one the user chose) is quoted, never called verified:
    the file chose whom to ask. A certificate that does not verify with the TLS settings the
    entry will have is a failure: kubectl would fail on it too."""
    from rgpu_exec.kube.cluster import may_list_pods  # noqa: PLC0415 - httpx

    if trust is None:
        trust = ClusterTrust(cluster_with_ca(spec.server, spec.ca_data), spec.ca_data is not None)
    answer, why = may_list_pods(trust.cluster, token, spec.namespace, environ)
    where = f"the cluster at {spec.server} {source.words}"
    if answer == "untrusted":
        raise UsageError(_untrusted(where, why, trust, token, spec.namespace, environ))
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


def written_cluster(spec: Spec, docs: Mapping[Path, Document]) -> tuple[Cluster, bool]:
    """The cluster as the entry will be written (`Spec.entries`): with the CA given, else with
    the CA settings an existing entry of that name keeps (`insecure-skip-tls-verify: true`
    included, which kubectl honours); and whether it has any."""
    from rgpu_exec.kube.exec_info import Cluster  # noqa: PLC0415

    if spec.ca_data:
        return cluster_with_ca(spec.server, spec.ca_data), True
    for path, doc in docs.items():
        found = doc.find("cluster", spec.context)
        if found is None:
            continue
        body = found.get("cluster")
        body = body if isinstance(body, dict) else {}
        if body.get("insecure-skip-tls-verify") is True:
            return Cluster(spec.server, insecure=True), True
        data, file = body.get("certificate-authority-data"), body.get("certificate-authority")
        if isinstance(data, str) and data:
            return cluster_with_ca(spec.server, data), True
        if isinstance(file, str) and file:  # relative to the kubeconfig, as kubectl reads it
            return cluster_with_ca(spec.server, ca_file=str(path.parent / file)), True
        break
    return Cluster(spec.server), False


def cluster_with_ca(server: str, ca_data: str | None = None, ca_file: str | None = None) -> Cluster:
    """The cluster at `server` trusting this CA (base64 of PEM, or a PEM file): as kubectl, given
    a CA, trusts that CA only."""
    import base64  # noqa: PLC0415
    import binascii  # noqa: PLC0415

    from rgpu_exec.kube.exec_info import Cluster  # noqa: PLC0415

    try:
        pem = base64.b64decode(ca_data, validate=True).decode() if ca_data else None
    except (binascii.Error, ValueError):
        pem = None
    return Cluster(server, ca_data=pem, ca_file=ca_file)


def _untrusted(  # noqa: PLR0917
    where: str,
    why: str,
    trust: ClusterTrust,
    token: str,
    namespace: str,
    environ: Mapping[str, str],
) -> str:
    """Why a cluster whose certificate is not trusted stops the write, and the fix: the command
    again with a CA file this environment names that the server's certificate verifies with;
    else where the CA is found."""
    from rgpu_exec.kube.cluster import may_list_pods  # noqa: PLC0415 - httpx

    said = f"{where} was asked, and {why}, so kubectl would fail on it too (an x509 error)."
    if trust.ca_given:
        return (
            f"{said} The certificate authority it has (given, or already in the kubeconfig) "
            "does not sign that certificate. Copy certificate-authority-data from the "
            "kubeconfig the console offers for download on the namespace's page (or ask your "
            "cluster admin for the cluster's CA file), and give it with "
            "--certificate-authority-data (or --certificate-authority)."
        )
    cert_file, _, ca_bundle = settings.ca_files(environ)
    named = ((settings.ENV_CA_BUNDLE, ca_bundle), (settings.ENV_SSL_CERT_FILE, cert_file))
    for variable, path in named:
        if not path or not trust.rerun:
            continue
        cluster = cluster_with_ca(trust.cluster.server, ca_file=path)
        if may_list_pods(cluster, token, namespace, environ)[0] in _TLS_DONE:
            command = shlex.join([*trust.rerun, "--certificate-authority", path])
            return (
                f"{said} No certificate authority was given for it; the file {variable} names "
                f"is one its certificate verifies with. Run `{command}`."
            )
    where_found = (
        "The file holds no certificate-authority-data: download the kubeconfig again from the "
        "console's namespace page (its download holds it), or ask your cluster admin for the "
        "cluster's CA file and import again with --certificate-authority and that file."
        if trust.imported
        else "Its certificate-authority-data is in the kubeconfig the console offers for "
        "download on the namespace's page (give it with --certificate-authority-data), or ask "
        "your cluster admin for the cluster's CA file (give it with --certificate-authority)."
    )
    return (
        f"{said} No certificate authority was given for it. {where_found} If kubectl trusts "
        "that certificate where it runs, --no-verify writes the kubeconfig without asking (and "
        "says it was not verified)."
    )


# Answers that only come over a TLS connection the certificate verified for.
_TLS_DONE = ("allowed", "denied", "rejected")
