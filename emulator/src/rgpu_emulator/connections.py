"""Connections of the emulator's servers: served in threads, TLS when asked, all ended at stop.

A client that resets or drops its connection is normal, not an emulator error: no traceback (one
line with --verbose).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# A client going away mid-connection (reset, broken pipe, TLS cut short, idle timeout).
CLIENT_GONE = (ConnectionError, ssl.SSLError, TimeoutError)


class TrackingServer(ThreadingHTTPServer):
    """Serves each connection in a daemon thread (TLS when given a context, the handshake in that
    thread), and keeps every open connection so that `close_connections` can end them all."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
        tls: ssl.SSLContext | None, *, verbose: bool = False,
    ) -> None:  # fmt: skip
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.tls = tls
        self.verbose = verbose
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self._closing = False
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self._tracked(request) as track:
            if self.tls is None:
                super().finish_request(request, client_address)
                return
            request.settimeout(10)  # the handshake, in this connection's own thread
            try:
                wrapped = self.tls.wrap_socket(
                    request, server_side=True, do_handshake_on_connect=False
                )
            except (ssl.SSLError, OSError):
                return
            track(wrapped)  # wrapping detached `request`: shut the TLS socket down instead
            try:
                try:
                    wrapped.do_handshake()
                except (ssl.SSLError, OSError):
                    return
                super().finish_request(wrapped, client_address)
            finally:
                wrapped.close()

    @contextlib.contextmanager
    def _tracked(self, connection: socket.socket) -> Any:
        """Keep the connection in the open set while it is served, so `close_connections`
        can end it; yields a function that swaps in the socket to track instead."""
        current = [connection]

        def track(replacement: socket.socket) -> None:
            with self._open_lock:
                self._open.discard(current[0])
                current[0] = replacement
                self._open.add(replacement)
                closing = self._closing
            if closing:
                _shut(replacement)

        with self._open_lock:
            self._open.add(connection)
            closing = self._closing
        if closing:
            _shut(connection)
        try:
            yield track
        finally:
            with self._open_lock:
                self._open.discard(current[0])

    def close_connections(self) -> None:
        """Shut down every open connection (idle keep-alive ones too); their threads then see
        end-of-file and finish. New connections accepted meanwhile are shut at once."""
        with self._open_lock:
            self._closing = True
            connections = list(self._open)
        for connection in connections:
            _shut(connection)

    def open_connections(self) -> int:
        with self._open_lock:
            return len(self._open)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, CLIENT_GONE):
            super().handle_error(request, client_address)  # an emulator bug: the traceback
            return
        if self.verbose:
            host, port = client_address[:2]
            print(
                f"rgpu-emulator: the connection from {host}:{port} ended early "
                f"({type(error).__name__}: {error})",
                file=sys.stderr,
            )


def _shut(connection: socket.socket) -> None:
    """Shut the connection's socket down (the TCP level, even under TLS: another thread may
    be in the TLS handshake or a read); its thread then sees end-of-file and finishes."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(connection, socket.SHUT_RDWR)
