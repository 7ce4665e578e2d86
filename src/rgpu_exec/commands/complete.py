"""What the `kubectl_complete-rgpu` executable prints: kubectl runs it for `kubectl rgpu … <TAB>`.

Apart from `commands.completion` (the `completion` command, which builds argparse parsers) so
that a TAB loads no parser: the commands come from `completion.table`, generated from the parser
and held equal to it by a test. `usecases.completion` decides the candidates; this module prints
them, one a line, then `:<directive>`.
"""

from __future__ import annotations

import os

from rgpu_exec import output

TYPE_CHECKING = False  # typing costs a TAB its import
if TYPE_CHECKING:
    from collections.abc import Sequence


def kubectl_complete(words: Sequence[str]) -> int:
    """Nothing at all when something fails: a completion must never print a traceback into the
    user's prompt."""
    try:
        from rgpu_exec.completion import table, tree  # noqa: PLC0415
        from rgpu_exec.usecases import completion  # noqa: PLC0415

        offered, directive = completion.candidates(words, os.environ, tree.from_table(table.TREE))
    except Exception:
        return 0
    output.write("".join(f"{word}\n" for word in offered) + f":{directive}\n")
    return 0
