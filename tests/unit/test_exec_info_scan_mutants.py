"""The hit path's exec info scanner (`exec_info_scan`), pinned where mutation testing
(`make mutation`) found no test holding it: a number's digits, a surrogate pair's second half,
and how deep a document it still reads itself."""

from __future__ import annotations

import pytest

from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath.exec_credential import V1, recognise_exec_info
from rgpu_exec.hotpath.exec_info_scan import scan_exec_info
from rgpu_exec.kube.exec_info import ExecInfo, parse_exec_info


def v1(rest: str) -> str:
    """A v1 exec info document: `rest` follows the apiVersion member."""
    return '{"apiVersion":"' + V1 + '"' + rest + "}"


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


def _nested(objects: int) -> str:
    """v1 exec info with `objects` objects nested in it (so `objects + 1` levels in all)."""
    return v1(',"x":' + '{"a":' * objects + "1" + "}" * objects)


def test_exec_info_64_objects_deep_is_read_by_the_scanner() -> None:
    # The scanner gives up only deeper than 64 levels (the full parser reads those too, but
    # refuses somewhere deeper).
    assert scan_exec_info(_nested(63)) == (V1, None, False)
    assert recognise_exec_info(_nested(63)) == (V1, False)
    assert scan_exec_info(_nested(64)) is None, "65 levels: unsure"
    assert parse_exec_info(_nested(64)) == ExecInfo(V1, False), "which the full parser reads"
