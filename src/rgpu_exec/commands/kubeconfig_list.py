"""`rgpu-exec kubeconfig list`: the contexts that use rgpu-exec (`usecases.kubeconfig_list`
reads them), printed by `commands.render` (the JSON schema is in docs/json-output.md)."""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from rgpu_exec import output, terminal
from rgpu_exec.errors import ExitCode

if TYPE_CHECKING:
    import argparse

    from rgpu_exec.kubeconfig.listing import ManagedContext

_DEFAULT = "(default)"


def document(files: list[str], contexts: list[ManagedContext]) -> dict[str, Any]:
    return {"files": files, "contexts": [asdict(c) for c in contexts]}


def render_table(
    files: list[str],
    contexts: list[ManagedContext],
    colour: bool,
    looked_at: list[str] | None = None,
    not_files: list[str] | None = None,
) -> str:
    where = terminal.shown(", ".join(files))
    add = (
        "Add one: convert the console's kubeconfig download with `rgpu-exec kubeconfig import` "
        "followed by its path, or write one with `rgpu-exec kubeconfig generate` (its --help "
        "says which values it needs)."
    )
    if not files and not_files:
        said = terminal.shown("; ".join(not_files))
        return f"The kubeconfig {said}: kubectl finds no context in it. {add}\n"
    if not files:
        paths = terminal.shown(", ".join(looked_at or []))
        return f"No kubeconfig file was found at {paths} (where kubectl looks). {add}\n"
    if not contexts:
        return f"None of the contexts in {where} uses rgpu-exec. {add}\n"
    rows = [
        [
            "*" if c.current else "",
            c.name,
            c.label if c.namespace_id else f"{c.namespace or '?'} (no valid ID)",
            c.profile or _DEFAULT,
            c.api_url or _DEFAULT,
            c.command,
        ]
        for c in contexts
    ]
    header = ["CURRENT", "NAME", "NAMESPACE", "PROFILE", "API URL", "COMMAND"]
    lines = []
    for i, cells in enumerate(terminal.table(rows, header)):
        if i == 0:
            cells = [terminal.paint(c, "bold", colour) for c in cells]  # noqa: PLW2901
        lines.append("  ".join(cells).rstrip())
    broken = [c for c in contexts if c.problem]
    if broken:
        lines.append("")
        lines += [
            terminal.shown(f"context {c.name!r}: {c.problem} (`rgpu-exec doctor` explains)")
            for c in broken
        ]
    switched = [c for c in contexts if c.mismatch]
    if switched:
        lines.append("")
        lines += [terminal.shown(f"context {c.name!r}: {c.mismatch}.") for c in switched]
    return f"Contexts using rgpu-exec in {where}:\n\n" + "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from rgpu_exec.commands import render  # noqa: PLC0415
    from rgpu_exec.usecases.kubeconfig_list import KubeconfigListRequest  # noqa: PLC0415
    from rgpu_exec.usecases.kubeconfig_list import run as list_contexts  # noqa: PLC0415

    environ = os.environ
    found = list_contexts(KubeconfigListRequest(args.kubeconfig, args.context), environ)
    render.render(
        args.output,
        document=lambda: document(found.files, found.contexts),
        table=lambda: render_table(
            found.files, found.contexts, output.colour(environ), found.looked_at, found.not_files
        ),
    )
    return ExitCode.OK
