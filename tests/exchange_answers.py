"""The API's fake for in-process tests (respx), and what kubectl sends and the API answers.

Two ways to script the API, both over respx (no socket is opened):
- `api` (conftest): the respx router at `API`, for a test that mocks one route itself:
      api.post(PATH).mock(return_value=credential_answer("tok-1", lifetime=600))
- `fake_api` (conftest): a `FakeApi` at `FAKE_API`, the exchange endpoint as the API serves it. It answers
  every POST carrying an `x-api-key` with the next scripted `Reply` (`fake_api.script`), else
  `fake_api.default` (a fresh token of `Reply.lifetime`), counts those requests, and records the
  path and headers (the key among them) of each (`requests`, `count`). A POST without the header
  (doctor's keyless probe) gets the API's 401 `missing_api_key` and is counted apart (`keyless`).

Where the socket is the point (sizes, gzip bombs, deadlines, trickling, proxies, what a process
does), tests use the emulator (`emulator_support`: its fault injection scripts failures) or a
server written in the test.
"""

from __future__ import annotations

import json
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, formatdate
from typing import TYPE_CHECKING, Any

import httpx
import respx

if TYPE_CHECKING:
    from collections.abc import Iterator

API = "https://api.example.test"  # the base URL of the `api` fixture (respx)
# The base URL of `FakeApi` (the `fake_api` fixture): plain http on loopback, as a local API is
# reached (no proxy, no TLS); nothing listens on port 8, so once the fake stops it is refused.
FAKE_API = "http://127.0.0.1:8"
V1 = "client.authentication.k8s.io/v1"
# KUBERNETES_EXEC_INFO as kubectl sends it: its JSON encoder ends the value with a newline.
KUBECTL_EXEC_INFO = (
    '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",'
    '"spec":{"interactive":false}}\n'
)


def stamp(moment: datetime) -> str:
    """An expirationTimestamp as the API writes it (whole seconds, UTC, `Z`)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def credential_body(
    token: str = "tok-1", expiry: datetime | None = None, version: str = "v1"
) -> dict[str, object]:
    """The ExecCredential the exchange answers; `expiry` defaults to 15 minutes from now."""
    expiry = expiry or datetime.now(timezone.utc) + timedelta(minutes=15)
    return {
        "apiVersion": f"client.authentication.k8s.io/{version}",
        "kind": "ExecCredential",
        "status": {"token": token, "expirationTimestamp": stamp(expiry)},
    }


def credential_answer(
    token: str = "tok-1",
    *,
    lifetime: float = 900,
    server_now: datetime | None = None,
    server_skew: float = 0,
    date: bool = True,
    body: object | None = None,
) -> httpx.Response:
    """The exchange's 200 answer: a token that lives `lifetime` seconds from the server's now
    (ours, to the second, moved by `server_skew` seconds, unless given), with that now in the
    Date header (none if `date` is false). `body` replaces the ExecCredential when given."""
    now = server_now or datetime.now(timezone.utc).replace(microsecond=0)
    now += timedelta(seconds=server_skew)
    if body is None:
        body = credential_body(token, now + timedelta(seconds=lifetime))
    headers = {"date": format_datetime(now, usegmt=True)} if date else {}
    return httpx.Response(200, json=body, headers=headers)


# How the API refuses: a revoked key (401) and a namespace out of the key's scope (403), in its
# error shape (docs/api-contract.md).
REVOKED = {
    "error": {"code": "revoked_api_key", "message": "Missing, invalid, revoked, or expired API key"}
}
FORBIDDEN = {"error": {"code": "forbidden", "message": "The API key may not access this namespace"}}


@dataclass
class Reply:
    """One answer of `FakeApi`: `status`, `body` (None: a valid ExecCredential with a fresh
    token, `fake-token-N` for the Nth request, that lives `lifetime` seconds), `headers` (over
    content-type and date), and `delay` seconds before it (slept in the request's thread)."""

    status: int = 200
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    lifetime: float = 900.0


def error_body(code: str, message: str) -> bytes:
    """The API's error shape (docs/api-contract.md)."""
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class FakeApi:
    """The exchange endpoint at `url`, over respx: see the module's docstring."""

    def __init__(self, url: str = FAKE_API) -> None:
        self.url = url
        self.requests: list[dict[str, Any]] = []
        self.script: list[Reply] = []
        self.default = Reply()
        self.keyless = 0
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    @contextmanager
    def serving(self) -> Iterator[FakeApi]:
        """Answer at `url` while it runs; requests elsewhere go to the network, as without it
        (a refused port stays refused)."""
        with respx.mock(assert_all_called=False) as router:
            here = re.escape(self.url.rstrip("/")) + "(/|$)"
            router.post(url__regex=here).mock(side_effect=self._answer)
            router.route().pass_through()
            yield self

    def _answer(self, request: httpx.Request) -> httpx.Response:
        if "x-api-key" not in request.headers:
            with self._lock:
                self.keyless += 1
            return self._response(Reply(401), error_body("missing_api_key", "Missing API key"))
        with self._lock:
            headers = {name.lower(): value for name, value in request.headers.items()}
            self.requests.append({"path": request.url.path, "headers": headers})
            reply = self.script.pop(0) if self.script else self.default
            token = f"fake-token-{len(self.requests)}"
        if reply.delay:
            time.sleep(reply.delay)
        body = reply.body
        if body is None:
            expiry = datetime.now(timezone.utc) + timedelta(seconds=reply.lifetime)
            body = json.dumps(credential_body(token, expiry)).encode()
        return self._response(reply, body)

    @staticmethod
    def _response(reply: Reply, body: bytes) -> httpx.Response:
        headers = {"content-type": "application/json", "date": formatdate(usegmt=True)}
        headers.update(reply.headers)
        return httpx.Response(reply.status, content=body, headers=headers)
