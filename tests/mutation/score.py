"""The mutation score of the last `mutmut run` (`make mutation` prints it), per module and in all.

Killed: a test failed, timed out, or the type checker refused the mutant. Equivalent: listed in
tests/mutation/equivalent.md, each with the reason no test can tell it from the original. Every
other mutant (survived, no test, not run yet) counts against the score. "Of run": the share
killed of those run (equivalents aside), which is the estimate of a sample when the run went in
random order (`in_process.py --random`) and stopped early. Exits 1 under the goal
(at least 95 % killed of the mutants that are not equivalent), or when the list names a mutant
that is killed now or no longer exists (a stale reason). A listed mutant counts as equivalent
only once its whole run survived; before that it is "not run".
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

GOAL = 95.0
ROOT = Path(__file__).resolve().parents[2]
KILLED = {1, 3, 36, 37, 24, -24, 152, 255}  # mutmut's exit codes for killed, timeout, type check
SURVIVED = 0
EQUIVALENT = re.compile(r"^- `([^`]+)`", re.MULTILINE)


def verdicts(mutants: Path) -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        found.update(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])
    return found


def main() -> int:
    codes = verdicts(ROOT / "mutants")
    if not codes:
        print("score: no mutants found: run `make mutation` first", file=sys.stderr)
        return 1
    listed = set(EQUIVALENT.findall((Path(__file__).parent / "equivalent.md").read_text("utf-8")))
    # Stale: a listed mutant that a test kills now, or that no longer exists. One not run yet
    # (or left undecided by `in_process.py --budget`) counts as not run, against the score.
    stale = sorted(name for name in listed if name not in codes or codes[name] in KILLED)
    counts: dict[str, Counter[str]] = {}
    for name, code in codes.items():
        module = name.split(".x", 1)[0]
        if name in listed and code == SURVIVED:
            verdict = "equivalent"
        elif code in KILLED:
            verdict = "killed"
        elif code is None:
            verdict = "not run"
        elif code == SURVIVED:
            verdict = "survived"
        else:
            verdict = "no test"
        counts.setdefault(module, Counter())[verdict] += 1
    total: Counter[str] = Counter()
    print(
        f"{'module':40} {'killed':>7} {'equiv':>6} {'survived':>9} {'no test':>8} {'not run':>8} "
        f"{'score':>7} {'of run':>7}"
    )
    for module, count in sorted(counts.items()):
        total.update(count)
        print(row(module, count))
    print(row("all", total))
    for name in stale:
        print(
            f"score: {name} is listed as equivalent but is killed or gone: drop it", file=sys.stderr
        )
    return 0 if percent(total) >= GOAL and not stale else 1


def percent(count: Counter[str]) -> float:
    judged = sum(count.values()) - count["equivalent"]
    return 100.0 * count["killed"] / judged if judged else 100.0


def of_run(count: Counter[str]) -> float:
    """The share killed of the mutants run (a run in random order stopped early: a sample)."""
    run = count["killed"] + count["survived"] + count["no test"]
    return 100.0 * count["killed"] / run if run else 100.0


def row(module: str, count: Counter[str]) -> str:
    return (
        f"{module:40} {count['killed']:7} {count['equivalent']:6} {count['survived']:9} "
        f"{count['no test']:8} {count['not run']:8} {percent(count):6.1f}% {of_run(count):6.1f}%"
    )


if __name__ == "__main__":
    sys.exit(main())
