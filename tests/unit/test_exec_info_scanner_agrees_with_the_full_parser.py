"""The hit path's exec info scanner (`exec_info_scan.scan_exec_info`, no `json`) reads every
well-formed exec info (spec.cluster, any key order, any whitespace) as the full parser does, and
gives up on anything it is not sure of: it never answers where the full parser would refuse, nor
with another answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath.exec_credential import (
    SUPPORTED_API_VERSIONS,
    V1,
    V1BETA1,
    recognise_exec_info,
)
from rgpu_exec.hotpath.exec_info_scan import scan_exec_info
from rgpu_exec.kube.exec_info import ExecInfo, parse_exec_info

from conftest import examples

CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJ" * 40


def full_parser(raw: str) -> tuple[str, bool] | None:
    """The full command's reading (pydantic), without its shortcut through the scanner."""
    from rgpu_exec.kube.exec_info import exec_info_model

    try:
        info = exec_info_model().model_validate_json(raw)
    except ValueError:
        return None
    if info.apiVersion not in SUPPORTED_API_VERSIONS:
        return None
    return info.apiVersion, info.spec.interactive


def v1(rest: str) -> str:
    """A v1 exec info document: `rest` follows the apiVersion member."""
    return '{"apiVersion":"' + V1 + '"' + rest + "}"


def client_go(api_version: str, interactive: bool, cluster: dict[str, Any] | None) -> str:
    """What client-go's encoder writes (field order of its structs, compact, a newline)."""
    spec: dict[str, Any] = {}
    if cluster is not None:
        spec["cluster"] = cluster
    spec["interactive"] = interactive
    document = {"kind": "ExecCredential", "apiVersion": api_version, "spec": spec}
    return json.dumps(document, separators=(",", ":")) + "\n"


CLUSTER = {
    "server": "https://203.0.113.7:6443",
    "tls-server-name": "kube.example.test",
    "certificate-authority-data": CA,
    "proxy-url": "http://proxy.example.test:3128/?a=1\u0026b=2",
    "insecure-skip-tls-verify": False,
    "disable-compression": True,
    "config": None,
}


@pytest.mark.parametrize("api_version", [V1, V1BETA1])
@pytest.mark.parametrize("interactive", [False, True])
@pytest.mark.parametrize(
    "text",
    [
        pytest.param(lambda v, i: client_go(v, i, CLUSTER), id="client-go-cluster"),
        pytest.param(
            lambda v, i: client_go(v, i, {"server": "https://x", "config": None}),
            id="client-go-cluster-minimal",
        ),
        pytest.param(
            lambda v, i: json.dumps(
                {"apiVersion": v, "kind": "ExecCredential", "spec": {"interactive": i}}
            ),
            id="python-client",
        ),
        pytest.param(
            lambda v, i: json.dumps(
                {
                    "spec": {
                        "cluster": {**CLUSTER, "config": {"a": [1, 2.5e-3, None, 'é\\"<']}},
                        "interactive": i,
                    },
                    "apiVersion": v,
                },
                indent=4,
                ensure_ascii=False,
            ),
            id="pretty-any-order-extension-config",
        ),
        pytest.param(
            lambda v, i: json.dumps(
                {"apiVersion": v, "spec": {"interactive": i, "cluster": CLUSTER}},
                ensure_ascii=True,
            ).replace("&", "\\u0026"),
            id="no-kind-escaped-ampersand",
        ),
    ],
)
def test_well_formed_exec_info_is_read_without_the_full_parser(text, api_version, interactive):
    raw = text(api_version, interactive)
    scanned = scan_exec_info(raw.strip(" \t\r\n"))
    assert scanned is not None
    assert (scanned[0], scanned[2]) == (api_version, interactive)
    assert recognise_exec_info(raw) == (api_version, interactive)
    assert full_parser(raw) == (api_version, interactive)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(client_go(V1, False, CLUSTER)[:-30], id="truncated"),
        pytest.param(client_go(V1, False, CLUSTER).replace('"config":null', '"config":nul'), id="bad-literal"),
        pytest.param(client_go(V1, False, CLUSTER).replace("6443", "6443\x01"), id="control-char"),
        pytest.param(client_go(V1, False, CLUSTER).replace("https", "ht\\xtps"), id="bad-escape"),
        pytest.param(client_go(V1, False, CLUSTER).replace("}}", "}},"), id="trailing-comma"),
        pytest.param(client_go(V1, False, CLUSTER) + "{}", id="two-documents"),
        pytest.param("\ufeff" + client_go(V1, False, None), id="bom"),
        pytest.param(v1(',"spec":{"interactive":"true"}'), id="lax-bool"),
        pytest.param(v1(',"spec":{"interactive":1}'), id="int-bool"),
        pytest.param(v1(f',"apiVersion":"{V1BETA1}"'), id="repeated-key"),
        pytest.param('{"apiVersion":"client.authentication.k8s.io\\/v1"}', id="escaped-value"),
        pytest.param('{"api\\u0056ersion":"' + V1 + '"}', id="escaped-key"),
        pytest.param(v1(',"x":NaN'), id="nan"),
        pytest.param(v1(',"x":' + "9" * 65), id="long-number"),
        pytest.param(v1(',"x":"\\ud800"'), id="lone-surrogate"),
        pytest.param(v1(',"x":"\udcff"'), id="undecodable-byte"),
        pytest.param(v1(',"x":' + "[" * 70 + "]" * 70), id="deep"),
        pytest.param(v1(',"spec":null'), id="null-spec"),
        pytest.param(v1(',"spec":{"cluster":[]}'), id="list-cluster"),
        pytest.param(v1(',"kind":"Pod"'), id="kind"),
        pytest.param('{"apiVersion":"client.authentication.k8s.io/v1alpha1"}', id="v1alpha1"),
        pytest.param('{"kind":"ExecCredential"}', id="no-api-version"),
        pytest.param("[]", id="list"),
    ],
)  # fmt: skip
def test_anything_else_goes_to_the_full_parser(raw: str) -> None:
    # The scanner reads well-formed JSON only; which apiVersion and kind are acceptable is
    # recognise_exec_info's rule, so a well-formed `"kind":"Pod"` is scanned, then refused.
    scanned = scan_exec_info(raw.strip(" \t\r\n"))
    assert (
        scanned is None
        or scanned[0] not in SUPPORTED_API_VERSIONS
        or scanned[1] not in (None, "ExecCredential")
    )
    assert recognise_exec_info(raw) is None


