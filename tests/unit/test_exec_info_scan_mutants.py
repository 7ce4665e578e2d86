"""The hit path's exec info scanner (`exec_info_scan`), pinned where mutation testing
(`make mutation`) found no test holding it: JSON's grammar piece by piece (whitespace, empty
objects, strings and their escapes, numbers), which `spec` says whether to prompt, what it
gives up on, and how deep a document it still reads itself."""

from __future__ import annotations

import pytest

from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath.exec_credential import V1, recognise_exec_info
from rgpu_exec.hotpath.exec_info_scan import scan_exec_info
from rgpu_exec.kube.exec_info import ExecInfo, exec_info_model, parse_exec_info


def v1(rest: str) -> str:
    """A v1 exec info document: `rest` follows the apiVersion member."""
    return '{"apiVersion":"' + V1 + '"' + rest + "}"


def full_parser(raw: str) -> tuple[str, bool] | None:
    """The full command's reading (pydantic), without its shortcut through the scanner."""
    try:
        info = exec_info_model().model_validate_json(raw)
    except ValueError:
        return None
    return info.apiVersion, info.spec.interactive


# Well-formed exec info, each with a piece of JSON's grammar the scanner must read as it is.
WELL_FORMED = {
    "spaces": '{ "apiVersion" :  "' + V1 + '" ,  "spec"  :{ "interactive":true } }',
    "tabs-and-newlines": '{\n\t"apiVersion":\r\n\t\t"' + V1 + '"\n}',
    "empty-objects": v1(',"x":{},"y":{ },"spec":{}'),
    "empty-arrays": v1(',"x":[],"y":[ ],"z":[[],{}]'),
    "kind": '{"kind":"ExecCredential","apiVersion":"' + V1 + '"}',
    "escapes": v1(',"x":"a\\"b","y":"\\\\","z":"\\n","w":"\\/\\b\\f\\r\\t"'),
    "unicode-escapes": v1(',"x":"\\u00e9","y":"a\\u0041b","z":"\\ud83d\\ude00"'),
    "not-ascii": v1(',"x":"Café Au Lait ☕","y":"\\u00e9 é"'),
    "zero": v1(',"x":0,"y":-0,"z":[0,-0]'),
    "integers": v1(',"x":12,"y":-12,"z":[7,-7,1234567890]'),
    "fractions": v1(',"x":1.5,"y":-0.25,"z":[10.01,0.0]'),
    "exponents": v1(',"x":1e5,"y":1E5,"z":[1e+5,1E-5,-0.5e-3,2.5E+10]'),
    "number-of-64": v1(',"x":' + "9" * 64 + ',"y":-' + "9" * 63 + ',"z":0.' + "5" * 62),
    "literals": v1(',"x":true,"y":false,"z":null,"w":[true,false,null]'),
    "interactive": v1(',"spec":{"cluster":{"server":"https://x"},"interactive":true}'),
    "null-cluster": v1(',"spec":{"cluster":null,"interactive":true}'),
}


@pytest.mark.parametrize("raw", WELL_FORMED.values(), ids=WELL_FORMED.keys())
def test_well_formed_exec_info_is_read_by_the_scanner_as_the_full_parser_reads_it(raw):
    scanned = scan_exec_info(raw)

    assert scanned is not None, "read without the full parser"
    assert full_parser(raw) is not None
    assert (scanned[0], scanned[2]) == full_parser(raw)
    assert recognise_exec_info(raw) == full_parser(raw)


