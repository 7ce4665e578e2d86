"""What a dry-run diff may show of a kubeconfig: never a secret value, whatever the syntax.

Masking is decided on the parsed document, not on lines: every value under a secret key
(`token`, `password`, `*-token`, `*-secret`, `*key-data`: a user's token, an auth provider's
`id-token` or `client-secret`, a client key) and every exec `env` value is found as a YAML node,
and the text it spans is replaced, however it is written: plain, quoted with escapes, a flow
map (`user: {token: …}`), JSON (`"token": "…"`), a block or folded scalar on the lines below its
key. Then any other occurrence of such a value in the text is masked too. Each distinct value
gets a number (`<secret 2, not shown>`), the same before and after and in every file, so a
changed secret still shows as a change. Certificates are shown by their start and size
(`LS0t…(1.2 KB)`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from collections.abc import Iterator

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SECRET_KEY = re.compile(r"(?:[\w-]*-)?(?:token|secret|password)|[\w-]*key-data")
CERTIFICATE_KEYS = frozenset({"certificate-authority-data", "client-certificate-data"})
_SHOWN_CERTIFICATE = 4  # `LS0t`: base64 of `---`, how every PEM starts
_SHORTENED_CERTIFICATE = 16
_MASKED_ELSEWHERE = 4  # a shorter value is masked where it stands, not searched for elsewhere
_UNREADABLE = "(this file's content is not shown: it could not be read to mask its secrets)\n"

# (start, end, what to show instead), or (start, end, secret value) before numbering
_Span = tuple[int, int, str]


def masked(texts: list[str | None]) -> list[str | None]:
    """The texts (None: no such file), each with its secret values masked and its certificates
    shortened; the numbering of secrets is shared by all of them. Line ends come out as `\n`
    (a diff shows lines)."""
    texts = [t.replace("\r\n", "\n") if t is not None else None for t in texts]
    found: list[tuple[list[_Span], list[_Span]] | None] = []
    values: dict[str, int] = {}
    for text in texts:
        nodes = _nodes(text) if text is not None else ([], [])
        found.append(nodes)
        for _, _, value in sorted(nodes[0]) if nodes is not None else []:  # in text order
            values.setdefault(value, len(values) + 1)
    elsewhere = _elsewhere_pattern(values)
    out: list[str | None] = []
    for text, nodes in zip(texts, found, strict=True):
        if text is None:
            out.append(None)
        elif nodes is None:
            out.append(_UNREADABLE)
        else:
            secrets, certificates = nodes
            spans = [(s, e, _secret(values[v], text[s:e])) for s, e, v in secrets]
            if elsewhere is not None:
                spans += [
                    (m.start(), m.end(), _secret(values[m.group()], ""))
                    for m in elsewhere.finditer(text)
                ]
            out.append(_replaced(text, spans + certificates))
    return out


def _nodes(text: str) -> tuple[list[_Span], list[_Span]] | None:
    """The spans of secret values (with the value) and of certificates (with their short
    form) in one kubeconfig's text; None when it cannot be read. The marks count characters."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    secrets: list[_Span] = []
    certificates: list[_Span] = []
    for node, kind in _classified(root):
        start, end = node.start_mark.index, node.end_mark.index
        if kind == "secret":
            secrets.append((start, end, str(node.value)))
        elif len(str(node.value)) >= _SHORTENED_CERTIFICATE:
            value = "".join(str(node.value).split())
            newline = "\n" if text[start:end].endswith("\n") else ""
            short = f"{value[:_SHOWN_CERTIFICATE]}…({_size(len(value))}){newline}"
            certificates.append((start, end, short))
    return secrets, certificates


def _classified(root: yaml.Node | None) -> Iterator[tuple[yaml.ScalarNode, str]]:
    """Each scalar node that is a secret (`secret`) or a certificate (`certificate`)."""
    stack: list[tuple[yaml.Node | None, bool]] = [(root, False)]
    seen: set[tuple[int, bool]] = set()
    while stack:
        node, secret = stack.pop()
        if node is None or (id(node), secret) in seen:
            continue
        seen.add((id(node), secret))
        if isinstance(node, yaml.ScalarNode):
            if secret:
                yield node, "secret"
        elif isinstance(node, yaml.SequenceNode):
            stack += [(item, secret) for item in node.value]
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if key in CERTIFICATE_KEYS and isinstance(value_node, yaml.ScalarNode):
                    if secret:
                        yield value_node, "secret"
                    else:
                        yield value_node, "certificate"
                    continue
                is_secret = secret or (isinstance(key, str) and bool(SECRET_KEY.fullmatch(key)))
                stack.append((value_node, is_secret))
                if key == "env" and isinstance(value_node, yaml.SequenceNode):
                    stack += [(_env_value(item), True) for item in value_node.value]


def _env_value(item: yaml.Node) -> yaml.Node | None:
    """The `value` of one exec `env` entry (`{name: …, value: …}`)."""
    if not isinstance(item, yaml.MappingNode):
        return None
    return next((v for k, v in item.value if getattr(k, "value", None) == "value"), None)


def _elsewhere_pattern(values: dict[str, int]) -> re.Pattern[str] | None:
    """Any other occurrence of a secret value, longest first."""
    wanted = sorted((v for v in values if len(v) >= _MASKED_ELSEWHERE), key=len, reverse=True)
    return re.compile("|".join(re.escape(v) for v in wanted)) if wanted else None


def _secret(number: int, spanned: str) -> str:
    """What stands for a secret: its number; a span that ended a line still does."""
    return f"<secret {number}, not shown>" + ("\n" if spanned.endswith("\n") else "")


def _replaced(text: str, spans: list[_Span]) -> str:
    """`text` with each span replaced; of overlapping spans, the first (then the longest)."""
    out, at = [], 0
    for start, end, shown in sorted(spans, key=lambda s: (s[0], -s[1])):
        if start < at:
            continue
        out += [text[at:start], shown]
        at = end
    return "".join([*out, text[at:]])


def _size(length: int) -> str:
    return f"{length / 1024:.1f} KB" if length >= 1024 else f"{length} B"  # noqa: PLR2004
