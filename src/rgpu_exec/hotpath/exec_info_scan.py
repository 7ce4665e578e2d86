"""A small, strict JSON scanner for KUBERNETES_EXEC_INFO, without `json`.

`exec_credential.recognise_exec_info` loads it only for exec info kubectl does not usually send:
with `provideClusterInfo: true` (spec.cluster), or written by another client (the Python
client's `json.dumps`). Standard library only: the cache-hit path imports this module.

It reads any well-formed exec info: any key order, any JSON whitespace, `spec.cluster` with
whatever it holds, extra fields. It validates the whole text as RFC 8259 JSON and decodes only
what it needs. Wherever it could disagree with the full parser (pydantic, in
`token/exec_info.py`), it gives up (None) and that parser decides: an escape in a key or in a
value it reads, a repeated key, NaN, a number over 64 characters, a lone surrogate, nesting
deeper than 64, a non-boolean `interactive`. So it never answers where the full command would
refuse, nor with another answer.
"""

# JSON's whitespace (RFC 8259), and nothing else.
_JSON_SPACE = " \t\n\r"

_ESCAPES = frozenset('"\\/bfnrt')
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_DIGITS = "0123456789"
_MAX_DEPTH = 64
_MAX_NUMBER = 64
_LEADING_SURROGATES = range(0xD800, 0xDC00)
_TRAILING_SURROGATES = range(0xDC00, 0xE000)


class _Unsure(Exception):  # noqa: N818 - not an error: the full parser decides
    """The scanner cannot be sure of the answer."""


def scan_exec_info(text: str) -> "tuple[str, str | None, bool] | None":
    """(apiVersion, kind, interactive) of well-formed exec info, as strings the full parser would
    read the same way (kind None: absent); None when unsure. Which values are acceptable is the
    caller's rule (`exec_credential.recognise_exec_info`)."""
    top: dict[str, tuple[int, int]] = {}
    spec: dict[str, tuple[int, int]] = {}
    try:
        start = _space(text, 0)
        if text[start : start + 1] != "{":
            return None
        if _space(text, _object(text, start, 1, top, spec)) != len(text):
            return None
        api_version = _plain_string(text, top.get("apiVersion"))
        kind = _plain_string(text, top["kind"]) if "kind" in top else None
    except _Unsure:
        return None
    if "spec" in top and text[top["spec"][0]] != "{":
        return None
    interactive = text[slice(*spec["interactive"])] if "interactive" in spec else "false"
    cluster = text[spec["cluster"][0]] if "cluster" in spec else "{"
    if interactive not in ("true", "false") or cluster not in ("{", "n"):
        return None  # "n" can only start null: the scanner checked the literal
    return api_version, kind, interactive == "true"


def _space(text: str, i: int) -> int:
    while i < len(text) and text[i] in _JSON_SPACE:
        i += 1
    return i


def _object(
    text: str,
    i: int,
    depth: int,
    fields: "dict[str, tuple[int, int]] | None" = None,
    spec: "dict[str, tuple[int, int]] | None" = None,
) -> int:
    """The index after the object at `text[i]` ("{"). With `fields`, each key's value span goes
    there (a repeated or escaped key: unsure), and the object under "spec" fills `spec`."""
    if depth > _MAX_DEPTH:
        raise _Unsure
    i = _space(text, i + 1)
    if text[i : i + 1] == "}":
        return i + 1
    while True:
        if text[i : i + 1] != '"':
            raise _Unsure
        i, key = _string(text, i)
        i = _space(text, i)
        if text[i : i + 1] != ":":
            raise _Unsure
        start = _space(text, i + 1)
        if fields is None:
            end = _value(text, start, depth)
        else:
            if key is None or key in fields:
                raise _Unsure
            if key == "spec" and spec is not None and text[start : start + 1] == "{":
                end = _object(text, start, depth + 1, spec)
            else:
                end = _value(text, start, depth)
            fields[key] = (start, end)
        i = _space(text, end)
        separator = text[i : i + 1]
        if separator == "}":
            return i + 1
        if separator != ",":
            raise _Unsure
        i = _space(text, i + 1)


