"""Run mutmut's mutants against the tests that cover them, collected once, one fork a mutant.

`mutmut run` starts pytest again for every mutant (`pytest.main` with its test IDs): on a busy
2-core machine, collecting a few hundred tests costs more than running them, and a mutant
waits minutes. This runner reads what `mutmut run` wrote (the mutated copies in `mutants/`, the
tests that cover each function and their durations in `mutants/mutmut-stats.json`), collects
the tests once, then for each mutant forks, makes it the active one and runs its tests,
stopping at the first failure, as mutmut does.
It writes each verdict where `mutmut run` writes it (the `.meta` files), so `mutmut results`,
`mutmut show` and `tests/mutation/score.py` read them as mutmut's own.

The same mutants as mutmut's, each against the tests that cover its function. A test that fails with a mutant is run again without one, and kills nothing if it
fails then too. What differs, and why:
- Order. The tests that killed a mutant of the same function go first (a function's mutants
  mostly die by the same test); then the rest, fastest first. The order changes how soon a
  mutant dies, never whether it does.
- Timeouts. A test still running with a mutant after `--limit` times its time in the stats (at
  least 10 s) hangs: the mutant is killed as a timeout then. mutmut applies the same factor to
  the whole set's time, which is minutes for a function hundreds of tests cover; so a mutant
  that makes one test 15 times slower is a timeout here, where mutmut might let it pass.
- The property tests try a fifth of their examples (hypothesis profile `quick`, as in
  `make test-fast`). A mutant only the rest would find counts as survived: the score can only
  be lower for it.
- The tests `[tool.mutmut]` leaves out (the scans of the source text, which read the files and
  never a mutant) are left out here too, also where older stats list them.
`--budget` (seconds a mutant) is a shortcut: a mutant still alive when its budget runs out is
left "not run" (never counted killed). `--random SEED` runs the mutants in a random order, so
that a run stopped early leaves a fair sample of every module; `--shard K/N` runs the K-th of N
shares (by function), for N runs side by side.

    .venv/bin/mutmut run 'rgpu_exec.redact*'     # once: the mutants and the stats (stop it
                                                 # when it starts running mutants)
    PYTHONPATH=mutants/src .venv/bin/python tests/mutation/in_process.py 'rgpu_exec.redact*'
"""

from __future__ import annotations

import argparse
import fcntl
import fnmatch
import importlib.util
import json
import os
import random
import re
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = ROOT / "mutants"
# mutmut's exit codes (`mutmut.stats.status_by_exit_code`)
KILLED, SURVIVED, TIMEOUT, NO_TESTS = 1, 0, 36, 33
LEAST_LIMIT = 10.0
OUT_OF_BUDGET = 2
# Past its budget, a mutant whose test runs this much longer hangs: killed as a timeout (no
# quick test takes a minute; mutmut's own limit is 15 times a test's time).
HANG = 60.0


def metas() -> Iterator[Path]:
    yield from sorted((MUTANTS / "src").rglob("*.py.meta"))


def wanted(
    patterns: list[str], *, again: bool, alive: bool = False, only_alive: bool = False
) -> dict[str, Path]:
    """The mutants named by `patterns` (mutmut's names, `fnmatch` patterns), with their `.meta`;
    only those not run yet (`alive`: or survived, or with no test; `only_alive`: only those),
    unless `again`."""
    found: dict[str, Path] = {}
    for meta in metas():
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        for name, code in codes.items():
            alive_now = code in {SURVIVED, NO_TESTS}
            chosen = alive_now if only_alive else code is None or (alive and alive_now)
            if (again or chosen) and any(fnmatch.fnmatchcase(name, p) for p in patterns):
                found[name] = meta
    return found


