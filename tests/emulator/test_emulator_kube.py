"""The emulator's Kubernetes front over TLS: authentication, authorization, objects, reviews."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from rgpu_emulator import protobuf

if TYPE_CHECKING:
    from emulator_support import Harness


@pytest.fixture
def emulator(emulator_in_process: Harness) -> Harness:
    """The emulator's own tests run it in this process, on its threads (`emulator_in_process`)."""
    return emulator_in_process


@pytest.fixture
def kube(emulator: Harness):
    """(client with a team-ml token, the key's prefix, the harness)."""
    team = emulator.namespace("team-ml")
    emulator.namespace("other")
    key = emulator.namespace_key(team)
    token = emulator.client.exchange(team["id"], key["key"]).json()["status"]["token"]
    client = httpx.Client(
        base_url=emulator.ready.kube_server, verify=emulator.ready.ssl_context(),
        headers={"authorization": f"Bearer {token}"}, timeout=30,
    )  # fmt: skip
    with client:
        yield client, key["prefix"], emulator


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic eDp5"])
def test_unknown_tokens_get_401(emulator: Harness, header):
    headers = {"authorization": header} if header else {}
    with httpx.Client(verify=emulator.ready.ssl_context()) as client:
        answer = client.get(
            f"{emulator.ready.kube_server}/api/v1/namespaces/x/pods", headers=headers
        )
    assert answer.status_code == 401
    assert answer.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Unauthorized", "reason": "Unauthorized", "details": {}, "code": 401,
    }  # fmt: skip


def test_expired_token_gets_401(kube):
    client, _, emulator = kube
    assert client.get("/api/v1/namespaces/team-ml/pods").status_code == 200
    emulator.client.set_clock(advance=901)
    assert client.get("/api/v1/namespaces/team-ml/pods").status_code == 401


def test_discovery_and_version(kube):
    client, _, _ = kube
    assert client.get("/version").json()["gitVersion"].startswith("v1.")
    assert client.get("/api").json()["versions"] == ["v1"]
    core = {r["name"] for r in client.get("/api/v1").json()["resources"]}
    assert {"pods", "configmaps"} <= core
    groups = {g["name"] for g in client.get("/apis").json()["groups"]}
    assert groups == {"authentication.k8s.io", "authorization.k8s.io"}
    reviews = client.get("/apis/authorization.k8s.io/v1").json()["resources"]
    assert {r["name"] for r in reviews} == {"selfsubjectaccessreviews", "selfsubjectrulesreviews"}
    assert client.get("/openapi/v2").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "message", "details"),
    [
        ("GET", "/api/v1/namespaces/other/pods",
         ('pods is forbidden: User "{u}" cannot list resource "pods" in API group "" in the '
          'namespace "other"'), {"kind": "pods"}),
        ("GET", "/api/v1/namespaces/other/configmaps/x",
         ('configmaps "x" is forbidden: User "{u}" cannot get resource "configmaps" in API group '
          '"" in the namespace "other"'), {"name": "x", "kind": "configmaps"}),
        ("GET", "/api/v1/pods",
         ('pods is forbidden: User "{u}" cannot list resource "pods" in API group "" at the '
          "cluster scope"), {"kind": "pods"}),
        ("GET", "/api/v1/namespaces",
         ('namespaces is forbidden: User "{u}" cannot list resource "namespaces" in API group "" '
          "at the cluster scope"), {"kind": "namespaces"}),
        ("DELETE", "/api/v1/namespaces/other/pods/p",
         ('pods "p" is forbidden: User "{u}" cannot delete resource "pods" in API group "" in the '
          'namespace "other"'), {"name": "p", "kind": "pods"}),
    ],
)  # fmt: skip
def test_forbidden_is_worded_like_the_apiserver(kube, method, path, message, details):
    client, prefix, _ = kube
    answer = client.request(method, path)
    assert answer.status_code == 403
    assert answer.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message.format(u=f"remotegpu:apikey:{prefix}"), "reason": "Forbidden",
        "details": details, "code": 403,
    }  # fmt: skip


