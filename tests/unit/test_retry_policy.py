"""Bounded waits: no connection fails fast, a silent API is not asked again, 429/5xx keep riding
out an outage within the deadline, and an interactive run says once what it is waiting for."""

from __future__ import annotations

import random

import httpx
import pytest

from rgpu_exec.api import exchange, http_support
from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.api.exchange import Exchanger
from rgpu_exec.errors import ApiError

from conftest import API_KEY, NAMESPACE_ID, Clock
from exchange_answers import API, credential_answer

PATH = f"/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"


@pytest.fixture
def notices() -> list[str]:
    return []


def make(clock: Clock, notices: list[str], *, interactive: bool = False, seed: int = 7):
    return Exchanger(
        ApiEndpoint(API, {}, interactive=interactive, notify=notices.append), API_KEY,
        monotonic=clock.monotonic, sleep=clock.sleep, rng=random.Random(seed),
    )  # fmt: skip


def failing(kind: type[httpx.TransportError], message: str):
    """A side effect raising a new `kind` on each request, as a real transport does."""

    def fail(request: httpx.Request) -> httpx.Response:
        raise kind(message, request=request)

    return fail


NO_CONNECTION = [
    pytest.param(failing(httpx.ConnectError, "[Errno 111] Connection refused"), id="refused"),
    pytest.param(
        failing(httpx.ConnectError, "[Errno -2] Name or service not known"), id="no-such-host"
    ),
    pytest.param(
        failing(httpx.ConnectError, "[Errno 101] Network is unreachable"), id="unreachable"
    ),
    pytest.param(failing(httpx.ConnectError, "[SSL: WRONG_VERSION_NUMBER]"), id="tls-handshake"),
    pytest.param(failing(httpx.ConnectTimeout, "timed out"), id="connect-timeout"),
    pytest.param(failing(httpx.ProxyError, "502 Bad Gateway"), id="proxy-refused"),
]


@pytest.mark.parametrize("error", NO_CONNECTION)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_connection_gets_a_quick_retry_or_two_not_the_deadline(
    api, clock, notices, error, seed
) -> None:
    route = api.post(PATH).mock(side_effect=error)
    with pytest.raises(ApiError) as caught:
        make(clock, notices, interactive=True, seed=seed).exchange(NAMESPACE_ID)
    assert route.call_count == len(clock.sleeps) + 1 <= exchange.CONNECT_RETRIES + 1
    assert sum(clock.sleeps) <= exchange.CONNECT_RETRY_WINDOW
    assert caught.value.transient, "a blip: a still-valid cached token may be served"
    assert caught.value.exit_code == 5
    assert "cannot reach the RemoteGPU API" in str(caught.value)
    assert "gave up after" in str(caught.value)
    assert notices == [], "over before anyone would wonder"


def test_a_connection_that_comes_back_at_once_is_used(api, clock, notices) -> None:
    route = api.post(PATH).mock(
        side_effect=[httpx.ConnectError("refused"), credential_answer(date=False)]
    )
    assert make(clock, notices).exchange(NAMESPACE_ID).token == "tok-1"
    assert route.call_count == 2


def test_a_slow_connect_is_not_tried_again(api, clock, notices) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        clock.now += exchange.CONNECT_TIMEOUT
        raise httpx.ConnectTimeout("timed out", request=request)

    route = api.post(PATH).mock(side_effect=slow)
    with pytest.raises(ApiError):
        make(clock, notices).exchange(NAMESPACE_ID)
    assert route.call_count == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(httpx.ReadTimeout, id="read"),
        pytest.param(httpx.WriteTimeout, id="write"),
    ],
)
def test_an_api_that_accepts_but_stays_silent_is_not_asked_again(
    api, clock, notices, error
) -> None:
    def silent(request: httpx.Request) -> httpx.Response:
        clock.now += request.extensions["timeout"]["read"]
        raise error("timed out", request=request)

    route = api.post(PATH).mock(side_effect=silent)
    with pytest.raises(ApiError) as caught:
        make(clock, notices, interactive=True).exchange(NAMESPACE_ID)
    assert route.call_count == 1
    assert clock.sleeps == []
    assert clock.monotonic() <= 8.0, "kubectl hears within 10 s, start-up included"
    assert "timed out" in str(caught.value)
    assert caught.value.transient
    assert notices == []