def record(verdicts: dict[str, int | None], where: dict[str, Path]) -> None:
    """Write `verdicts` into their `.meta` files, each read again under a lock: the shards of
    one run (`--shard`) share the files."""
    with (MUTANTS / "in_process.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for meta in {where[name] for name in verdicts}:
            data = json.loads(meta.read_text(encoding="utf-8"))
            for name, code in verdicts.items():
                if where[name] == meta:
                    data["exit_code_by_key"][name] = code
            meta.write_text(json.dumps(data, indent=4), encoding="utf-8")


class Runner:
    """A pytest plugin: replaces the test loop with one run a mutant, each in a fork."""

    def __init__(
        self,
        tests_of: dict[str, list[str]],
        durations: dict[str, float],
        limit: float,
        budget: float | None,
    ) -> None:
        self.tests_of = tests_of
        self.seed: int | None = None
        self.durations = durations
        self.limit = limit
        self.budget = budget
        self.where: dict[str, Path] = {}
        self.extra: set[str] = set()
        self.verdicts: dict[str, int | None] = {}
        self.clean: dict[str, bool] = {}
        # The tests that killed a mutant of each function, the latest first: tried first on its
        # other mutants. The order changes how soon a mutant dies, never whether it does.
        self.killers: dict[str, list[str]] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        items = {item.nodeid: item for item in session.items}
        extra = [i for i in session.items if i.nodeid.split("::")[0] in self.extra]
        queue = sorted(self.tests_of.items())
        if self.seed is not None:  # a random order: stopped early, what ran is a fair sample
            random.Random(self.seed).shuffle(queue)
        for count, (name, tests) in enumerate(queue, 1):
            function = name.partition("__mutmut_")[0]
            first = [t for t in self.killers.get(function, []) if t in tests]
            order = first + [t for t in tests if t not in first]
            chosen = extra + [items[t] for t in order if t in items and items[t] not in extra]
            limit = LEAST_LIMIT + self.limit * sum(self.durations[t] for t in tests)
            limit += HANG if extra else 0.0  # tests newer than the stats: no time known (each
            # still has its own limit, `_test_limit`)
            if self.budget is not None:  # a test still running a minute past it: a hang
                limit = min(limit, self.budget + HANG)
            at = time.monotonic()
            code, failed = self._fork(name, chosen, limit, self.budget)
            if failed is not None and not self._passes_clean(items[failed]):
                code = None  # a test that fails without a mutant kills nothing
            self.verdicts[name] = code
            if code == KILLED and failed is not None:
                killers = self.killers.setdefault(function, [])
                if failed in killers:
                    killers.remove(failed)
                killers.insert(0, failed)
            if count % 25 == 0:  # kept as it goes: an interrupted run loses little
                record(self.verdicts, self.where)
            verdict = {KILLED: "killed", SURVIVED: "SURVIVED", TIMEOUT: "timeout"}.get(
                code if code is not None else -1, "not run"
            )
            took = time.monotonic() - at
            print(f"[{count}/{len(self.tests_of)}] {name}: {verdict} ({took:.1f} s)", flush=True)
        return True

    def _passes_clean(self, item: pytest.Item) -> bool:
        """Whether `item` passes without a mutant (asked once a test: only of a test that
        failed with one, so that a test failing anyway never counts as a kill)."""
        if item.nodeid not in self.clean:
            code, _ = self._fork("", [item], None, None)
            self.clean[item.nodeid] = code == SURVIVED
            if code != SURVIVED:
                print(f"in_process: {item.nodeid} fails without a mutant: not counted")
        return self.clean[item.nodeid]

    def _fork(
        self, name: str, items: list[pytest.Item], limit: float | None, budget: float | None
    ) -> tuple[int | None, str | None]:
        """(verdict, the test that failed) of `items` with mutant `name` active, in a fork."""
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: run, then leave without pytest's own exit
            os.close(read)
            os._exit(self._child(name, items, budget, write, self._test_limit))
        os.close(write)
        deadline = None if limit is None else time.monotonic() + limit
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if deadline is not None and time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                os.close(read)
                return TIMEOUT, None
            time.sleep(0.005)
        with os.fdopen(read, encoding="utf-8") as pipe:
            failed = pipe.read() or None
        code = os.waitstatus_to_exitcode(status)
        if code == OUT_OF_BUDGET:
            return None, None
        if code == TIMEOUT:
            return TIMEOUT, None
        return (KILLED if code else SURVIVED), failed

    def _test_limit(self, item: pytest.Item) -> float:
        """How long one test may run with a mutant before it hangs: mutmut's factor on its time
        in the stats, at least `LEAST_LIMIT` (a hang is then found in seconds, not after the
        whole set's limit, which is minutes for a function that hundreds of tests cover)."""
        return max(LEAST_LIMIT, self.limit * self.durations.get(item.nodeid, 0.0))

    @staticmethod
    def _child(
        name: str,
        items: list[pytest.Item],
        budget: float | None,
        write: int,
        test_limit: Callable[[pytest.Item], float],
    ) -> int:
        from _pytest.runner import runtestprotocol
        from mutmut.mutation.trampoline import set_mutant_under_test

        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        running: list[str] = []

        def hangs(*_: object) -> None:  # the test outran its limit: a timeout, as mutmut's
            os.write(write, running[0].encode())
            os._exit(TIMEOUT)

        signal.signal(signal.SIGALRM, hangs)
        set_mutant_under_test(name)
        started = time.monotonic()
        for index, item in enumerate(items):
            if budget is not None and time.monotonic() - started > budget:
                return OUT_OF_BUDGET
            following = items[index + 1] if index + 1 < len(items) else None
            running[:] = [item.nodeid]
            signal.setitimer(signal.ITIMER_REAL, test_limit(item))
            reports = runtestprotocol(item, log=False, nextitem=following)
            signal.setitimer(signal.ITIMER_REAL, 0)
            if any(r.failed for r in reports):
                os.write(write, item.nodeid.encode())
                return KILLED
        return SURVIVED


def prepare(jobs: int) -> None:
    """What `mutmut run` does before its first mutant: the mutated copies in `mutants/` and the
    stats (which tests cover which function, and how long each takes; only the tests new since
    the last time, when there are stats). Then no mutant is run: this runner runs them."""
    from mutmut import __main__ as mutmut
    from mutmut.mutation.trampoline import set_mutant_under_test
    from mutmut.utils import file_utils
    from mutmut.workers.isolation import get_mutant_runner

    os.chdir(ROOT)
    set_mutant_under_test("mutant_generation")
    MUTANTS.mkdir(exist_ok=True)
    file_utils.copy_src_dir()
    file_utils.copy_also_copy_files()
    file_utils.setup_source_paths()
    mutmut.store_lines_covered_by_tests()
    mutmut.create_mutants(jobs)
    runner = get_mutant_runner(jobs)
    mutmut.collect_or_load_stats(
        runner, mutants_caught_by_type_checker={}, apply_config_invalidation=True
    )


def _left_out() -> Callable[[str], bool]:
    """Whether a test is one `[tool.mutmut]` leaves out (`--ignore=` a file, `--deselect=` a
    test): the scans of the source text, which read the files, never the mutant. The stats may
    list them as covering from before they were left out."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("\n[tool.mutmut]\n", 1)[1].split("\n[", 1)[0]  # no tomllib in 3.10
    found = re.findall(r'"--(ignore|deselect)=([^"]+)"', section)
    files = {value for kind, value in found if kind == "ignore"}
    tests = {value for kind, value in found if kind == "deselect"}
    return lambda test: test in tests or test.split("::")[0] in files


def _stop(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("patterns", nargs="+", help="mutant names or fnmatch patterns")
    parser.add_argument("--again", action="store_true", help="rerun mutants with a verdict")
    parser.add_argument("--alive", action="store_true", help="rerun the survivors too")
    parser.add_argument(
        "--survivors", action="store_true", help="rerun only the survivors (and the untested)"
    )
    parser.add_argument("--limit", type=float, default=15.0, help="timeout: times the tests' time")
    parser.add_argument("--budget", type=float, default=None, help="seconds a mutant at most")
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        help="a test file run first for every mutant (tests newer than the stats)",
    )
    parser.add_argument(
        "--random",
        type=int,
        metavar="SEED",
        help="run the mutants in a random order: a run stopped early leaves a fair sample",
    )
    parser.add_argument(
        "--shard",
        default="1/1",
        metavar="K/N",
        help="run the K-th of N shares of the mutants (N runs side by side, one a core)",
    )
    parser.add_argument(
        "--prepare", type=int, metavar="JOBS", help="first make the mutants and stats (mutmut)"
    )
    args = parser.parse_args()
    if args.prepare:
        prepare(args.prepare)
        return 0
    spec = importlib.util.find_spec("rgpu_exec")
    if spec is None or MUTANTS / "src" not in Path(str(spec.origin)).resolve().parents:
        print("in_process: run with PYTHONPATH=mutants/src", file=sys.stderr)
        return 2
    stats: dict[str, Any] = json.loads((MUTANTS / "mutmut-stats.json").read_text("utf-8"))
    durations: dict[str, float] = stats["duration_by_test"]
    covering: dict[str, list[str]] = stats["tests_by_mangled_function_name"]
    where = wanted(args.patterns, again=args.again, alive=args.alive, only_alive=args.survivors)
    left_out = _left_out()
    tests_of = {
        name: sorted(
            (t for t in covering.get(name.partition("__mutmut_")[0], []) if not left_out(t)),
            key=durations.__getitem__,
        )
        for name in where
    }
    # No test covers it (mutmut's verdict), unless a file given with --extra may.
    untested = {name: NO_TESTS for name, tests in tests_of.items() if not tests and not args.extra}
    record(dict(untested), where)
    tests_of = {name: tests for name, tests in tests_of.items() if name not in untested}
    shard, shares = (int(n) for n in args.shard.split("/"))
    # By function, so that a function's mutants share their killers within one shard.
    functions = sorted({name.partition("__mutmut_")[0] for name in tests_of})
    mine = set(functions[shard - 1 :: shares])
    tests_of = {n: t for n, t in tests_of.items() if n.partition("__mutmut_")[0] in mine}
    if not tests_of:
        print("in_process: no mutant to run")
        return 0
    runner = Runner(tests_of, durations, args.limit, args.budget)
    runner.where = where
    runner.seed = args.random
    runner.extra = set(args.extra)
    ids = sorted({t for tests in tests_of.values() for t in tests} | set(args.extra))
    os.chdir(ROOT)
    signal.signal(signal.SIGTERM, _stop)  # stopped: keep what was found
    # The property tests try a fifth of their examples, as in `make test-fast`: a mutant only
    # the other four fifths would find counts as survived (the score can only be lower for it).
    quick = "--hypothesis-profile=quick"
    pytest.main(
        ["-q", "-p", "no:randomly", "-p", "no:cacheprovider", quick, *ids], plugins=[runner]
    )
    record(runner.verdicts, where)
    survived = sorted(n for n, c in runner.verdicts.items() if c == SURVIVED)
    print(f"in_process: {len(runner.verdicts)} run, {len(survived)} survived:")
    print("\n".join(survived))
    return 0


if __name__ == "__main__":
    sys.exit(main())
