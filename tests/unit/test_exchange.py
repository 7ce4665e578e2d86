"""The HTTP edge of the exchange, with respx: statuses, retries, deadlines, malformed answers."""

from __future__ import annotations

import http.server
import json
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from local_server import serving
from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.api.exchange import MAX_BODY_BYTES, Exchanger
from rgpu_exec.errors import ApiError, ApiKeyError, ExitCode, NamespaceAccessError, UsageError

from conftest import API_KEY, NAMESPACE_ID, Clock
from exchange_answers import API, credential_answer, credential_body

PATH = f"/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"
NOW = datetime(2026, 11, 26, 15, 0, 0, tzinfo=timezone.utc)
EXPIRY = NOW + timedelta(minutes=15)  # of the answers below, unless they say otherwise


def err(status: int, code: str = "x", message: str = "y", **headers: str) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"code": code, "message": message}}, headers=headers
    )


@pytest.fixture
def exchanger(clock: Clock) -> Exchanger:
    return Exchanger(
        ApiEndpoint(API, {}),
        API_KEY,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
        rng=random.Random(7),
    )


def test_success_sends_the_key_and_states_the_lifetime(api, exchanger: Exchanger) -> None:
    route = api.post(PATH).mock(return_value=credential_answer(server_now=NOW))
    issued = exchanger.exchange(NAMESPACE_ID)
    assert issued.token == "tok-1"
    assert issued.lifetime == 900
    assert route.call_count == 1
    request = route.calls.last.request
    assert request.headers["x-api-key"] == API_KEY
    assert request.content == b""


@pytest.mark.parametrize("skew", [timedelta(hours=-3), timedelta(minutes=20), timedelta(0)])
def test_lifetime_comes_from_the_server_date_not_our_clock(api, exchanger, skew) -> None:
    # Whether the server's clock is behind or ahead of ours, the token lives 15 minutes.
    server_now = datetime.now(timezone.utc).replace(microsecond=0) + skew
    body = credential_body(expiry=server_now + timedelta(minutes=15))
    api.post(PATH).mock(return_value=credential_answer(body=body, server_now=server_now))
    assert exchanger.exchange(NAMESPACE_ID).lifetime == 900


def test_without_a_date_header_our_clock_is_used(api, exchanger) -> None:
    expiry = datetime.now(timezone.utc) + timedelta(minutes=10)
    api.post(PATH).mock(return_value=httpx.Response(200, json=credential_body(expiry=expiry)))
    assert 590 < exchanger.exchange(NAMESPACE_ID).lifetime <= 600


def test_v1beta1_answers_are_accepted(api, exchanger: Exchanger) -> None:
    api.post(PATH).mock(
        return_value=credential_answer(
            body=credential_body(expiry=EXPIRY, version="v1beta1"), server_now=NOW
        )
    )
    assert exchanger.exchange(NAMESPACE_ID).token == "tok-1"


@pytest.mark.parametrize(
    ("response", "error", "words"),
    [
        pytest.param(
            err(401, "revoked_api_key", "Missing, invalid, revoked, or expired API key"),
            ApiKeyError,
            ["revoked_api_key", "rgpu_3f9a2c1b…", "rgpu-exec login", "Settings / API Keys"],
            id="401",
        ),
        pytest.param(
            err(403, "forbidden", "scope does not cover"),
            NamespaceAccessError,
            [NAMESPACE_ID, "rgpu_3f9a2c1b…", "forbidden: scope does not cover"],
            id="403",
        ),
        pytest.param(
            err(404, "namespace_not_found", "no such namespace"),
            NamespaceAccessError,
            [NAMESPACE_ID, "namespace_not_found"],
            id="404",
        ),
        pytest.param(err(400, "bad", "bad request"), ApiError, ["HTTP 400"], id="400"),
        pytest.param(err(409, "c", "conflict"), ApiError, ["HTTP 409"], id="409"),
        pytest.param(
            httpx.Response(302, headers={"location": "https://evil.test/"}),
            ApiError,
            ["HTTP 302"],
            id="redirect-not-followed",
        ),
    ],
)
def test_non_retryable_statuses_fail_at_once(api, exchanger, clock, response, error, words) -> None:
    route = api.post(PATH).mock(return_value=response)
    with pytest.raises(error) as caught:
        exchanger.exchange(NAMESPACE_ID)
    assert route.call_count == 1
    assert clock.sleeps == []
    text = str(caught.value)
    assert text.startswith("rgpu-exec: ")
    assert API_KEY not in text
    for word in words:
        assert word in text


