"""The emulated RemoteGPU API: parse the request, call the model, render the answer.

Routes (docs/api-contract.md): account API keys and namespaces with session auth, the console
kubeconfig, and the credential exchange with `x-api-key`. Errors are
`{"error": {"code", "message"}}`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rgpu_emulator import exceptions as exc
from rgpu_emulator.records import rfc3339
from rgpu_exec import contract

if TYPE_CHECKING:
    from email.message import Message

    from rgpu_emulator.models import Backend
    from rgpu_emulator.records import Account, IssuedToken

_UUID = r"[0-9a-fA-F-]{36}"
_SEGMENT = r"[^/]+"
EXCHANGE_ROUTE = re.compile(
    re.escape(contract.EXCHANGE_PATH).replace(r"\{namespace_id\}", f"({_SEGMENT})")
)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, document: object) -> Response:
    return Response(status, json.dumps(document).encode())


def error_response(error: exc.ApiError) -> Response:
    return json_response(error.status, error.body())


def json_body(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        document = json.loads(request.body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise exc.BadRequestError("invalid_request", "The request body must be a JSON object")
    return document


@dataclass
class Endpoints:
    """The public URLs the console kubeconfig points at."""

    api_url: str
    kube_server: str
    ca_data: str


class RemoteGpuApi:
    def __init__(self, backend: Backend, endpoints: Endpoints) -> None:
        self.backend = backend
        self.endpoints = endpoints
        self._routes: list[tuple[str, re.Pattern[str], Any]] = [
            ("GET", re.compile(r"/v1/account/api-keys"), self._list_keys),
            ("POST", re.compile(r"/v1/account/api-keys"), self._create_key),
            ("PATCH", re.compile(rf"/v1/account/api-keys/({_SEGMENT})"), self._update_key),
            ("POST", re.compile(rf"/v1/account/api-keys/({_SEGMENT})/revoke"), self._revoke_key),
            ("GET", re.compile(r"/v1/kubernetes/namespaces"), self._list_namespaces),
            ("POST", re.compile(r"/v1/kubernetes/namespaces"), self._create_namespace),
            ("PATCH", re.compile(rf"/v1/kubernetes/namespaces/({_SEGMENT})"), self._rename),
            ("DELETE", re.compile(rf"/v1/kubernetes/namespaces/({_SEGMENT})"), self._delete),
            ("GET", re.compile(rf"/v1/kubernetes/namespaces/({_SEGMENT})/kubeconfig"),
             self._kubeconfig),
        ]  # fmt: skip

    def is_exchange(self, request: Request) -> bool:
        return request.method == "POST" and EXCHANGE_ROUTE.fullmatch(request.path) is not None

    def exchange(self, request: Request, expires_in: float | None = None) -> Response:
        match = EXCHANGE_ROUTE.fullmatch(request.path)
        assert match is not None  # noqa: S101 - checked by is_exchange
        try:
            issued = self.backend.exchange(
                request.headers.get(contract.API_KEY_HEADER), match.group(1), expires_in
            )
        except exc.ApiError as error:
            return error_response(error)
        return json_response(200, exec_credential(issued))

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        methods = set()
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            methods.add(method)
            if method == request.method:
                try:
                    account = self.backend.account_for_session(request.headers.get("authorization"))
                    result: Response = handler(account, request, *match.groups())
                except exc.ApiError as error:
                    return error_response(error)
                return result
        if methods:
            return error_response(exc.ApiError("method_not_allowed", "Method not allowed", 405))
        return error_response(exc.NotFoundError("not_found", f"No such endpoint: {request.path}"))

    # -- API keys -------------------------------------------------------------------------------

    def _list_keys(self, account: Account, _: Request) -> Response:
        now = self.backend.clock.now()
        return json_response(
            200, {"items": [k.to_json(now) for k in self.backend.list_keys(account)]}
        )

    def _create_key(self, account: Account, request: Request) -> Response:
        body = json_body(request)
        unknown = sorted(set(body) - {"name", "scopes", "expires_at"})
        if unknown:
            raise exc.BadRequestError("invalid_request", f"Unknown field: {unknown[0]}")
        key, raw = self.backend.create_key(
            account, body.get("name"), body.get("scopes"), body.get("expires_at")
        )
        return json_response(201, {**key.to_json(self.backend.clock.now()), "key": raw})

    def _update_key(self, account: Account, request: Request, key_id: str) -> Response:
        key = self.backend.update_key(account, key_id, json_body(request))
        return json_response(200, key.to_json(self.backend.clock.now()))

    def _revoke_key(self, account: Account, _: Request, key_id: str) -> Response:
        key = self.backend.revoke_key(account, key_id)
        return json_response(200, key.to_json(self.backend.clock.now()))

    # -- namespaces -----------------------------------------------------------------------------

    def _list_namespaces(self, account: Account, _: Request) -> Response:
        items = [ns.to_json() for ns in self.backend.list_namespaces(account)]
        return json_response(200, {"items": items})

    def _create_namespace(self, account: Account, request: Request) -> Response:
        ns = self.backend.create_namespace(account, json_body(request).get("name"))
        return json_response(201, ns.to_json())

    def _rename(self, account: Account, request: Request, namespace_id: str) -> Response:
        ns = self.backend.rename_namespace(account, namespace_id, json_body(request).get("name"))
        return json_response(200, ns.to_json())

    def _delete(self, account: Account, _: Request, namespace_id: str) -> Response:
        self.backend.delete_namespace(account, namespace_id)
        return Response(204)

    def _kubeconfig(self, account: Account, _: Request, namespace_id: str) -> Response:
        ns = self.backend.namespace(account, namespace_id)
        document = {
            "namespace": ns.name,
            "filename": f"remotegpu-{ns.name}-kubeconfig.yaml",
            "kubeconfig": console_kubeconfig(self.endpoints, ns.id, ns.name),
        }
        return json_response(200, document)


def exec_credential(issued: IssuedToken) -> dict[str, Any]:
    return {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": issued.token, "expirationTimestamp": rfc3339(issued.expires_at)},
    }


def console_kubeconfig(endpoints: Endpoints, namespace_id: str, name: str) -> str:
    """The console's kubeconfig (docs/api-contract.md, assumed shape): curl in the exec stanza,
    no cache."""
    url = contract.exchange_url(endpoints.api_url, namespace_id)
    command = f'curl -fsS -X POST -H "x-api-key: $REMOTEGPU_API_KEY" {url}'
    entry = f"remotegpu-{name}"
    q = json.dumps  # a JSON string is a valid YAML scalar
    return f"""apiVersion: v1
kind: Config
clusters:
- name: {q(entry)}
  cluster:
    server: {q(endpoints.kube_server)}
    certificate-authority-data: {q(endpoints.ca_data)}
contexts:
- name: {q(entry)}
  context:
    cluster: {q(entry)}
    namespace: {q(name)}
    user: {q(entry)}
current-context: {q(entry)}
users:
- name: {q(entry)}
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      interactiveMode: Never
      command: sh
      args: [{q("-c")}, {q(command)}]
preferences: {{}}
"""