# Malformed: the full parser refuses each, so the scanner must not read it.
MALFORMED = {
    "leading-zero": v1(',"x":01'),
    "negative-leading-zero": v1(',"x":-01'),
    "lone-minus": v1(',"x":-'),
    "ends-after-minus": '{"apiVersion":"' + V1 + '","x":-',
    "ends-after-colon": '{"apiVersion":"' + V1 + '","x":',
    "ends-in-a-string": '{"apiVersion":"' + V1 + '","x":"abc',
    "control-character": v1(',"x":"a\x01b"'),
    "control-character-not-ascii": v1(',"x":"é\x1fb"'),
    "raw-leading-surrogate": v1(',"x":"\ud800"'),
    "raw-trailing-surrogate": v1(',"x":"\udfff"'),
    "raw-surrogate-not-ascii": v1(',"x":"é\udc00"'),
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_exec_info_is_left_to_the_full_parser(raw: str) -> None:
    assert scan_exec_info(raw) is None
    assert recognise_exec_info(raw) is None
    with pytest.raises(UsageError, match="not a valid ExecCredential"):
        parse_exec_info(raw)


# Well formed, but read in a way the scanner cannot be sure to share: the full parser decides.
UNSURE = {
    "escaped-api-version": '{"apiVersion":"client.authentication.k8s.io\\/v1"}',
    "escaped-kind": '{"kind":"ExecCredentia\\u006c","apiVersion":"' + V1 + '"}',
    "api-version-not-a-string": '{"apiVersion":1}',
    "kind-not-a-string": '{"kind":null,"apiVersion":"' + V1 + '"}',
    "repeated-key": v1(',"apiVersion":"' + V1 + '"'),
    "escaped-key": v1(',"x\\u0041":1'),
    "number-of-65": v1(',"x":' + "9" * 65),
    "fraction-of-65": v1(',"x":-0.' + "5" * 62),
    "spec-null": v1(',"spec":null'),
    "spec-a-list": v1(',"spec":[]'),
    "spec-a-string": v1(',"spec":"{}"'),
    "cluster-a-list": v1(',"spec":{"cluster":[]}'),
    "cluster-a-string": v1(',"spec":{"cluster":"{}"}'),
    "cluster-true": v1(',"spec":{"cluster":true}'),
    "interactive-a-number": v1(',"spec":{"interactive":1}'),
    "interactive-a-string": v1(',"spec":{"interactive":"true","cluster":{}}'),
}


@pytest.mark.parametrize("raw", UNSURE.values(), ids=UNSURE.keys())
def test_what_the_scanner_cannot_be_sure_of_is_left_to_the_full_parser(raw: str) -> None:
    assert scan_exec_info(raw) is None
    assert recognise_exec_info(raw) is None


@pytest.mark.parametrize(
    "rest",
    [
        pytest.param(',"status":{"interactive":true}', id="in-status"),
        pytest.param(',"x":{"spec":{"interactive":true}}', id="in-a-nested-spec"),
        pytest.param(',"x":[{"spec":{"interactive":true}}]', id="in-a-list"),
        pytest.param(',"spec":{"cluster":{"interactive":true}}', id="in-the-cluster"),
    ],
)
def test_only_the_top_level_spec_says_whether_to_prompt(rest: str) -> None:
    raw = v1(rest)

    assert scan_exec_info(raw) == (V1, None, False)
    assert full_parser(raw) == (V1, False), "as the full parser reads it"


@pytest.mark.parametrize(
    "number",
    ["1.", "1.e5", "-0.", "1e", "1E+", "1e-", "2.5e"],
)
def test_a_number_missing_its_digits_is_left_to_the_full_parser(number: str) -> None:
    # RFC 8259: a fraction and an exponent each have one digit or more. The full parser
    # refuses such a number, so the scanner must not read the document as well formed.
    raw = v1(',"x":' + number)

    assert scan_exec_info(raw) is None
    assert recognise_exec_info(raw) is None
    with pytest.raises(UsageError, match="not a valid ExecCredential"):
        parse_exec_info(raw)


@pytest.mark.parametrize(
    "escapes",
    [
        pytest.param("\\ud800\\u0041", id="then-not-a-surrogate"),
        pytest.param("\\ud800\\ud800", id="then-another-leading-one"),
        pytest.param("\\ud800abdc00", id="then-no-escape"),
        pytest.param("\\udbff", id="then-nothing"),
    ],
)
def test_a_leading_surrogate_without_its_trailing_one_is_left_to_the_full_parser(
    escapes: str,
) -> None:
    raw = v1(',"x":"' + escapes + '"')

    assert scan_exec_info(raw) is None
    assert recognise_exec_info(raw) is None
    with pytest.raises(UsageError, match="not a valid ExecCredential"):
        parse_exec_info(raw)


def test_a_surrogate_pair_is_read_by_the_scanner() -> None:
    raw = v1(',"x":"\\ud83d\\ude00 \\uDBFF\\uDFFF"')

    assert scan_exec_info(raw) == (V1, None, False)


def _nested(objects: int, under: str = "x") -> str:
    """v1 exec info with `objects` objects nested under its member `under` (so `objects + 1`
    levels in all): "x", or "spec", whose "cluster" holds the next ones; or as many lists
    under "x" ("list")."""
    if under == "list":
        return v1(',"x":' + "[" * objects + "]" * objects)
    chain = '{"a":' * (objects - 2) + "{}" + "}" * (objects - 2)
    first = "cluster" if under == "spec" else "a"
    return v1(f',"{under}":{{"{first}":{chain}}}')


@pytest.mark.parametrize("under", ["x", "spec", "list"])
def test_exec_info_64_levels_deep_is_read_by_the_scanner(under: str) -> None:
    # The scanner gives up only deeper than 64 levels (the full parser reads those too, but
    # refuses somewhere deeper).
    assert scan_exec_info(_nested(63, under)) == (V1, None, False)
    assert recognise_exec_info(_nested(63, under)) == (V1, False)
    assert scan_exec_info(_nested(64, under)) is None, "65 levels: unsure"
    assert parse_exec_info(_nested(64, under)) == ExecInfo(V1, False), "the full parser reads it"
