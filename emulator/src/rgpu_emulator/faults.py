"""Fault injection: what the next matching requests should suffer instead of a clean answer.

A fault is posted to `/_emulator/faults` as JSON and applies to the next `count` requests of its
`target` (`null` count: until the faults are cleared). The server (`server.py`) applies it:
    delay          seconds to wait before answering (the real answer follows, unless more below)
    drop           "before_response": close the connection without a byte of answer;
                   "mid_body": send the headers and half the body, then close
    status         answer this status (with `retry_after` as the Retry-After header) and an
                   error body, instead of handling the request at all
    body           replace the answer's body: "garbage", "truncated" (the real body cut in half,
                   Content-Length to match), "oversized" (2 MiB), "empty", "wrong_shape",
                   "html" (a proxy's or captive portal's error page, served as text/html)
    content_type   replace the answer's Content-Type
    expires_in     exchange only: the token's expiry, in seconds from now (negative: the past)
    date_offset    shift the Date header by this many seconds (a far-off server clock)
Targets: "exchange" (the credential exchange), "api" (any RemoteGPU API request), "kube" (the
Kubernetes front).
"""

from __future__ import annotations

import json
import threading
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Target = Literal["exchange", "api", "kube"]
OVERSIZED_BYTES = 2 * 1024 * 1024


class Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: Target = "exchange"
    count: int | None = Field(default=1, ge=1)
    delay: float = Field(default=0.0, ge=0.0, le=600.0)
    drop: Literal["before_response", "mid_body"] | None = None
    status: int | None = Field(default=None, ge=100, le=599)
    retry_after: str | None = None
    body: Literal["garbage", "truncated", "oversized", "empty", "wrong_shape", "html"] | None = None
    content_type: str | None = None
    expires_in: float | None = None
    date_offset: float | None = None

    def applies_to(self, target: Target) -> bool:
        return self.target == target or (self.target == "api" and target == "exchange")


# What a proxy or a captive portal answers in the API's place (an error page, or its login page).
HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><h1>Bad Gateway"
    b"</h1><p>The proxy server received an invalid response from an upstream server.</p>\n"
    b"<hr><address>proxy at gateway.example.test</address></body></html>\n"
)
HTML_CONTENT_TYPE = "text/html; charset=utf-8"


def replacement_content_type(fault: Fault, real: str) -> str:
    """The Content-Type of an answer this fault changes: its own, else text/html for an HTML
    page, else the real one."""
    if fault.content_type:
        return fault.content_type
    return HTML_CONTENT_TYPE if fault.body == "html" else real


def replacement_body(kind: str, real: bytes) -> bytes:
    if kind == "html":
        return HTML_PAGE
    if kind == "garbage":
        return b"\x00\xff<html>\x1b[31m not json {{{ \xfe\xfd"
    if kind == "truncated":
        return real[: max(1, len(real) // 2)]
    if kind == "oversized":
        padding = "x" * OVERSIZED_BYTES
        return json.dumps({"kind": "ExecCredential", "padding": padding}).encode()
    if kind == "wrong_shape":
        return b'{"hello": "world"}'
    return b""


def injected_error(status: int) -> bytes:
    message = f"Injected fault: HTTP {status}"
    return json.dumps({"error": {"code": "injected_fault", "message": message}}).encode()


class FaultQueue:
    """The pending faults, first posted first applied. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, faults: list[Fault]) -> None:
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return [fault.model_copy() for fault in self._faults]

    def take(self, target: Target) -> Fault | None:
        """The fault for this request, if any, counting it as used."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.applies_to(target):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count == 0:
                            del self._faults[index]
                    return fault.model_copy()
            return None
