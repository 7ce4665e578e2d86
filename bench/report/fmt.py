"""Number and table formatting shared by the report's parts."""

from __future__ import annotations

from typing import Any

WHOLE_FROM = 100  # no decimals from here up


def num(value: float) -> str:
    return f"{value:,.0f}" if value >= WHOLE_FROM else f"{value:.1f}"


def times(value: float) -> str:
    return f"{value:.2f}\N{MULTIPLICATION SIGN}"


def yes(met: bool) -> str:
    return "**yes**" if met else "**no**"


def md_table(rows: list[tuple[str, dict[str, Any], str]], unit: str = "ms") -> list[str]:
    lines = [
        f"| | median ({unit}) | min | max | runs | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, f, ratio in rows:
        lines.append(
            f"| {label} | {num(f['median'])} | {num(f['min'])} | {num(f['max'])} "
            f"| {f['runs']} | {ratio} |"
        )
    return lines
