"""A server a test writes itself (a proxy, a cluster that trickles, a plain-http port), served
in a thread for as long as the test needs it. The one way the tests start such a server."""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import socketserver
    from collections.abc import Iterator

Server = TypeVar("Server", bound="socketserver.BaseServer")

# How often the serving thread looks whether it should stop. `serve_forever`'s default, half a
# second, is what each test would wait in its teardown (a sixth of the quick loop, once).
POLL_SECONDS = 0.01


@contextlib.contextmanager
def serving(server: Server) -> Iterator[Server]:
    """Serve `server` in a daemon thread during the block; then stop it, close its socket and
    wait for the thread."""
    thread = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