def _value(text: str, i: int, depth: int) -> int:
    """The index after the JSON value at `text[i]`."""
    first = text[i : i + 1]
    if first == '"':
        return _string(text, i)[0]
    if first == "{":
        return _object(text, i, depth + 1)
    if first == "[":
        if depth >= _MAX_DEPTH:
            raise _Unsure
        i = _space(text, i + 1)
        if text[i : i + 1] == "]":
            return i + 1
        while True:
            i = _space(text, _value(text, i, depth + 1))
            separator = text[i : i + 1]
            if separator == "]":
                return i + 1
            if separator != ",":
                raise _Unsure
            i = _space(text, i + 1)
    for literal in ("true", "false", "null"):
        if text.startswith(literal, i):
            return i + len(literal)
    return _number(text, i)


def _string(text: str, i: int) -> "tuple[int, str | None]":
    """(the index after the string at `text[i]` (a quote), its value if it holds no escape)."""
    start = i = i + 1
    escaped = False
    while True:
        end = text.find('"', i)
        if end < 0:
            raise _Unsure
        backslash = text.find("\\", i, end)
        if backslash < 0:
            _plain(text[i:end])
            return end + 1, None if escaped else text[start:end]
        _plain(text[i:backslash])
        escaped = True
        i = _escape(text, backslash + 1)


def _plain(chunk: str) -> None:
    """Characters a JSON string may hold as they are: no control character (nor a surrogate,
    which only bytes that are not UTF-8 leave in a Python string)."""
    if chunk.isascii() and chunk.isprintable():  # the usual case, all at C speed
        return
    for char in chunk:
        if char < " " or "\ud800" <= char <= "\udfff":
            raise _Unsure


def _escape(text: str, i: int) -> int:
    """The index after the escape whose backslash is at `i - 1`."""
    kind = text[i : i + 1]
    if kind and kind in _ESCAPES:
        return i + 1
    if kind != "u":
        raise _Unsure
    code = _hex4(text, i + 1)
    if code in _TRAILING_SURROGATES:  # alone
        raise _Unsure
    if code in _LEADING_SURROGATES:  # needs its trailing one
        if text[i + 5 : i + 7] != "\\u" or _hex4(text, i + 7) not in _TRAILING_SURROGATES:
            raise _Unsure
        return i + 11
    return i + 5


def _hex4(text: str, i: int) -> int:
    digits = text[i : i + 4]
    if len(digits) != 4 or not set(digits) <= _HEX_DIGITS:  # noqa: PLR2004
        raise _Unsure
    return int(digits, 16)


def _number(text: str, i: int) -> int:
    """The index after the number at `text[i]` (RFC 8259 grammar; NaN and friends: unsure)."""
    start = i
    if text[i : i + 1] == "-":
        i += 1
    if text[i : i + 1] == "0":
        i += 1
    elif i < len(text) and text[i] in _DIGITS:
        i = _digits(text, i)
    else:
        raise _Unsure
    if text[i : i + 1] == ".":
        i = _digits(text, i + 1)
    if text[i : i + 1] in ("e", "E"):
        i += 1
        if text[i : i + 1] in ("+", "-"):
            i += 1
        i = _digits(text, i)
    if i - start > _MAX_NUMBER:
        raise _Unsure
    return i


def _digits(text: str, i: int) -> int:
    """The index after one or more ASCII digits at `i`."""
    start = i
    while i < len(text) and text[i] in _DIGITS:
        i += 1
    if i == start:
        raise _Unsure
    return i


def _plain_string(text: str, span: "tuple[int, int] | None") -> str:
    """The value of a string without escapes at `span`; unsure for anything else."""
    if span is None:
        raise _Unsure
    start, end = span
    value = text[start + 1 : end - 1]
    if text[start] != '"' or "\\" in value:
        raise _Unsure
    return value
