"""How much a YAML document may expand to: aliases must not turn a small file into a huge one.

A few hundred bytes of nested aliases ("billion laughs") expand to billions of nodes; walking
or rendering them takes gigabytes and minutes. A kubeconfig has no use for that: a document whose
node graph, with every alias expanded, holds more than `MAX_NODES` nodes (or refers to itself)
is refused before anything walks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import yaml

# A 1,000-context kubeconfig has about 25,000 nodes.
MAX_NODES = 1_000_000


def expansion_problem(root: yaml.Node | None) -> str | None:
    """Why this composed document expands too far, or None. Shared (aliased) nodes are counted
    once per reference, as a consumer walking the data would meet them, without walking them:
    each node's expanded size is computed once."""
    if root is None:
        return None
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children = _children(node)
        if children_done:
            in_progress.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_NODES:
                return f"its YAML aliases expand to more than {MAX_NODES:,} nodes"
            continue
        if key in in_progress:
            return "a YAML alias refers to the node that contains it"
        in_progress.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in in_progress:
                return "a YAML alias refers to the node that contains it"
            if id(child) not in sizes:
                stack.append((child, False))
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    value = node.value
    if not isinstance(value, list):
        return []
    flat: list[yaml.Node] = []
    for item in value:
        if isinstance(item, tuple):  # a mapping's (key, value) pair
            flat.extend(item)
        else:
            flat.append(item)
    return flat


def check_text(text: str) -> str | None:
    """`expansion_problem` of a document given as text (PyYAML's fast composer); None also when
    the text is not valid YAML (the caller's own loader reports that). Text without a `*` has
    no alias, so nothing to expand: it is not composed (nor PyYAML imported) at all."""
    if "*" not in text:
        return None
    import yaml  # noqa: PLC0415 - PyYAML, only where a file is read

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        return expansion_problem(loader.get_single_node())
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
