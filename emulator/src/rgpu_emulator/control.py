"""The test control plane under `/_emulator/`, apart from the emulated API (like moto's /moto-api).

    GET  /_emulator/stats          {"exchanges": {"total", "by_namespace", "by_key"},
                                    "kube_requests"}
    POST /_emulator/stats/reset    zero the counters only
    POST /_emulator/reset          forget namespaces, keys, tokens, objects, counters, faults,
                                   clock offset and settings (the accounts stay)
    GET|POST|DELETE /_emulator/faults   list, add (one fault or {"faults": [...]}), clear
    GET|POST /_emulator/clock      {"offset": s} sets, {"advance": s} adds; answers offset and now
    GET|POST /_emulator/settings   {"token_ttl", "exchange_delay", "kube_latency",
                                    "max_active_keys"} (delays in seconds)
    POST /_emulator/tokens/lookup  {"token"} -> key id and prefix, account, namespace, expiry
    POST /_emulator/tokens/invalidate   {} (all), {"key_id"} and/or {"namespace_id"}: the
                                   Kubernetes front rejects those tokens (401) from now on,
                                   without moving the clock -> {"invalidated": n}
    GET  /_emulator/requests       the RemoteGPU API requests served (method, path, status, fault)
    GET  /_emulator/accounts       [{"id", "access_token"}]
Exchanges count tokens actually issued (not refusals, not injected failures).
"""

from __future__ import annotations

import collections
import threading
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rgpu_emulator import exceptions as exc
from rgpu_emulator.faults import Fault, FaultQueue
from rgpu_emulator.records import Stats, rfc3339
from rgpu_emulator.responses import Request, Response, error_response, json_body, json_response

if TYPE_CHECKING:
    from rgpu_emulator.models import Backend

PREFIX = "/_emulator/"
_LOG_SIZE = 10_000


class _Clock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offset: float | None = None
    advance: float | None = None


class _Invalidate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key_id: str | None = None
    namespace_id: str | None = None


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token_ttl: float | None = Field(default=None, gt=0)
    exchange_delay: float | None = Field(default=None, ge=0, le=60)
    kube_latency: float | None = Field(default=None, ge=0, le=60)
    max_active_keys: int | None = Field(default=None, ge=0)


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=_LOG_SIZE)

    def add(self, method: str, path: str, status: int | None, fault: bool) -> None:
        with self._lock:
            self._entries.append({"method": method, "path": path, "status": status, "fault": fault})

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class ControlPlane:
    def __init__(self, backend: Backend, faults: FaultQueue, log: RequestLog) -> None:
        self.backend = backend
        self.faults = faults
        self.log = log

    def handle(self, request: Request) -> Response:
        try:
            return self._route(request)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                for e in error.errors(include_url=False)
            )
            return error_response(exc.BadRequestError("invalid_request", problems))
        except exc.ApiError as error:
            return error_response(error)

    def _route(self, request: Request) -> Response:
        what = (request.method, request.path.removeprefix(PREFIX).rstrip("/"))
        backend = self.backend
        if what == ("GET", "stats"):
            with backend.lock:
                return json_response(200, backend.stats.to_json())
        if what == ("POST", "stats/reset"):
            with backend.lock:
                backend.stats = Stats()
            return json_response(200, backend.stats.to_json())
        if what == ("POST", "reset"):
            backend.reset()
            self.faults.clear()
            self.log.clear()
            return json_response(200, {"reset": True})
        if what[1] == "faults":
            return self._faults(request)
        if what[1] == "clock":
            if request.method == "POST":
                change = _Clock.model_validate(json_body(request))
                with backend.lock:
                    if change.offset is not None:
                        backend.clock.offset = change.offset
                    backend.clock.offset += change.advance or 0.0
            elif request.method != "GET":
                raise exc.ApiError("method_not_allowed", "Method not allowed", 405)
            now = backend.clock.now()
            return json_response(200, {"offset": backend.clock.offset, "now": rfc3339(now)})
        if what[1] == "settings":
            if request.method == "POST":
                settings = _Settings.model_validate(json_body(request))
                with backend.lock:
                    for name, value in settings.model_dump(exclude_none=True).items():
                        setattr(backend.settings, name, value)
            return json_response(200, vars(backend.settings))
        if what == ("POST", "tokens/lookup"):
            token = json_body(request).get("token")
            described = backend.describe_token(token) if isinstance(token, str) else None
            if described is None:
                raise exc.NotFoundError("token_not_found", "No such token was issued")
            return json_response(200, described)
        if what == ("POST", "tokens/invalidate"):
            which = _Invalidate.model_validate(json_body(request))
            count = backend.invalidate_tokens(which.key_id, which.namespace_id)
            return json_response(200, {"invalidated": count})
        if what == ("GET", "requests"):
            return json_response(200, {"items": self.log.entries()})
        if what == ("GET", "accounts"):
            accounts = [{"id": a.id, "access_token": a.access_token} for a in backend.accounts]
            return json_response(200, {"items": accounts})
        raise exc.NotFoundError("not_found", f"No such control endpoint: {request.path}")

    def _faults(self, request: Request) -> Response:
        if request.method == "POST":
            body = json_body(request)
            raw = body["faults"] if set(body) == {"faults"} else [body]
            if not isinstance(raw, list):
                raise exc.BadRequestError("invalid_request", "faults must be a list")
            self.faults.add([Fault.model_validate(item) for item in raw])
        elif request.method == "DELETE":
            self.faults.clear()
        elif request.method != "GET":
            raise exc.ApiError("method_not_allowed", "Method not allowed", 405)
        pending = [fault.model_dump() for fault in self.faults.pending()]
        return json_response(200, {"items": pending})
