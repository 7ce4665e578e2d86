"""The doctor's findings for people (an aligned list, each problem with its fix) and for scripts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rgpu_exec import terminal
from rgpu_exec.usecases.doctor.findings import problem_count

if TYPE_CHECKING:
    from rgpu_exec.usecases.doctor.findings import Finding, Status

_TONES: dict[Status, str] = {"ok": "green", "note": "yellow", "problem": "red"}


def render_text(findings: list[Finding], colour: bool) -> str:
    width = max((len(terminal.shown(f.topic)) for f in findings), default=0)
    lines = []
    for f in findings:
        status = f.status.upper() if f.status == "problem" else f.status
        label = terminal.paint(f"{status:<8}", _TONES[f.status], colour)
        topic, detail = terminal.shown(f.topic), terminal.shown(f.detail)
        lines.append(f"{label} {topic:<{width}}  {detail}")
        if f.fix:
            lines.append(f"{'':<8} {'':<{width}}  fix: {terminal.shown(f.fix)}")
    problems = problem_count(findings)
    verdict = "no problems found" if not problems else f"{problems} problem(s) found"
    return "\n".join([*lines, *([""] if lines else []), f"rgpu-exec doctor: {verdict}.", ""])


def render_json(findings: list[Finding]) -> str:
    """`{"ok", "findings": [{"topic", "status", "detail", "fix"}]}`, as `--output json` says."""
    # What people are told, as documented; `kind` and `about` are the doctor's own.
    shown = [_document(f) for f in findings]
    document = {"ok": not problem_count(findings), "findings": shown}
    return json.dumps(document, indent=2) + "\n"


def _document(finding: Finding) -> dict[str, str | None]:
    return {
        "topic": finding.topic,
        "status": finding.status,
        "detail": finding.detail,
        "fix": finding.fix,
    }
