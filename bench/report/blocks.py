"""Generated blocks in hand-written Markdown: the tables between

    <!-- generated: NAME ... -->
    <!-- end generated -->

are replaced by a run; the text around them is never touched."""

from __future__ import annotations

import re

END = "<!-- end generated -->"


def replace_block(text: str, name: str, content: str, where: str) -> str:
    """`text` with the block NAME's content replaced by `content` (the markers stay)."""
    pattern = re.compile(
        rf"(<!-- generated: {re.escape(name)}\b[^>]*-->\n)(.*?)(^{re.escape(END)})",
        re.DOTALL | re.MULTILINE,
    )
    found = pattern.findall(text)
    if len(found) != 1:
        raise ValueError(
            f"{where}: expected one block '<!-- generated: {name} -->' … '{END}', "
            f"found {len(found)}"
        )
    return pattern.sub(
        lambda m: m.group(1) + "\n" + content.strip("\n") + "\n\n" + m.group(3), text
    )
