"""The exec info kubectl hands us (`exec_credential.recognise_exec_info`), pinned where mutation
testing (`make mutation`) found no test holding it: no exec info at all, kubectl's own forms
read without loading the scanner, and what counts as the whitespace around it; and where
stdout goes once its reader went away."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

import rgpu_exec.hotpath
from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import exec_credential
from rgpu_exec.hotpath.exec_credential import (
    OUTPUT_GONE,
    V1,
    V1BETA1,
    output_gone,
    recognise_exec_info,
    token_is_safe,
)
from rgpu_exec.kube.exec_info import ExecInfo, parse_exec_info

SCANNER = "rgpu_exec.hotpath.exec_info_scan"


def kubectl(api_version: str, interactive: bool) -> str:
    """KUBERNETES_EXEC_INFO as client-go's encoder writes it without provideClusterInfo: its
    structs' field order, compact, and a newline at the end."""
    spec = {"interactive": interactive}
    document = {"kind": "ExecCredential", "apiVersion": api_version, "spec": spec}
    return json.dumps(document, separators=(",", ":")) + "\n"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(None, id="unset"),
        pytest.param("", id="empty"),
        pytest.param(" \t\r\n", id="blank"),
    ],
)
def test_no_exec_info_means_v1_and_no_prompt(raw: str | None) -> None:
    # lightkube, kr8s and a manual run set none: answer in v1, and never prompt.
    assert recognise_exec_info(raw) == (V1, False)
    assert parse_exec_info(raw) == ExecInfo(V1, False), "the full command reads it so too"


@pytest.mark.parametrize("api_version", [V1, V1BETA1])
@pytest.mark.parametrize("interactive", [False, True])
def test_kubectls_own_exec_info_is_read_without_loading_the_scanner(
    monkeypatch: pytest.MonkeyPatch, api_version: str, interactive: bool
) -> None:
    # The cache-hit path pays for every import: kubectl's usual forms, with the newline its
    # encoder ends them with, are known by heart.
    monkeypatch.delitem(sys.modules, SCANNER, raising=False)
    monkeypatch.delattr(rgpu_exec.hotpath, "exec_info_scan", raising=False)

    assert recognise_exec_info(kubectl(api_version, interactive)) == (api_version, interactive)
    assert SCANNER not in sys.modules, "the scanner was loaded"


@pytest.mark.parametrize("api_version", [V1, V1BETA1])
@pytest.mark.parametrize("interactive", [False, True])
def test_the_exec_info_known_by_heart_is_what_client_go_writes(
    api_version: str, interactive: bool
) -> None:
    # The table of known forms is built when the module loads; this is the one that builds it.
    known = exec_credential._kubectl_exec_info(api_version, interactive)

    assert known + "\n" == kubectl(api_version, interactive)


@pytest.mark.parametrize(
    "space",
    [
        pytest.param("\x0c", id="form-feed"),
        pytest.param("\x0b", id="vertical-tab"),
        pytest.param("\xa0", id="no-break-space"),
        pytest.param("\u2028", id="line-separator"),
    ],
)
def test_only_jsons_whitespace_may_surround_the_exec_info(space: str) -> None:
    # Python's str.strip() takes these for whitespace; JSON does not, and the full parser
    # refuses them: the hit path must leave them to it, not read the exec info inside.
    assert recognise_exec_info(space + kubectl(V1, True) + space) is None
    assert recognise_exec_info(space) is None, "not blank: not the same as no exec info"
    with pytest.raises(UsageError, match="not a valid ExecCredential"):
        parse_exec_info(space + kubectl(V1, True))


class _Stdout:
    """A stdout with a real descriptor, as the process has (pytest's capture has none)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd


def test_once_the_reader_went_away_stdout_goes_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `rgpu-exec token | head -c 10`: what Python still flushes at exit must not fail again
    # (a traceback on stderr); the exit code is the one shells give for SIGPIPE.
    path = tmp_path / "stdout"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    monkeypatch.setattr(sys, "stdout", _Stdout(fd))
    try:
        assert output_gone() == OUTPUT_GONE == 141
        os.write(fd, b"flushed at exit")
    finally:
        os.close(fd)

    assert path.read_bytes() == b"", "written to /dev/null, not to the old stdout"


@pytest.mark.parametrize(
    "token",
    [
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2ln-_",
        "rgpu-token/base64+padding==",
        "~!#$%&'()*,:;<>?@[]^`{|}",
    ],
)
def test_a_token_of_visible_ascii_goes_out_as_it_is(token: str) -> None:
    assert token_is_safe(token)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("tok en", id="space"),
        pytest.param('tok"en', id="quote"),
        pytest.param("tok\\en", id="backslash"),
        pytest.param("tök", id="not-ascii"),
        pytest.param("tok\ten", id="tab"),
        pytest.param("tok\x7fen", id="delete"),
        pytest.param("token\n", id="newline"),
    ],
)
def test_a_token_that_json_or_a_header_would_change_is_not_safe(token: str) -> None:
    # The ExecCredential is written without a JSON encoder, and the token goes in an HTTP
    # header as it is: anything either would have to escape is refused.
    assert not token_is_safe(token)
