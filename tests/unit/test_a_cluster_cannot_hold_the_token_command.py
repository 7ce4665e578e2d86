"""A cluster named in the exec info (or in an imported file) is a server rgpu-exec does not
choose: whatever it answers, the question stays within its deadline and its memory. A gzip bomb
once held `token` for 18 s at 2.5 GB. And the question goes the way kubectl goes: through the
cluster's `proxy-url`, or HTTPS_PROXY unless NO_PROXY (or loopback) says otherwise.

Real loopback sockets: how the bytes arrive is the point here.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from local_server import serving
from rgpu_exec import http_gate
from rgpu_exec.kube import cluster
from rgpu_exec.kube.exec_info import Cluster
from rgpu_exec.kube.proxy import cluster_proxy

pytestmark = pytest.mark.xdist_group("timed")  # time bounds: never beside another timed test


def _serve(write: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            # OSError: the client hung up, it stopped reading, as it should.
            with contextlib.suppress(OSError):
                write(self)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}"


def _gzip_bomb(handler: BaseHTTPRequestHandler) -> None:
    """2.5 GB of zeros as gzip (about 2.5 MB sent), identity asked for or not."""
    handler.send_response(201)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-encoding", "gzip")
    handler.end_headers()
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    for _ in range(2500):
        handler.wfile.write(packer.compress(zeros))
    handler.wfile.write(packer.flush())


def _endless(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(201)
    handler.end_headers()
    while True:
        handler.wfile.write(b'{"kind": "SelfSubjectAccessReview", "padding": "' + b"x" * 65536)


def _trickle(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(201)
    handler.end_headers()
    for _ in range(600):
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(0.05)


@pytest.fixture
def bomb() -> Iterator[str]:
    yield from _serve(_gzip_bomb)


@pytest.fixture
def endless() -> Iterator[str]:
    yield from _serve(_endless)


@pytest.fixture
def trickle() -> Iterator[str]:
    yield from _serve(_trickle)


def _bounded(ask: Callable[[], object]) -> tuple[object, float, int]:
    tracemalloc.start()
    started = time.monotonic()
    try:
        outcome = ask()
        took = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return outcome, took, peak


def test_a_gzip_bomb_from_the_cluster_is_cut_off_within_the_deadline(bomb: str):
    outcome, took, peak = _bounded(lambda: cluster.token_accepted(Cluster(bomb), "tok", {}))
    assert outcome is None, "not a Kubernetes answer: could not ask"
    assert took < cluster.ASK_DEADLINE
    assert peak < 8 * http_gate.MAX_BODY_BYTES, f"{peak / 2**20:.0f} MiB held"
    answer, why = cluster.may_list_pods(Cluster(bomb), "tok", "team-ml", {})
    assert answer is None
    assert "over 1024 KiB" in why


def test_an_oversized_answer_from_the_cluster_is_cut_off_within_the_deadline(endless: str):
    outcome, took, peak = _bounded(lambda: cluster.token_accepted(Cluster(endless), "tok", {}))
    assert outcome is None
    assert took < cluster.ASK_DEADLINE
    assert peak < 8 * http_gate.MAX_BODY_BYTES, f"{peak / 2**20:.0f} MiB held"


def test_a_trickling_cluster_is_given_up_on_at_the_deadline(trickle: str, monkeypatch):
    monkeypatch.setattr(cluster, "ASK_DEADLINE", 1.0)
    started = time.monotonic()
    assert cluster.token_accepted(Cluster(trickle), "tok", {}) is None
    assert time.monotonic() - started < 2.5, "no read timeout trips: the deadline must"
    answer, why = cluster.may_list_pods(Cluster(trickle), "tok", "team-ml", {})
    assert answer is None
    assert why == "it did not answer within 1 s"


class _Proxy(socketserver.ThreadingTCPServer):
    """A proxy that writes down each CONNECT it is asked for, and refuses it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.asked: list[str] = []
        super().__init__(("127.0.0.1", 0), _ProxyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(socketserver.StreamRequestHandler):
    server: _Proxy

    def handle(self) -> None:
        self.server.asked.append(self.rfile.readline().decode().strip())
        self.wfile.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    with serving(_Proxy()) as server:
        yield server


REMOTE = "https://cluster.example.test:6443"


def _unused_port() -> int:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return int(unused.getsockname()[1])


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy"])
def test_the_cluster_question_honours_https_proxy(proxy: _Proxy, variable: str):
    assert cluster.token_accepted(Cluster(REMOTE), "tok", {variable: proxy.url}) is None
    assert proxy.asked == ["CONNECT cluster.example.test:6443 HTTP/1.1"]


@pytest.mark.parametrize(
    "no_proxy", ["example.test", ".example.test", "*.example.test", "cluster.example.test:6443"]
)
def test_the_cluster_question_honours_no_proxy(proxy: _Proxy, no_proxy: str):
    environ = {"HTTPS_PROXY": proxy.url, "NO_PROXY": no_proxy}
    assert cluster.token_accepted(Cluster(REMOTE), "tok", environ) is None
    assert proxy.asked == [], "NO_PROXY names the cluster: a direct connection"


def test_the_cluster_question_never_takes_another_schemes_proxy(proxy: _Proxy):
    environ = {"HTTP_PROXY": proxy.url, "ALL_PROXY": proxy.url, "all_proxy": proxy.url}
    cluster.token_accepted(Cluster(REMOTE), "tok", environ)
    assert proxy.asked == [], "kubectl reads HTTPS_PROXY for an https server, nothing else"


def test_the_cluster_question_honours_the_clusters_proxy_url(proxy: _Proxy):
    port = _unused_port()
    loopback = Cluster(f"https://127.0.0.1:{port}", proxy_url=proxy.url)
    environ = {"HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "*"}
    assert cluster.token_accepted(loopback, "tok", environ) is None
    assert proxy.asked == [f"CONNECT 127.0.0.1:{port} HTTP/1.1"], (
        "proxy-url is used for every server, loopback too, whatever the environment says"
    )


def test_a_loopback_cluster_is_never_reached_through_https_proxy(proxy: _Proxy):
    port = _unused_port()
    assert cluster.token_accepted(Cluster(f"https://127.0.0.1:{port}"), "tok", {
        "HTTPS_PROXY": proxy.url
    }) is None  # fmt: skip
    assert proxy.asked == []


VIA_P = {"HTTPS_PROXY": "http://p:1"}


@pytest.mark.parametrize(
    ("server", "proxy_url", "environ", "expected"),
    [
        (REMOTE, None, {}, None),
        (REMOTE, None, {"HTTPS_PROXY": "proxy:3128"}, "http://proxy:3128"),
        (REMOTE, None, {"HTTPS_PROXY": "", "https_proxy": "http://p:1"}, "http://p:1"),
        (REMOTE, None, {"HTTPS_PROXY": "http://a:1", "https_proxy": "http://b:1"}, "http://a:1"),
        (REMOTE, None, {"HTTPS_PROXY": "socks5://s:1080"}, "socks5://s:1080"),
        (REMOTE, "https://p:8443", {"NO_PROXY": "*"}, "https://p:8443"),
        (REMOTE, None, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, None),
        (REMOTE, None, {"HTTPS_PROXY": "http://p:1", "no_proxy": "example.test"}, None),
        (REMOTE, None, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "CLUSTER.example.TEST"}, None),
        (REMOTE, None, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "ample.test"}, "http://p:1"),
        (REMOTE, None, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "example.test:443"}, "http://p:1"),
        ("https://example.test", None, {**VIA_P, "NO_PROXY": ".example.test"}, "http://p:1"),
        ("https://example.test", None, {**VIA_P, "NO_PROXY": "example.test:443"}, None),
        ("https://10.1.2.3", None, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "10.0.0.0/8"}, None),
        ("https://10.1.2.3", None, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "10.1.2.3"}, None),
        ("https://10.1.2.3:6443", None, {**VIA_P, "NO_PROXY": "10.1.2.3:443"}, "http://p:1"),
        (
            "https://[fd00::1]:6443",
            None,
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "fd00::/8"},
            None,
        ),
        ("https://localhost:6443", None, {"HTTPS_PROXY": "http://p:1"}, None),
        ("https://127.0.0.2", None, {"HTTPS_PROXY": "http://p:1"}, None),
        ("https://[::1]:6443", None, {"HTTPS_PROXY": "http://p:1"}, None),
        ("http://plain.test", None, {"HTTPS_PROXY": "http://p:1"}, None),
        ("http://plain.test", None, {"HTTP_PROXY": "http://p:1"}, "http://p:1"),
    ],
)
def test_the_proxy_is_the_one_kubectl_would_use(server, proxy_url, environ, expected):
    assert cluster_proxy(server, proxy_url, environ) == expected
