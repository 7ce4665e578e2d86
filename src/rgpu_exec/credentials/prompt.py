"""A key typed at the terminal: no echo, and a bounded wait (kubectl waits for the plugin as
long as it takes, so the plugin never waits for ever: kubelogin bounds its own wait too)."""

from __future__ import annotations

import os
import select
import time

from rgpu_exec import output

# How long a prompt for a key waits for it.
PROMPT_TIMEOUT = 120.0


def read_hidden(prompt: str, timeout: float = PROMPT_TIMEOUT) -> str:
    """A line typed on the terminal without echo, as getpass reads it, but waiting at most
    `timeout` seconds (TimeoutError). Where there is no termios (Windows), getpass itself."""
    try:
        import termios  # noqa: PLC0415 - POSIX only
    except ImportError:
        return output.ask_hidden(prompt)
    fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    try:
        old = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~termios.ECHO
        os.write(fd, output.clean(prompt).encode())  # the terminal, through the output gate
        termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
        try:
            return _read_line(fd, time.monotonic() + timeout)
        finally:
            termios.tcsetattr(fd, termios.TCSAFLUSH, old)
            os.write(fd, b"\n")
    finally:
        os.close(fd)


def _read_line(fd: int, give_up_at: float) -> str:
    data = b""
    while not data.endswith(b"\n"):
        left = give_up_at - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError
        chunk = os.read(fd, 4096)
        if not chunk:
            if not data:
                raise EOFError
            break
        data += chunk
    return data.decode(errors="replace").rstrip("\r\n")