def test_configmap_and_pod_crud(kube):
    client, _, emulator = kube
    base = "/api/v1/namespaces/team-ml"
    created = client.post(
        f"{base}/configmaps", json={"metadata": {"name": "c"}, "data": {"a": "1"}}
    )
    assert created.status_code == 201
    assert created.json()["metadata"]["namespace"] == "team-ml"
    assert client.post(f"{base}/configmaps", json={"metadata": {"name": "c"}}).status_code == 409
    assert client.get(f"{base}/configmaps/c").json()["data"] == {"a": "1"}
    assert [i["metadata"]["name"] for i in client.get(f"{base}/configmaps").json()["items"]] == [
        "c"
    ]
    table = client.get(
        f"{base}/configmaps", headers={"accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
    )
    assert table.json()["kind"] == "Table"
    assert table.json()["rows"][0]["cells"][:2] == ["c", 1]
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "m", "image": "busybox"}]}}
    assert client.post(f"{base}/pods", json=pod).json()["status"] == {"phase": "Pending"}
    assert client.delete(f"{base}/configmaps/c").status_code == 200
    assert client.get(f"{base}/configmaps/c").status_code == 404
    assert client.post(f"{base}/pods", json={"spec": {}}).status_code == 422
    assert client.post(f"{base}/pods", content=b"{nope").status_code == 400
    assert emulator.client.stats()["kube_requests"] >= 10


def test_reviews(kube):
    client, prefix, emulator = kube
    who = client.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", json={})
    user = who.json()["status"]["userInfo"]
    assert user["username"] == f"remotegpu:apikey:{prefix}"
    assert user["groups"] == [
        f"remotegpu:account:{emulator.client.account_id}",
        "system:authenticated",
    ]

    def allowed(attributes: dict[str, str], kind: str = "resourceAttributes") -> bool:
        body = {"spec": {kind: attributes}}
        answer = client.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=body)
        return bool(answer.json()["status"]["allowed"])

    assert allowed({"namespace": "team-ml", "verb": "list", "resource": "pods"}) is True
    assert allowed({"namespace": "other", "verb": "list", "resource": "pods"}) is False
    assert allowed({"verb": "list", "resource": "namespaces"}) is False
    assert allowed({"path": "/version", "verb": "get"}, "nonResourceAttributes") is True
    rules = client.post(
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        json={"spec": {"namespace": "team-ml"}},
    ).json()["status"]
    assert rules["resourceRules"][0]["resources"] == ["*"]
    elsewhere = client.post(
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        json={"spec": {"namespace": "other"}},
    ).json()["status"]
    assert all(r["verbs"] == ["create"] for r in elsewhere["resourceRules"])


def _field(number: int, value: bytes) -> bytes:
    return bytes([number << 3 | 2, len(value)]) + value


def test_protobuf_requests_as_recent_kubectl_sends_them(kube):
    client, _, _ = kube
    attributes = _field(1, b"team-ml") + _field(2, b"create") + _field(5, b"configmaps")
    review = _field(2, _field(1, attributes))
    type_meta = _field(1, b"authorization.k8s.io/v1") + _field(2, b"SelfSubjectAccessReview")
    body = protobuf.MAGIC + _field(1, type_meta) + _field(2, review)
    assert protobuf.decode(body)["spec"]["resourceAttributes"] == {
        "namespace": "team-ml", "verb": "create", "resource": "configmaps",
    }  # fmt: skip
    answer = client.post(
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", content=body,
        headers={"content-type": protobuf.CONTENT_TYPE},
    )  # fmt: skip
    assert answer.json()["status"]["allowed"] is True
    pod = protobuf.MAGIC + _field(1, _field(1, b"v1") + _field(2, b"Pod")) + _field(2, b"")
    refused = client.post("/api/v1/namespaces/team-ml/pods", content=pod,
                          headers={"content-type": protobuf.CONTENT_TYPE})  # fmt: skip
    assert (refused.status_code, refused.json()["reason"]) == (415, "UnsupportedMediaType")
    with pytest.raises(protobuf.ProtobufError):
        protobuf.decode(b"k8s\x00\x0a\xff")
