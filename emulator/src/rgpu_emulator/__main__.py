"""`rgpu-emulator` / `python -m rgpu_emulator`: run the emulator until SIGTERM or SIGINT.

When both ports listen, prints one JSON line and writes the same object to `--ready-file`:
{"api_url", "kube_server", "ca_file", "ca_data", "accounts": [{"id", "access_token"}]}, and
with `--seed` also "seed": a namespace, an API key for it and the console's kubeconfig file
(`rgpu_emulator.seed`), with the shell lines that try rgpu-exec with them on stderr.
The CA certificate lives in a private temporary directory (under $TMPDIR), removed at exit.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from rgpu_emulator.records import DEFAULT_MAX_ACTIVE_KEYS, DEFAULT_TOKEN_TTL, Settings

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

MAX_KUBE_LATENCY_MS = 60_000  # as the control plane's limit on the setting (60 s)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rgpu-emulator",
        description="A local stand-in for the RemoteGPU API and a Kubernetes API front, for "
        "tests and demos. Loopback only by default; state is in memory.",
        epilog="examples:\n  rgpu-emulator --seed\n"
        "  rgpu-emulator --ready-file /tmp/emu/ready.json --token-ttl 120",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: %(default)s); a non-loopback address needs "
        "--allow-non-loopback",
    )
    parser.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="bind a non-loopback --host: the emulator has no real authentication and hands "
        "out its CA and access tokens to whoever asks, so only do this on a network you trust",
    )
    parser.add_argument("--api-port", type=int, default=0, help="RemoteGPU API port (0: any free)")
    parser.add_argument(
        "--kube-port", type=int, default=0, help="Kubernetes API port (0: any free)"
    )
    parser.add_argument("--ready-file", help="write the ready JSON here once listening")
    parser.add_argument(
        "--token-ttl", type=float, default=DEFAULT_TOKEN_TTL,
        help="lifetime of issued tokens in seconds (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--accounts", type=int, default=2, help="accounts to create (default: 2)")
    parser.add_argument(
        "--max-active-keys", type=int, default=DEFAULT_MAX_ACTIVE_KEYS,
        help="active API keys allowed per account (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--api-tls", action="store_true", help="serve the RemoteGPU API over TLS (same CA)"
    )
    parser.add_argument(
        "--kube-latency-ms", type=float, default=0.0, metavar="MS",
        help="delay every request of the Kubernetes front by MS milliseconds, as a cluster "
        "across a network would (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        "--seed",
        action="store_true",
        help="create a namespace (team-ml) and an API key for it in the first account, write "
        'the console\'s kubeconfig for it, put them all in the ready document under "seed", '
        "and print on stderr the commands that try rgpu-exec with them",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


_STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


def _stop_signals_mask(how: int) -> None:
    """The server threads start with SIGTERM and SIGINT blocked (they inherit the mask), so
    the signals always reach the main thread, which then wakes at once."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(how, _STOP_SIGNALS)


def _write_atomically(path: str, text: str) -> None:
    """0600 through an exclusive, unpredictable temp file beside `path` (never through a
    symlink planted at a predictable name), then a rename: the ready file holds access tokens."""
    fd, tmp = tempfile.mkstemp(prefix=".rgpu-emulator-ready.", dir=Path(path).parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: O_EXCL, mode 0600
            handle.write(text)
        os.replace(tmp, path)  # noqa: PTH105
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # noqa: PTH108
        raise


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not _loopback(args.host):
        if not args.allow_non_loopback:
            print(
                f"rgpu-emulator: refusing to bind {args.host}, which is not a loopback address: "
                "the emulator has no real authentication and serves its CA and access tokens to "
                "anyone who connects. Add --allow-non-loopback if you mean it.",
                file=sys.stderr,
            )
            return 2
        print(
            f"rgpu-emulator: warning: listening on {args.host}, reachable from the network: "
            "anyone who connects can get the emulator's tokens.",
            file=sys.stderr,
        )
    if args.token_ttl <= 0 or args.accounts < 1 or args.max_active_keys < 0:
        print("rgpu-emulator: --token-ttl and --accounts must be positive.", file=sys.stderr)
        return 2
    if not 0 <= args.kube_latency_ms <= MAX_KUBE_LATENCY_MS:
        print(
            f"rgpu-emulator: --kube-latency-ms must be between 0 and {MAX_KUBE_LATENCY_MS}.",
            file=sys.stderr,
        )
        return 2
    from rgpu_emulator.server import Emulator  # noqa: PLC0415

    settings = Settings(
        token_ttl=args.token_ttl, max_active_keys=args.max_active_keys,
        kube_latency=args.kube_latency_ms / 1000,
    )  # fmt: skip
    try:
        emulator = Emulator(
            args.host, args.api_port, args.kube_port, accounts=args.accounts,
            settings=settings, api_tls=args.api_tls, verbose=args.verbose,
        )  # fmt: skip
    except OSError as exc:
        print(f"rgpu-emulator: cannot listen on {args.host}: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    state_dir = tempfile.mkdtemp(prefix="rgpu-emulator-")
    try:
        ca_file = os.path.join(state_dir, "ca.pem")  # noqa: PTH118
        emulator.ca.cert_pem.write_to_path(ca_file)
        _stop_signals_mask(signal.SIG_BLOCK)
        try:
            emulator.start()
        finally:
            _stop_signals_mask(signal.SIG_UNBLOCK)
        document = emulator.ready_document(ca_file)
        if args.seed:
            from rgpu_emulator.seed import seed, try_it  # noqa: PLC0415

            document["seed"] = seed(emulator, state_dir)
            print(try_it(document, document["seed"]), file=sys.stderr, flush=True)
        ready = json.dumps(document)
        if args.ready_file:
            _write_atomically(args.ready_file, ready + "\n")
        print(ready, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
        if args.ready_file:
            with contextlib.suppress(OSError):
                os.unlink(args.ready_file)  # noqa: PTH108
    return 0


if __name__ == "__main__":
    sys.exit(main())