def test_exit_codes_of_each_error_kind() -> None:
    assert ApiKeyError("x").exit_code == ExitCode.API_KEY
    assert int(ExitCode.API_KEY) == 3
    assert NamespaceAccessError("x", status=403, code="forbidden", api_message="r").exit_code == 4
    assert ApiError("x", transient=True).exit_code == 5
    assert UsageError("x").exit_code == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_transient_statuses_are_retried_then_succeed(api, exchanger, clock, status) -> None:
    route = api.post(PATH).mock(
        side_effect=[err(status), err(status), credential_answer(server_now=NOW)]
    )
    assert exchanger.exchange(NAMESPACE_ID).token == "tok-1"
    assert route.call_count == 3
    assert len(clock.sleeps) == 2
    assert clock.sleeps[1] > clock.sleeps[0] * 0.9, "backoff grows"


def test_retry_after_is_honoured(api, exchanger, clock) -> None:
    api.post(PATH).mock(
        side_effect=[err(429, **{"retry-after": "3"}), credential_answer(server_now=NOW)]
    )
    exchanger.exchange(NAMESPACE_ID)
    assert clock.sleeps == [3.0]


def test_retry_after_as_http_date(api, exchanger, clock) -> None:
    later = format_datetime(NOW + timedelta(seconds=4), usegmt=True)
    response = err(429, **{"retry-after": later, "date": format_datetime(NOW, usegmt=True)})
    api.post(PATH).mock(side_effect=[response, credential_answer(server_now=NOW)])
    exchanger.exchange(NAMESPACE_ID)
    assert clock.sleeps == [4.0]


def test_retry_after_beyond_the_deadline_gives_up_without_sleeping(api, exchanger, clock) -> None:
    route = api.post(PATH).mock(
        return_value=err(429, "rate_limited", "slow down", **{"retry-after": "60"})
    )
    with pytest.raises(ApiError) as caught:
        exchanger.exchange(NAMESPACE_ID)
    assert route.call_count == 1
    assert clock.sleeps == []
    assert caught.value.transient
    assert "rate limiting" in str(caught.value)
    # How long, and how to let rgpu-exec wait that long; never "wait a minute".
    assert "It asked to wait 60 s before trying again (gave up after 1 attempt(s) within 20 s)" in (
        str(caught.value)
    )
    assert "Wait a minute" not in str(caught.value)
    assert str(caught.value).endswith(
        "run the command again in 60 s, or let rgpu-exec wait for it with "
        "RGPU_EXEC_DEADLINE=65 (seconds; at most 300)."
    )


def test_a_retry_after_that_fits_the_deadline_is_waited_for(api, exchanger, clock) -> None:
    """Retry-After: 15 within the default 20 s deadline: wait, then succeed."""
    api.post(PATH).mock(
        side_effect=[err(429, **{"retry-after": "15"}), credential_answer(server_now=NOW)]
    )
    assert exchanger.exchange(NAMESPACE_ID).token == "tok-1"
    assert clock.sleeps == [15.0]


def test_retries_stop_at_the_total_deadline(api, exchanger, clock) -> None:
    route = api.post(PATH).mock(return_value=err(503))
    with pytest.raises(ApiError) as caught:
        exchanger.exchange(NAMESPACE_ID)
    assert clock.monotonic() < 20.0
    assert sum(clock.sleeps) < 20.0
    assert route.call_count == len(clock.sleeps) + 1 > 3
    assert "gave up after" in str(caught.value)
    assert "Try again in a few minutes" in str(caught.value)
    assert caught.value.exit_code == 5


def test_connect_errors_are_retried(api, exchanger, clock) -> None:
    route = api.post(PATH).mock(
        side_effect=[httpx.ConnectError("refused"), credential_answer(server_now=NOW)]
    )
    assert exchanger.exchange(NAMESPACE_ID).token == "tok-1"
    assert route.call_count == 2


