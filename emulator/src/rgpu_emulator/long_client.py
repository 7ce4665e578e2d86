"""A long-running official Python client (`kubernetes`) against the emulator through rgpu-exec,
over token lifetimes of virtual time: how often it runs the plugin, how many exchanges it costs.

    python -m rgpu_emulator.long_client --ready-file READY --namespace NAME --namespace-id ID \\
        --workdir DIR [--lifetimes 2] [--rate 2] [--withhold-exec-info]

prints one JSON object: requests, failed requests, plugin runs, exchanges, the token lifetime and
the virtual and real seconds. Run it with the environment the plugin should see (the API key,
`RGPU_EXEC_CACHE_DIR`): the client hands its own environment to the plugin, and the plugin's
parent process is this one, as in a real long-running program.

Why virtual time. The client runs the plugin once less than 5 minutes remain before the expiry
it was told (`EXPIRY_SKEW_PREVENTION_DELAY`), a constant; rgpu-exec's own margins are constants
too. So two lifetimes of a token long enough for both rules to play (more than 5.5 minutes) take
more than 11 minutes of real time. Instead one clock runs ahead of real time, by an offset that
this driver moves on by 1/rate seconds per request: the client reads it (its module's `datetime`
is swapped for one that adds the offset; the client's own rule is unchanged), each plugin run
reads it (`time.time` plus the offset, set before rgpu-exec is imported), and so does the
emulator (its clock control). Real time goes on too, so the three clocks agree.

`--withhold-exec-info` removes KUBERNETES_EXEC_INFO before rgpu-exec runs: its answer is the same
(v1, not interactive), but rgpu-exec cannot tell an exec-protocol client, so it never judges a
second ask (see `rgpu_exec.hotpath.second_ask`): the behaviour before that rule, for comparison.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import types
from pathlib import Path
from typing import Any

from rgpu_emulator.testing import EmulatorClient, Ready, exec_kubeconfig, write_kubeconfig

# The plugin as the client runs it: rgpu-exec's launcher code, on the shared virtual clock.
_PLUGIN = """\
import os, sys, time
with open(sys.argv[1]) as clock:
    offset = float(clock.read())
with open(sys.argv[2], "a") as runs:
    runs.write(f"{time.time() + offset!r}\\n")
real_time = time.time
time.time = lambda: real_time() + offset
if sys.argv[3] == "withhold":
    os.environ.pop("KUBERNETES_EXEC_INFO", None)
from rgpu_exec.hotpath.cache_hit import main
code = main(sys.argv[4:])
if code is None:
    from rgpu_exec.cli import main as full_command
    code = full_command(sys.argv[4:])
sys.exit(code)
"""


class VirtualClock:
    """Real time plus an offset, shared with the plugin (a file) and the emulator (its clock)."""

    def __init__(self, path: Path, emulator: EmulatorClient) -> None:
        self.path = path
        self.emulator = emulator
        self.offset = 0.0
        self.read_by_client = 0
        self._publish()

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        self._publish()

    def _publish(self) -> None:
        self.path.write_text(repr(self.offset))
        self.emulator.set_clock(offset=self.offset)


def _client_on(clock: VirtualClock) -> None:
    """Make the `kubernetes` client read `clock` for its expiry rule, and nothing else."""
    from kubernetes.config import kube_config  # noqa: PLC0415 - a dev dependency, loaded here

    class _Datetime(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> _Datetime:
            clock.read_by_client += 1
            return cls.fromtimestamp(clock.now(), tz)

    shim = types.ModuleType("datetime")
    shim.__dict__.update(vars(dt))
    shim.__dict__["datetime"] = _Datetime
    kube_config.__dict__["datetime"] = shim


def drive(
    ready: Ready, namespace: str, namespace_id: str, workdir: Path, *, lifetimes: float = 2.0,
    rate: float = 2.0, withhold_exec_info: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Run the client for `lifetimes` token lifetimes of virtual time, `rate` requests a second."""
    from kubernetes import client, config  # noqa: PLC0415 - a dev dependency, loaded here

    emulator = EmulatorClient(ready)
    workdir.mkdir(parents=True, exist_ok=True)
    clock = VirtualClock(workdir / "virtual-clock", emulator)
    runs_file = workdir / "plugin-runs"
    runs_file.write_text("")
    kubeconfig = exec_kubeconfig(ready, sys.executable, [(namespace, namespace_id)])
    stanza = kubeconfig["users"][0]["user"]["exec"]
    mode = "withhold" if withhold_exec_info else "pass"
    stanza["args"] = ["-c", _PLUGIN, str(clock.path), str(runs_file), mode, *stanza["args"]]
    path = write_kubeconfig(workdir / "kubeconfig", kubeconfig)
    _client_on(clock)

    ttl = float(emulator.configure()["token_ttl"])
    exchanges_before = emulator.exchanges()
    started, real_started = clock.now(), time.monotonic()
    requests, failures = 0, 0
    api_client = config.new_client_from_config(config_file=str(path))  # type: ignore[no-untyped-call]
    with api_client:
        core = client.CoreV1Api(api_client)
        while clock.now() - started < lifetimes * ttl:
            requests += 1
            try:
                core.list_namespaced_pod(namespace)
            except client.ApiException:
                failures += 1
            clock.advance(1 / rate)
    if not clock.read_by_client:
        msg = "the client never read the virtual clock: its expiry rule has moved"
        raise RuntimeError(msg)
    runs = [float(line) - started for line in runs_file.read_text().split()]
    result = {
        "token_ttl_s": ttl,
        "lifetimes": lifetimes,
        "rate_per_s": rate,
        "exec_info": "withheld" if withhold_exec_info else "passed",
        "virtual_seconds": round(clock.now() - started, 1),
        "real_seconds": round(time.monotonic() - real_started, 1),
        "requests": requests,
        "failed_requests": failures,
        "plugin_runs": len(runs),
        "plugin_runs_by_lifetime": [
            sum(1 for at in runs if n * ttl <= at < (n + 1) * ttl) for n in range(int(lifetimes))
        ],
        "exchanges": emulator.exchanges() - exchanges_before,
    }
    emulator.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--namespace-id", required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--lifetimes", type=float, default=2.0)
    parser.add_argument("--rate", type=float, default=2.0, help="requests per virtual second")
    parser.add_argument("--withhold-exec-info", action="store_true")
    args = parser.parse_args(argv)
    ready = Ready.parse(args.ready_file.read_text())
    result = drive(
        ready, args.namespace, args.namespace_id, args.workdir, lifetimes=args.lifetimes,
        rate=args.rate, withhold_exec_info=args.withhold_exec_info,
    )  # fmt: skip
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
