"""A loopback HTTP stub of the exchange endpoint, for process-level tests of `rgpu-exec token`.

It answers every POST carrying an `x-api-key` with the next scripted reply (or the default one),
counts those requests, and records the key each one carried. A POST without the header (the
probe of `rgpu-exec doctor`) gets the API's 401 `missing_api_key`, and is counted apart
(`keyless`). The full emulator lives in `rgpu_emulator`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from typing_extensions import Self


@dataclass
class Reply:
    status: int = 200
    body: bytes | None = None  # None: a valid ExecCredential
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    lifetime: float = 900.0


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class StubApi:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[Reply] = []
        self.default = Reply()
        self.token_counter = 0
        self.keyless = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # serve_forever notices shutdown() at its poll: 0.5 s by default, paid by every test at teardown
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def _next(self, path: str, headers: dict[str, str]) -> tuple[Reply, str]:
        with self._lock:
            self.requests.append({"path": path, "headers": headers})
            self.token_counter += 1
            reply = self.script.pop(0) if self.script else self.default
            return reply, f"stub-token-{self.token_counter}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                if "x-api-key" not in self.headers:
                    with stub._lock:
                        stub.keyless += 1
                    missing = error_body("missing_api_key", "Missing API key")
                    self._send(Reply(401, missing), missing)
                    return
                reply, token = stub._next(
                    self.path, {k.lower(): v for k, v in self.headers.items()}
                )
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body
                if body is None:
                    expiry = time.time() + reply.lifetime
                    body = json.dumps(
                        {
                            "apiVersion": "client.authentication.k8s.io/v1",
                            "kind": "ExecCredential",
                            "status": {
                                "token": token,
                                "expirationTimestamp": time.strftime(
                                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(expiry)
                                ),
                            },
                        }
                    ).encode()
                self._send(reply, body)

            def _send(self, reply: Reply, body: bytes) -> None:
                self.send_response(reply.status)
                headers = {"content-type": "application/json", "date": formatdate(usegmt=True)}
                headers.update(reply.headers)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        return Handler
