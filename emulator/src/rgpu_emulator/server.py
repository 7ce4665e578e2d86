"""HTTP plumbing: two standard-library threading servers and the faults they apply.

The API port serves the emulated RemoteGPU API (plain HTTP on loopback, or TLS with `--api-tls`)
and the control plane under `/_emulator/`; the Kubernetes port always speaks TLS, with a CA and a
server certificate made at start (trustme). Every answer carries a `Date` from the emulator's
clock. HTTP/1.1 with keep-alive, so kubectl reuses its connections.

Stopping is prompt: the listening sockets close, and every open connection (idle keep-alive
ones included) is shut down rather than waited for; connection threads are daemons. A client
that resets or drops its connection is normal, not an emulator error: no traceback (one line
with --verbose).
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import sys
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from rgpu_emulator import control, protobuf
from rgpu_emulator.connections import CLIENT_GONE, TrackingServer
from rgpu_emulator.faults import (
    Fault,
    FaultQueue,
    Target,
    injected_error,
    replacement_body,
    replacement_content_type,
)
from rgpu_emulator.kube import KubeFront
from rgpu_emulator.kube_store import KubeError
from rgpu_emulator.models import Backend
from rgpu_emulator.responses import Endpoints, RemoteGpuApi, Request, Response

if TYPE_CHECKING:
    import trustme

    from rgpu_emulator.records import Settings

MAX_REQUEST_BYTES = 4 * 1024 * 1024
_HEALTH = ("/healthz", "/livez", "/readyz")
_POLL_SECONDS = 0.05  # how soon serve_forever notices a shutdown request


class _Server(TrackingServer):
    """A tracking server that knows its emulator (for the handlers)."""

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], emulator: Emulator,
        tls: ssl.SSLContext | None,
    ) -> None:  # fmt: skip
        self.emulator = emulator
        super().__init__(address, handler, tls, verbose=emulator.verbose)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, the client's delayed ACK
    # holds the body back (tens of ms per answer, which kubectl timings would carry).
    disable_nagle_algorithm = True
    server_version = "rgpu-emulator"
    sys_version = ""
    timeout = 120  # an idle keep-alive connection
    server: _Server
    _date_offset = 0.0

    def date_time_string(self, timestamp: float | None = None) -> str:  # noqa: ARG002
        now = self.server.emulator.backend.clock.now() + self._date_offset
        return formatdate(now, usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.emulator.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

    def _serve(self) -> None:
        self._date_offset = 0.0
        request = self._read_request()
        if request is None:
            return
        try:
            self.answer(request)
        except CLIENT_GONE:
            raise  # the client went away: nothing to answer (see _Server.handle_error)
        except Exception as error:  # a bug in the emulator: say so, keep serving
            print(f"rgpu-emulator: internal error: {error!r}", file=sys.stderr)
            body = {"error": {"code": "emulator_bug", "message": repr(error)}}
            self._send(Response(500, json.dumps(body).encode()))

    def answer(self, request: Request) -> None:
        raise NotImplementedError

    def _read_request(self) -> Request | None:
        url = urlsplit(self.path)
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            self._send(Response(411, b'{"error": {"code": "length_required", "message": '
                                b'"Send a Content-Length"}}'))  # fmt: skip
            self.close_connection = True
            return None
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_REQUEST_BYTES:
            self._send(Response(413, b'{"error": {"code": "too_large", "message": "Too large"}}'))
            self.close_connection = True
            return None
        body = self.rfile.read(length) if length else b""
        return Request(self.command, url.path, dict(parse_qsl(url.query)), self.headers, body)

    def _apply_fault_before(self, fault: Fault | None) -> bool:
        """Delay and drop; True when the connection was dropped."""
        if fault is None:
            return False
        self._date_offset = fault.date_offset or 0.0
        if fault.delay:
            time.sleep(fault.delay)
        if fault.drop == "before_response":
            self._drop()
            return True
        return False

    def _send(self, response: Response, fault: Fault | None = None) -> None:
        body = response.body
        content_type = response.content_type
        headers = dict(response.headers)
        if fault is not None:
            if fault.body is not None:
                body = replacement_body(fault.body, body)
            content_type = replacement_content_type(fault, content_type)
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
        self.send_response(response.status)
        if response.status != 204:  # noqa: PLR2004
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if fault is not None and fault.drop == "mid_body":
            self.wfile.write(body[: len(body) // 2])
            self._drop()
            return
        self.wfile.write(body)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _fault(self, target: Target) -> Fault | None:
        return self.server.emulator.faults.take(target)


class _ApiHandler(_Handler):
    def answer(self, request: Request) -> None:
        emulator = self.server.emulator
        if request.path.startswith(control.PREFIX):
            self._send(emulator.control.handle(request))
            return
        target: Target = "exchange" if emulator.api.is_exchange(request) else "api"
        fault = self._fault(target)
        if self._apply_fault_before(fault):
            emulator.log.add(request.method, request.path, None, fault=True)
            return
        if fault is not None and fault.status is not None:
            response = Response(fault.status, injected_error(fault.status))
        elif target == "exchange":
            delay = emulator.backend.settings.exchange_delay
            if delay:
                time.sleep(delay)
            response = emulator.api.exchange(request, fault.expires_in if fault else None)
        else:
            response = emulator.api.handle(request)
        emulator.log.add(request.method, request.path, response.status, fault=fault is not None)
        self._send(response, fault)


class _KubeHandler(_Handler):
    def answer(self, request: Request) -> None:
        emulator = self.server.emulator
        with emulator.backend.lock:
            emulator.backend.stats.kube_requests += 1
        latency = emulator.backend.settings.kube_latency
        if latency:  # a cluster across a network rather than on loopback (benchmarks)
            time.sleep(latency)
        fault = self._fault("kube")
        if self._apply_fault_before(fault):
            return
        if fault is not None and fault.status is not None:
            self._send(Response(fault.status, injected_error(fault.status)), fault)
            return
        if request.method == "GET" and request.path in _HEALTH:
            self._send(Response(200, b"ok", "text/plain; charset=utf-8"), fault)
            return
        try:
            who = emulator.kube.authenticate(self.headers.get("authorization"))
            body = _kube_body(request)
            status, document = emulator.kube.handle(
                request.method, request.path, query=request.query,
                accept=self.headers.get("accept", ""), who=who, body=body,
            )  # fmt: skip
        except KubeError as error:
            status, document = error.code, error.status()
        self._send(Response(status, json.dumps(document).encode()), fault)


def _kube_body(request: Request) -> Any:
    """The request's object, from JSON or (for the kinds kubectl sends that way) protobuf."""
    if not request.body:
        return None
    if request.headers.get("content-type", "").startswith(protobuf.CONTENT_TYPE):
        try:
            return protobuf.decode(request.body)
        except protobuf.ProtobufError as error:
            raise KubeError(415, "UnsupportedMediaType", str(error), {}) from None
    try:
        return json.loads(request.body)
    except ValueError:
        raise KubeError(400, "BadRequest", "the request body is not JSON", {}) from None