def test_malformed_exec_info_with_cluster_is_still_the_full_commands_usage_error() -> None:
    with pytest.raises(UsageError, match="KUBERNETES_EXEC_INFO is not a valid ExecCredential"):
        parse_exec_info(client_go(V1, False, CLUSTER)[:-30])


_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)  # fmt: skip
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)  # fmt: skip
_well_formed = st.fixed_dictionaries(
    {"apiVersion": st.sampled_from(SUPPORTED_API_VERSIONS)},
    optional={
        "kind": st.just("ExecCredential"),
        "spec": st.fixed_dictionaries(
            {},
            optional={
                "interactive": st.booleans(),
                "cluster": st.none() | st.dictionaries(st.text(max_size=8), _values, max_size=4),
                "response": _values,
            },
        ),
        "status": _values,
    },
)
_layouts = st.sampled_from([
    {}, {"separators": (",", ":")}, {"indent": 2}, {"ensure_ascii": False}, {"sort_keys": True},
])  # fmt: skip


@settings(max_examples=examples(300))
@given(_well_formed, _layouts)
def test_every_well_formed_exec_info_is_read_as_the_full_parser_reads_it(document, layout):
    raw = json.dumps(document, **layout)
    expected = full_parser(raw)
    assert expected is not None
    assert recognise_exec_info(raw) == expected
    assert parse_exec_info(raw) == ExecInfo(*expected)


def _spliced(document: dict[str, Any], at: int, junk: str) -> str:
    text = json.dumps(document)
    return text[:at] + junk + text[at:]


_texts = (
    _well_formed.map(json.dumps)
    | st.builds(lambda d, cut: json.dumps(d)[:cut], _well_formed, st.integers(0, 200))
    | st.builds(
        _spliced, _well_formed, st.integers(0, 200), st.text(max_size=3),
    )
    | _values.map(json.dumps)
    | st.text(max_size=60)
)  # fmt: skip


@settings(max_examples=examples(500))
@given(_texts)
@example('{"apiVersion": "client.authentication.k8s.io/v1", "spec": {"interactive": "maybe"}}')
@example('{"apiVersion":"client.authentication.k8s.io/v1","x":-0.0e-0}')
@example('{"apiVersion":"client.authentication.k8s.io/v1","x":"\\uD83D\\uDE00"}')
def test_the_scanner_never_answers_where_the_full_parser_would_not(raw: str) -> None:
    scanned = recognise_exec_info(raw)
    if scanned is not None and raw.strip(" \t\r\n"):
        assert scanned == full_parser(raw), raw