def test_read_timeouts_are_reported_and_not_retried(api, exchanger, clock) -> None:
    # An API that accepted the connection and stays silent is not asked again (see
    # test_retry_policy.py): kubectl hears within 10 s, not after the whole deadline.
    route = api.post(PATH).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ApiError) as caught:
        exchanger.exchange(NAMESPACE_ID)
    assert route.call_count == 1
    assert "timed out" in str(caught.value)
    assert caught.value.transient


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b"<html>hello</html>", "not a valid ExecCredential", id="html"),
        pytest.param(
            b'{"apiVersion": "client.authentication.k8s.io/v1"', "not a valid", id="truncated"
        ),
        pytest.param(
            json.dumps({"kind": "ExecCredential"}).encode(), "apiVersion", id="no-version"
        ),
        pytest.param(
            json.dumps(credential_body("", EXPIRY)).encode(), "status.token", id="empty-token"
        ),
        pytest.param(
            json.dumps(credential_body(expiry=EXPIRY, version="v1alpha1")).encode(),
            "apiVersion",
            id="v1alpha1",
        ),
        pytest.param(
            json.dumps(
                {
                    **credential_body(expiry=EXPIRY),
                    "status": {"token": "t", "expirationTimestamp": "2026-11-26T15:00:00"},
                }
            ).encode(),
            "expirationTimestamp",
            id="expiry-without-zone",
        ),
        pytest.param(
            json.dumps(credential_body('a"b', EXPIRY)).encode(),
            "cannot go in an HTTP header",
            id="quote-in-token",
        ),
        pytest.param(
            json.dumps(credential_body(expiry=NOW - timedelta(seconds=1))).encode(),
            "already expired",
            id="expired",
        ),
    ],
)
def test_malformed_answers_are_exit_5_and_not_retried(api, exchanger, body, expected) -> None:
    response = httpx.Response(
        200, content=body, headers={"date": format_datetime(NOW, usegmt=True)}
    )
    route = api.post(PATH).mock(return_value=response)
    with pytest.raises(ApiError) as caught:
        exchanger.exchange(NAMESPACE_ID)
    assert route.call_count == 1
    assert expected in str(caught.value)
    assert not caught.value.transient


def test_oversized_bodies_are_not_read_whole(api, exchanger) -> None:
    api.post(PATH).mock(return_value=httpx.Response(200, content=b"x" * (MAX_BODY_BYTES + 10)))
    with pytest.raises(ApiError, match="over 1024 KiB"):
        exchanger.exchange(NAMESPACE_ID)


def test_error_bodies_of_another_shape_show_a_sanitised_excerpt(api, exchanger) -> None:
    body = f"Bad gateway\x00\x1b[31m for key {API_KEY}".encode()
    api.post(PATH).mock(return_value=httpx.Response(400, content=body))
    with pytest.raises(ApiError) as caught:
        exchanger.exchange(NAMESPACE_ID)
    text = str(caught.value)
    assert "Bad gateway" in text
    assert API_KEY not in text
    assert "\x1b" not in text
    assert "\x00" not in text


def test_a_bad_ca_bundle_is_a_usage_error(api) -> None:
    broken = Exchanger(ApiEndpoint(API, {"REMOTEGPU_CA_BUNDLE": "/nonexistent/ca.pem"}), API_KEY)
    with pytest.raises(UsageError, match="REMOTEGPU_CA_BUNDLE"):
        broken.exchange(NAMESPACE_ID)


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        pytest.param(API_KEY, "rgpu_3f9a2c1b…", id="remotegpu-key"),
        pytest.param("sk-abcdefghijklmnopqrstuvwxyz123456", "sk-a…", id="another-service"),
        pytest.param("rgpu_3f9a2c1b_short", "rgpu…", id="truncated"),
        pytest.param("rgpu_NOTHEX!!_Zk3Jq9xR2mVt7LpW4nHs8dYc1bGf6aEo", "rgpu…", id="not-hex"),
        pytest.param("abc", "…", id="tiny"),
    ],
)
def test_only_a_remotegpu_shaped_key_shows_its_13_character_prefix(key: str, shown: str) -> None:
    from rgpu_exec.redact import key_prefix

    assert key_prefix(key) == shown


def test_an_implausibly_long_lifetime_is_cached_for_12_hours_at_most(api, exchanger) -> None:
    body = credential_body(expiry=datetime(9999, 1, 1, tzinfo=timezone.utc))
    api.post(PATH).mock(
        return_value=credential_answer(body=body, server_now=datetime.now(timezone.utc))
    )
    assert exchanger.exchange(NAMESPACE_ID).lifetime == 12 * 3600


@pytest.mark.parametrize(
    ("host", "hint"),
    [
        pytest.param("127.0.0.1", "use http:// for a local server", id="loopback"),
        pytest.param("localhost", "use http:// for a local server", id="localhost"),
    ],
)
def test_https_to_a_plain_http_server_says_so_not_proxy_advice(host, hint) -> None:
    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)) as server:
        url = f"https://{host}:{server.server_address[1]}"
        exchanger = Exchanger(ApiEndpoint(url, {}, url_source="--api-url", deadline=5), API_KEY)
        with pytest.raises(ApiError) as caught:
            exchanger.exchange(NAMESPACE_ID)

    message = caught.value.message
    assert f"{url} does not speak TLS" in message
    assert f"Check --api-url: {hint}" in message
    assert "HTTPS_PROXY" not in message
    assert "gave up" not in message  # not retried: it cannot get better
