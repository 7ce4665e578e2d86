"""The HTTP gate, in process, for what its callers read of a failure: whether any connection was
made, whether it was a timeout, and the transport's own words. What mutation testing
(`make mutation`) found no quick test pinning."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx

from rgpu_exec import http_gate

URL = "https://api.example.test/v1/ping"


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


def failure_of(router: respx.MockRouter, exc: httpx.TransportError) -> http_gate.TransportError:
    router.get(URL).mock(side_effect=exc)
    with (
        http_gate.cluster_session(None, None, 5, None) as session,
        pytest.raises(http_gate.TransportError) as raised,
    ):
        session.send("GET", URL, timeout=1)
    assert raised.value.__cause__ is exc
    return raised.value


@pytest.mark.parametrize(
    ("exc", "kind", "timed_out", "refused"),
    [
        pytest.param(httpx.ConnectError("refused"), "connect", False, True, id="refused"),
        pytest.param(httpx.ConnectTimeout("no answer"), "connect", True, False, id="connect-wait"),
        pytest.param(httpx.ProxyError("403 from the proxy"), "connect", False, False, id="proxy"),
        pytest.param(httpx.ReadTimeout("nothing"), "silent", True, False, id="read-wait"),
        pytest.param(httpx.WriteTimeout("stuck"), "silent", True, False, id="write-wait"),
        pytest.param(httpx.PoolTimeout("no slot"), "silent", True, False, id="pool-wait"),
        pytest.param(httpx.ReadError("reset by peer"), "dropped", False, False, id="reset"),
        pytest.param(
            httpx.RemoteProtocolError("closed mid-answer"), "dropped", False, False, id="cut"
        ),
    ],
)
def test_a_transport_failure_says_how_far_the_request_got(
    router: respx.MockRouter, exc: httpx.TransportError, kind: str, timed_out: bool, refused: bool
) -> None:
    failure = failure_of(router, exc)

    assert (failure.kind, failure.timed_out, failure.refused) == (kind, timed_out, refused)


def test_a_transport_failure_carries_the_transports_name_and_words(
    router: respx.MockRouter,
) -> None:
    failure = failure_of(router, httpx.ConnectError("[Errno 111] Connection refused"))

    assert (failure.name, failure.detail) == ("ConnectError", "[Errno 111] Connection refused")
    assert str(failure) == "[Errno 111] Connection refused"
