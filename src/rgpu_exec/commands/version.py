"""`rgpu-exec version` (and `rgpu-exec --version -o json|yaml`): what a bug report needs.

Flags in, `usecases.version` finds, `commands.render` prints. `rgpu-exec --version` alone
prints one line, `rgpu-exec <version>`, without loading this module (argparse's own action).
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from rgpu_exec import terminal
from rgpu_exec.commands import support
from rgpu_exec.errors import ExitCode

if TYPE_CHECKING:
    from rgpu_exec.usecases.version import VersionResult

_EXIT_CODES = f"""\
  {ExitCode.OK}  printed
  {ExitCode.USAGE}  bad flags
"""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "version",
        help="print the version, and what a bug report needs (Python, platform, libraries)",
        description="Print rgpu-exec's version, the Python that runs it, the platform, where "
        "the package is installed, the versions of its libraries, and which of its settings "
        "the environment sets (by name only: never a value, never a key). Paste it into a bug "
        "report. `rgpu-exec --version` prints the version alone; `rgpu-exec --version -o json` "
        "is `rgpu-exec version -o json`.",
        epilog=support.epilog(
            "rgpu-exec version",
            "rgpu-exec version -o json",
            "rgpu-exec --version",
            exit_codes=_EXIT_CODES,
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    support.add_output(parser)
    parser.set_defaults(func=run)


def render_table(found: VersionResult) -> str:
    installed = ", ".join(
        f"{name} {version}" for name, version in found.dependencies.items() if version
    )
    rows = [
        ("rgpu-exec", found.version),
        ("python", f"{found.python} {found.python_executable}"),
        ("platform", f"{found.platform} {found.machine}"),
        ("package", found.package),
        ("libraries", installed or "none found"),
        ("settings", ", ".join(found.settings_set) or "none set (the defaults)"),
    ]
    width = max(len(name) for name, _ in rows)
    return "".join(f"{name:<{width}}  {terminal.shown(value)}\n" for name, value in rows)


def run(args: argparse.Namespace) -> int:
    from rgpu_exec.commands import render  # noqa: PLC0415
    from rgpu_exec.usecases.version import VersionRequest  # noqa: PLC0415
    from rgpu_exec.usecases.version import run as version  # noqa: PLC0415

    found = version(VersionRequest(), os.environ)
    render.render(args.output, document=found.document, table=lambda: render_table(found))
    return ExitCode.OK
