"""The gate's rules hold for every request, whoever makes it: the exchange, doctor's probe, the
cluster question of a second ask, and the cluster question of `kubeconfig generate` / `import`.
And only a well-formed Kubernetes answer counts as the cluster's yes or no."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest
import respx

from rgpu_exec import http_gate
from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.api.exchange import Exchanger
from rgpu_exec.errors import RgpuExecError
from rgpu_exec.kube.cluster import ASK_DEADLINE, may_list_pods, token_accepted
from rgpu_exec.kube.exec_info import Cluster
from rgpu_exec.usecases.doctor import network

from conftest import API_KEY, NAMESPACE_ID
from exchange_answers import API

CLUSTER = "https://cluster.example.test:6443"
ELSEWHERE = "https://elsewhere.example.test/steal"


def _exchange() -> object:
    try:
        return Exchanger(ApiEndpoint(API, {}, deadline=2), API_KEY).exchange(NAMESPACE_ID)
    except RgpuExecError as exc:
        return exc


def _probe() -> object:
    return network.api_findings(API, {})


def _second_ask() -> object:
    return token_accepted(Cluster(CLUSTER), "tok-1", {})


def _verification() -> object:
    return may_list_pods(Cluster(CLUSTER), "tok-1", "team-ml", {})


CALLERS: list[Callable[[], object]] = [_exchange, _probe, _second_ask, _verification]
IDS = ["exchange", "doctor-probe", "second-ask", "generate-verification"]


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


@pytest.mark.parametrize("caller", CALLERS, ids=IDS)
def test_every_request_asks_for_identity(router: respx.MockRouter, caller):
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(418)  # no retry

    router.route().mock(side_effect=answer)
    caller()
    assert seen
    for request in seen:
        assert request.headers["accept-encoding"] == "identity"
        assert request.headers["user-agent"] == http_gate.USER_AGENT


@pytest.mark.parametrize("caller", CALLERS, ids=IDS)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_no_request_follows_a_redirect(router: respx.MockRouter, caller, status):
    stolen = router.route(url=ELSEWHERE).mock(return_value=httpx.Response(200, json={}))
    router.route().mock(return_value=httpx.Response(status, headers={"location": ELSEWHERE}))
    outcome = caller()
    assert not stolen.called, "a redirect carried the request (and its key or token) elsewhere"
    assert outcome not in (True, "allowed"), "a redirect is no yes"


REVIEW = {
    "kind": "SelfSubjectAccessReview",
    "apiVersion": "authorization.k8s.io/v1",
    "metadata": {},
    "spec": {"resourceAttributes": {"verb": "get", "resource": "namespaces"}},
    "status": {"allowed": True},
}
UNAUTHORIZED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Unauthorized",
    "reason": "Unauthorized",
    "code": 401,
}
FORBIDDEN = {**UNAUTHORIZED, "message": "forbidden", "reason": "Forbidden", "code": 403}
HTML = b"<html><body><h1>Welcome to the hotel network</h1>Please log in.</body></html>"


def _json(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode())


@pytest.mark.parametrize(
    ("answer", "accepted"),
    [
        pytest.param(_json(201, REVIEW), True, id="review-201"),
        pytest.param(_json(200, {**REVIEW, "status": {"allowed": False}}), True, id="review-no"),
        pytest.param(_json(403, FORBIDDEN), True, id="forbidden-status"),
        pytest.param(_json(401, UNAUTHORIZED), False, id="unauthorized-status"),
        # Anything else is "could not ask": the rule for a client without cluster info decides.
        pytest.param(httpx.Response(307, headers={"location": CLUSTER}), None, id="307"),
        pytest.param(httpx.Response(200, content=HTML), None, id="html-200"),
        pytest.param(httpx.Response(401, content=HTML), None, id="html-401"),
        pytest.param(httpx.Response(500, content=b"oops"), None, id="500"),
        pytest.param(httpx.Response(503, json=UNAUTHORIZED), None, id="503-with-a-status"),
        pytest.param(httpx.Response(200, content=b""), None, id="empty"),
        pytest.param(httpx.Response(201, content=b'{"kind": "SelfSub'), None, id="truncated"),
        pytest.param(_json(201, [REVIEW]), None, id="wrong-shape"),
        pytest.param(_json(201, {**REVIEW, "kind": "Pod"}), None, id="other-kind"),
        pytest.param(_json(201, {**REVIEW, "apiVersion": "v1"}), None, id="other-group"),
        pytest.param(_json(201, {**REVIEW, "status": {}}), None, id="no-allowed"),
        pytest.param(_json(201, {**REVIEW, "status": {"allowed": "yes"}}), None, id="not-bool"),
        pytest.param(_json(401, {**UNAUTHORIZED, "code": 403}), None, id="code-mismatch"),
        pytest.param(_json(401, {**UNAUTHORIZED, "code": True}), None, id="code-not-int"),
        pytest.param(_json(401, {**UNAUTHORIZED, "kind": "Pod"}), None, id="401-not-status"),
        pytest.param(_json(403, {"message": "denied"}), None, id="403-not-status"),
        pytest.param(_json(200, {"error": "x"}), None, id="json-not-review"),
        pytest.param(httpx.Response(201, content=b"[" * 100_000), None, id="deep-nesting"),
    ],
)
def test_only_a_well_formed_kubernetes_answer_is_a_yes_or_a_no(
    router: respx.MockRouter, answer: httpx.Response, accepted: bool | None
):
    router.post(url__startswith=CLUSTER).mock(return_value=answer)
    assert token_accepted(Cluster(CLUSTER), "tok-1", {}) is accepted


def test_a_307_is_not_a_yes(router: respx.MockRouter):
    router.route().mock(return_value=httpx.Response(307, headers={"location": CLUSTER + "/x"}))
    assert token_accepted(Cluster(CLUSTER), "tok-1", {}) is None
    answer, why = may_list_pods(Cluster(CLUSTER), "tok-1", "team-ml", {})
    assert answer is None
    assert "HTTP 307" in why


def test_an_html_200_is_not_a_yes(router: respx.MockRouter):
    router.route().mock(return_value=httpx.Response(200, content=HTML))
    assert token_accepted(Cluster(CLUSTER), "tok-1", {}) is None
    answer, why = may_list_pods(Cluster(CLUSTER), "tok-1", "team-ml", {})
    assert answer is None
    assert why == "it answered HTTP 200, not a Kubernetes answer"


@pytest.mark.parametrize(
    ("answer", "review"),
    [
        pytest.param(_json(201, REVIEW), "allowed", id="allowed"),
        pytest.param(_json(201, {**REVIEW, "status": {"allowed": False}}), "denied", id="denied"),
        pytest.param(_json(401, UNAUTHORIZED), "rejected", id="rejected"),
        pytest.param(httpx.Response(401, content=HTML), None, id="html-401-is-no-rejection"),
        pytest.param(_json(403, FORBIDDEN), None, id="forbidden-is-no-review"),
    ],
)
def test_the_verification_reads_only_kubernetes_answers(
    router: respx.MockRouter, answer: httpx.Response, review: str | None
):
    router.post(url__startswith=CLUSTER).mock(return_value=answer)
    found, why = may_list_pods(Cluster(CLUSTER), "tok-1", "team-ml", {})
    assert found == review
    assert bool(why) == (review is None)


def _endless(chunk: bytes) -> Iterator[bytes]:
    while True:
        yield chunk


def test_a_cluster_answer_over_the_cap_is_cut_off_unread(router: respx.MockRouter):
    sent: list[int] = []

    def endless() -> Iterator[bytes]:
        for piece in _endless(b" " * 65536):
            sent.append(len(piece))
            yield piece

    router.route().mock(side_effect=lambda _request: httpx.Response(201, content=endless()))
    assert token_accepted(Cluster(CLUSTER), "tok-1", {}) is None
    assert http_gate.MAX_BODY_BYTES < sum(sent) <= http_gate.MAX_BODY_BYTES + 65536
    answer, why = may_list_pods(Cluster(CLUSTER), "tok-1", "team-ml", {})
    assert answer is None
    assert why == "it answered HTTP 201 with a body over 1024 KiB"


def test_the_cluster_question_has_one_deadline(router: respx.MockRouter):
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _json(201, REVIEW)

    router.route().mock(side_effect=answer)
    assert token_accepted(Cluster(CLUSTER), "tok-1", {}) is True
    timeout = seen[0].extensions["timeout"]
    assert 0 < timeout["read"] <= ASK_DEADLINE
    assert 0 < timeout["connect"] <= ASK_DEADLINE
