"""The HTTP gate, in process, for what its callers rely on: how far a failed request got and the
transport's own words; the timeouts, body and headers a request carries; an answer read within
the cap, inflated piece by piece, or refused with its status; TLS checked against the cluster's
tls-server-name; and the proxies each kind of session takes from the environment. What mutation
testing (`make mutation`) found no quick test pinning."""

from __future__ import annotations

import contextlib
import gzip
import select
import socket
import socketserver
import ssl
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import respx
import trustme

from local_server import serving
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


# An answer as a server streams it: in pieces, not yet read (test transports build it whole).
class Pieces(httpx.SyncByteStream):
    def __init__(self, *pieces: bytes) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces


class Transport:
    """Stands for the network: writes down each request, answers with `answer`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.requests: list[httpx.Request] = []
        self.threads: list[str] = []
        self.answer = httpx.Response(200, stream=Pieces(b"{}"))

        def handle(_transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
            request.read()
            self.requests.append(request)
            self.threads.append(threading.current_thread().name)
            answer = self.answer  # each time anew: a streamed answer is read once
            if isinstance(answer.stream, Pieces):
                return httpx.Response(
                    answer.status_code, headers=answer.headers, stream=answer.stream
                )
            # Built whole in memory, as test transports build it (httpx.MockTransport).
            return httpx.Response(answer.status_code, content=answer.content)

        self.handle_request = handle
        monkeypatch.setattr(httpx.HTTPTransport, "handle_request", handle)


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Transport:
    return Transport(monkeypatch)


def test_a_request_waits_as_long_as_its_caller_says_within_the_sessions_deadline(
    network: Transport,
) -> None:
    with http_gate.cluster_session(None, None, 5, None) as session:
        session.send("GET", URL, timeout=1.5, connect_timeout=0.5)
        session.send("GET", URL, timeout=1.5)
    with http_gate.cluster_session(None, None, 1, None) as session:
        session.send("GET", URL, timeout=3, connect_timeout=2)

    cut, *_ = (r.extensions["timeout"] for r in network.requests[2:])
    assert network.requests[0].extensions["timeout"] == {
        "connect": 0.5,
        "read": 1.5,
        "write": 1.5,
        "pool": 1.5,
    }
    assert network.requests[1].extensions["timeout"]["connect"] == 1.5
    assert 0.5 < cut["read"] <= 1
    assert 0.5 < cut["connect"] <= 1


def test_a_request_runs_in_a_worker_thread_named_for_the_gate(network: Transport) -> None:
    with http_gate.cluster_session(None, None, 5, None) as session:
        session.send("GET", URL, timeout=1)

    assert network.threads == ["rgpu-exec-http"]


def test_no_request_is_sent_once_the_deadline_is_reached(
    network: Transport, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    with http_gate.cluster_session(None, None, 5, None) as session:
        now[0] = 105.0  # exactly the deadline: nothing left
        with pytest.raises(http_gate.TooSlowError):
            session.send("GET", URL, timeout=1)
        for worker in threading.enumerate():
            if worker.name == "rgpu-exec-http":
                worker.join(5)

    assert network.requests == []


def test_an_answer_still_coming_at_the_deadline_is_given_up_on(
    network: Transport, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    answering = threading.Event()
    slow = network.handle_request

    def held(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        answering.wait(2)  # an answer on its way, well past what is left
        return slow(transport, request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", held)
    try:
        with http_gate.cluster_session(None, None, 5, None) as session:
            now[0] = 104.99  # 10 ms left
            with pytest.raises(http_gate.TooSlowError):
                session.send("GET", URL, timeout=1)
    finally:
        answering.set()


def test_a_request_carries_its_json_body_and_its_callers_headers(network: Transport) -> None:
    with http_gate.cluster_session(None, None, 5, None) as session:
        session.send("POST", URL, {"x-api-key": "k"}, {"kind": "Review"}, timeout=1)

    request = network.requests[0]
    assert request.content == b'{"kind":"Review"}'
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-api-key"] == "k"
    assert request.headers["accept-encoding"] == "identity"


def test_an_answer_keeps_every_header_once_in_lower_case_repeated_ones_joined(
    network: Transport,
) -> None:
    network.answer = httpx.Response(
        201,
        headers=[("Warning", "one"), ("warning", "two"), ("X-Seen", "yes")],
        stream=Pieces(b"body"),
    )
    with http_gate.cluster_session(None, None, 5, None) as session:
        answer = session.send("GET", URL, timeout=1)

    assert answer == http_gate.Answer(201, {"warning": "one, two", "x-seen": "yes"}, b"body")


def test_an_answer_sent_in_pieces_is_read_whole(network: Transport) -> None:
    network.answer = httpx.Response(200, stream=Pieces(b'{"a"', b": 1", b"}"))
    with http_gate.cluster_session(None, None, 5, None) as session:
        assert session.send("GET", URL, timeout=1).body == b'{"a": 1}'


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        pytest.param("gzip", gzip.compress(b'{"a": 1}'), id="gzip"),
        pytest.param(" X-GZIP ", gzip.compress(b'{"a": 1}'), id="x-gzip"),
        pytest.param("deflate", zlib.compress(b'{"a": 1}'), id="deflate"),
        pytest.param("Identity", b'{"a": 1}', id="identity"),
    ],
)
def test_an_answer_compressed_anyway_is_inflated(
    network: Transport, encoding: str, body: bytes
) -> None:
    network.answer = httpx.Response(
        200, headers={"content-encoding": encoding}, stream=Pieces(body[:5], body[5:])
    )
    with http_gate.cluster_session(None, None, 5, None) as session:
        assert session.send("GET", URL, timeout=1).body == b'{"a": 1}'


@pytest.mark.parametrize(
    ("encoding", "body", "what"),
    [
        pytest.param(
            "br", b"\x1b", "a compression it was not asked for and cannot be read", id="br"
        ),
        pytest.param("gzip", b"not gzip at all", "a body that does not decompress", id="broken"),
    ],
)
def test_an_answer_that_cannot_be_read_is_refused_with_its_status(
    network: Transport, encoding: str, body: bytes, what: str
) -> None:
    network.answer = httpx.Response(
        502, headers={"content-encoding": encoding}, stream=Pieces(body)
    )
    with (
        http_gate.cluster_session(None, None, 5, None) as session,
        pytest.raises(http_gate.EncodingError) as raised,
    ):
        session.send("GET", URL, timeout=1)

    assert (raised.value.args, raised.value.status) == ((what, encoding), 502)


def test_an_encoding_refused_outside_a_session_has_no_status_yet() -> None:
    response = httpx.Response(200, headers={"content-encoding": "br"}, stream=Pieces(b"\x1b"))

    with pytest.raises(http_gate.EncodingError) as raised:
        http_gate.read_capped(response, 100)

    assert raised.value.status == 0


def test_an_answer_over_the_cap_is_refused_with_its_status_and_the_cap(
    network: Transport,
) -> None:
    network.answer = httpx.Response(200, stream=Pieces(b"x" * 6, b"x" * 5))
    with (
        http_gate.cluster_session(None, None, 5, None) as session,
        pytest.raises(http_gate.TooBigError) as raised,
    ):
        session.send("GET", URL, timeout=1, cap=10)

    assert (raised.value.status, raised.value.cap) == (200, 10)
    assert str(raised.value) == "an answer over 10 bytes (HTTP 200)"


@pytest.mark.parametrize("pieces", [False, True], ids=["built-whole", "streamed"])
def test_an_answer_of_exactly_the_cap_is_read_and_one_byte_more_is_not(
    network: Transport, pieces: bool
) -> None:
    body = b"x" * 10
    network.answer = (
        httpx.Response(200, stream=Pieces(body)) if pieces else httpx.Response(200, content=body)
    )
    with http_gate.cluster_session(None, None, 5, None) as session:
        assert session.send("GET", URL, timeout=1, cap=10).body == body
        with pytest.raises(http_gate.TooBigError):
            session.send("GET", URL, timeout=1, cap=9)


def test_a_compressed_answer_is_inflated_never_past_what_the_cap_has_room_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[int] = []
    real = zlib.decompressobj

    class Inflater:
        def __init__(self, wbits: int) -> None:
            self.inflater = real(wbits)

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            asked.append(max_length)
            return self.inflater.decompress(data, max_length)

    monkeypatch.setattr(zlib, "decompressobj", Inflater)
    packer = zlib.compressobj(wbits=zlib.MAX_WBITS | 16)
    first = packer.compress(b"a" * 600) + packer.flush(zlib.Z_FULL_FLUSH)
    rest = packer.compress(b"b" * 100_000) + packer.flush()
    response = httpx.Response(200, headers={"content-encoding": "gzip"}, stream=Pieces(first, rest))

    assert http_gate.read_capped(response, 1000) is None
    assert asked == [1001, 401]


def test_an_https_api_is_never_reached_unverified() -> None:
    with pytest.raises(ValueError) as raised:
        http_gate.api_session("HTTPS://api.example.test", None, 5)

    assert str(raised.value) == "an https API is never reached unverified"


# A TLS server on loopback whose certificate names only `kube.internal`, and a proxy that writes
# down each request it is asked to carry, and refuses it.
SERVER_NAME = "kube.internal"


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(SERVER_NAME).configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with serving(server):
        yield f"https://127.0.0.1:{server.server_address[1]}"


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=ca.cert_pem.bytes().decode())


class _Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.asked: list[str] = []
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(socketserver.StreamRequestHandler):
    server: _Proxy

    def handle(self) -> None:
        self.server.asked.append(self.rfile.readline().decode().split(" ")[0])
        self.wfile.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Proxy]:
    """The proxy, named by every proxy variable of the environment."""
    with serving(_Proxy()) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
            monkeypatch.setenv(name, url)
            monkeypatch.setenv(name.lower(), url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        yield server


def test_a_clusters_certificate_is_checked_against_its_tls_server_name(
    ca: trustme.CA, tls_server: str
) -> None:
    with http_gate.cluster_session(trusting(ca), None, 10, SERVER_NAME) as session:
        assert session.send("GET", tls_server, timeout=10).status == 200
    with (
        http_gate.cluster_session(trusting(ca), None, 10, None) as session,
        pytest.raises(http_gate.TransportError) as raised,
    ):
        session.send("GET", tls_server, timeout=10)

    assert raised.value.kind == "connect", "the certificate does not name 127.0.0.1"


def test_an_api_whose_certificate_is_not_trusted_is_not_reached(
    tls_server: str,
) -> None:
    elsewhere = trusting(trustme.CA())
    with (
        http_gate.api_session(tls_server, elsewhere, 10) as session,
        pytest.raises(http_gate.TransportError) as raised,
    ):
        session.send("GET", tls_server, timeout=10)

    assert raised.value.kind == "connect"


def test_a_cluster_takes_no_proxy_from_the_environment(
    ca: trustme.CA, tls_server: str, proxy: _Proxy
) -> None:
    with http_gate.cluster_session(trusting(ca), None, 10, SERVER_NAME) as session:
        assert session.send("GET", tls_server, timeout=10).status == 200

    assert proxy.asked == []


def test_an_https_api_goes_through_the_environments_proxy(
    ca: trustme.CA, tls_server: str, proxy: _Proxy
) -> None:
    with (
        http_gate.api_session(tls_server, trusting(ca), 10) as session,
        pytest.raises(http_gate.TransportError),
    ):
        session.send("GET", tls_server, timeout=10)

    assert proxy.asked == ["CONNECT"]


class _TunnelHandler(socketserver.StreamRequestHandler):
    """A proxy that carries each CONNECT where it asks to go."""

    def handle(self) -> None:
        target = self.rfile.readline().decode().split(" ")[1]
        while self.rfile.readline() not in {b"\r\n", b""}:
            pass
        host, port = target.rsplit(":", 1)
        with socket.create_connection((host, int(port))) as upstream, contextlib.suppress(OSError):
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            ends = {self.connection: upstream, upstream: self.connection}
            while True:
                ready, _, _ = select.select(list(ends), [], [], 5)
                data = ready[0].recv(65536) if ready else b""
                if not data:
                    return
                ends[ready[0]].sendall(data)


@pytest.mark.xfail(
    strict=True,
    reason="httpcore's tunnel through an HTTP proxy ignores the sni_hostname extension: the "
    "certificate is checked against the URL's host, where kubectl checks it against "
    "tls-server-name through a proxy too",
)
def test_a_clusters_tls_server_name_holds_through_its_proxy(
    ca: trustme.CA, tls_server: str
) -> None:
    tunnel = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _TunnelHandler)
    tunnel.daemon_threads = True
    with serving(tunnel):
        proxy_url = f"http://127.0.0.1:{tunnel.server_address[1]}"
        with http_gate.cluster_session(trusting(ca), proxy_url, 10, SERVER_NAME) as session:
            assert session.send("GET", tls_server, timeout=10).status == 200