def _url(scheme: str, server: _Server) -> str:
    host, port = server.server_address[:2]
    host = str(host)
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


class Emulator:
    """Both listeners and everything they share. `start()`, then `stop()`."""

    def __init__(
        self, host: str = "127.0.0.1", api_port: int = 0, kube_port: int = 0, *,
        accounts: int = 2, settings: Settings | None = None, api_tls: bool = False,
        verbose: bool = False,
    ) -> None:  # fmt: skip
        import trustme  # noqa: PLC0415 - the emulator extra

        self.verbose = verbose
        self.backend = Backend(accounts, settings)
        self.faults = FaultQueue()
        self.log = control.RequestLog()
        self.ca: trustme.CA = trustme.CA(organization_name="rgpu-emulator")
        identities = dict.fromkeys([host, "localhost", "127.0.0.1", "::1"])
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.set_alpn_protocols(["http/1.1"])
        self.ca.issue_cert(*identities).configure_cert(context)
        self.kube_server = _Server((host, kube_port), _KubeHandler, self, context)
        self.api_server = _Server((host, api_port), _ApiHandler, self, context if api_tls else None)
        self.endpoints = Endpoints(
            api_url=_url("https" if api_tls else "http", self.api_server),
            kube_server=_url("https", self.kube_server),
            ca_data=base64.b64encode(self.ca.cert_pem.bytes()).decode(),
        )
        self.api = RemoteGpuApi(self.backend, self.endpoints)
        self.control = control.ControlPlane(self.backend, self.faults, self.log)
        self.kube = KubeFront(self.backend, self.endpoints.kube_server.split("://", 1)[1])
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for server in (self.api_server, self.kube_server):
            thread = threading.Thread(
                target=server.serve_forever, args=(_POLL_SECONDS,), daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop accepting, close the listening sockets, and end every open connection without
        waiting for idle keep-alive clients. Takes about one poll interval."""
        servers = (self.api_server, self.kube_server)
        for server in servers:
            if self._threads:  # shutdown() waits for serve_forever: only after start()
                server.shutdown()
            server.server_close()
        for server in servers:
            server.close_connections()
        for thread in self._threads:
            thread.join(timeout=1)
        self._threads.clear()

    def open_connections(self) -> int:
        """Connections still being served, on both ports."""
        return self.api_server.open_connections() + self.kube_server.open_connections()

    def ready_document(self, ca_file: str) -> dict[str, Any]:
        accounts = [{"id": a.id, "access_token": a.access_token} for a in self.backend.accounts]
        return {
            "api_url": self.endpoints.api_url,
            "kube_server": self.endpoints.kube_server,
            "ca_file": ca_file,
            "ca_data": self.endpoints.ca_data,
            "accounts": accounts,
        }