def test_the_read_timeout_leaves_room_within_10_seconds(api, clock, notices) -> None:
    route = api.post(PATH).mock(return_value=credential_answer(date=False))
    make(clock, notices).exchange(NAMESPACE_ID)
    timeout = route.calls.last.request.extensions["timeout"]
    assert timeout["read"] <= 8.0
    assert timeout["connect"] <= exchange.CONNECT_TIMEOUT


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(lambda _request: httpx.Response(503), id="503"),
        pytest.param(lambda _request: httpx.Response(429), id="429"),
        pytest.param(failing(httpx.RemoteProtocolError, "Server disconnected"), id="dropped"),
        pytest.param(failing(httpx.ReadError, "Connection reset by peer"), id="reset"),
    ],
)
def test_an_outage_is_still_ridden_out_until_the_deadline(api, clock, notices, failure) -> None:
    route = api.post(PATH).mock(side_effect=failure)
    with pytest.raises(ApiError) as caught:
        make(clock, notices).exchange(NAMESPACE_ID)
    assert route.call_count > 5
    assert 15.0 < clock.monotonic() < 20.0
    assert "within 20 s" in str(caught.value)


def test_an_interactive_run_says_once_what_it_waits_for(api, clock) -> None:
    route = api.post(PATH).mock(
        side_effect=[httpx.Response(503)] * 6 + [credential_answer(date=False)]
    )
    told: list[tuple[float, str]] = []
    exchanger = Exchanger(
        ApiEndpoint(
            API, {}, interactive=True, notify=lambda line: told.append((clock.monotonic(), line))
        ),
        API_KEY, monotonic=clock.monotonic, sleep=clock.sleep, rng=random.Random(7),
    )  # fmt: skip
    assert exchanger.exchange(NAMESPACE_ID).token == "tok-1"
    assert route.call_count == 7
    ((when, notice),) = told
    assert notice.startswith(f"rgpu-exec: the RemoteGPU API at {API} answered HTTP 503; ")
    assert API_KEY not in notice
    # Said when the wait is about to pass ~2 s (not sooner), with the time the deadline leaves.
    assert when < exchange.NOTICE_AFTER <= when + clock.sleeps[len(_sleeps_before(when, clock))]
    seconds = float(notice.split("retrying for up to ")[1].split(" s more")[0])
    assert abs(seconds - (20.0 - when)) <= 0.5


def _sleeps_before(when: float, clock: Clock) -> list[float]:
    done, total = [], 0.0
    for sleep in clock.sleeps:
        if total >= when:
            break
        done.append(sleep)
        total += sleep
    return done


def test_a_non_interactive_run_stays_silent_until_the_end(api, clock, notices) -> None:
    api.post(PATH).mock(side_effect=[httpx.Response(503)] * 6 + [credential_answer(date=False)])
    assert make(clock, notices, interactive=False).exchange(NAMESPACE_ID).token == "tok-1"
    assert notices == []


def test_a_short_blip_is_not_worth_a_notice(api, clock, notices) -> None:
    api.post(PATH).mock(side_effect=[httpx.Response(503), credential_answer(date=False)])
    make(clock, notices, interactive=True).exchange(NAMESPACE_ID)
    assert notices == []


def test_a_failure_whose_causes_loop_is_still_reported(api, clock, notices) -> None:
    # The same exception raised again while it is handled makes its own context: the check for
    # a refused certificate walks that chain, and must not walk it for ever.
    looped = httpx.ConnectError("refused")
    looped.__context__ = httpx.ConnectError("again")
    looped.__context__.__context__ = looped
    assert http_support.certificate_error(looped) is None
