"""Compressed answers cannot exhaust memory: identity is asked for, and an answer compressed
anyway is inflated piece by piece, never past `MAX_BODY_BYTES`, and never held whole."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from collections.abc import Iterator

import httpx
import pytest

from compressed import gzip_of_zeros
from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.api.exchange import MAX_BODY_BYTES, Exchanger
from rgpu_exec.errors import ApiError
from rgpu_exec.http_gate import read_capped

from conftest import API_KEY, NAMESPACE_ID
from exchange_answers import API, credential_body

PATH = f"/v1/kubernetes/namespaces/{NAMESPACE_ID}/exec-credential"


def credential() -> bytes:
    return json.dumps(credential_body()).encode()


@pytest.fixture
def exchanger() -> Exchanger:
    return Exchanger(ApiEndpoint(API, {}), API_KEY)


def test_identity_is_asked_for(api, exchanger: Exchanger) -> None:
    route = api.post(PATH).mock(return_value=httpx.Response(200, content=credential()))
    assert exchanger.exchange(NAMESPACE_ID).token == "tok-1"
    assert route.calls.last.request.headers["accept-encoding"] == "identity"


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        pytest.param("gzip", gzip.compress, id="gzip"),
        pytest.param("x-gzip", gzip.compress, id="x-gzip"),
        pytest.param("deflate", zlib.compress, id="deflate"),
        pytest.param(" GZIP ", gzip.compress, id="odd-spelling"),
        pytest.param("identity", lambda body: body, id="identity"),
    ],
)
def test_a_small_answer_compressed_anyway_is_still_read(api, exchanger, encoding, pack) -> None:
    # Streamed, as from the network (a bytes body would be decoded by httpx when built).
    answer = httpx.Response(
        200, content=iter([pack(credential())]), headers={"content-encoding": encoding}
    )
    api.post(PATH).mock(return_value=answer)
    assert exchanger.exchange(NAMESPACE_ID).token == "tok-1"


@pytest.mark.parametrize("status", [200, 503])
def test_a_compression_bomb_is_refused_without_being_inflated(api, exchanger, status) -> None:
    # 64 MiB of zeros in 64 KiB of gzip: one network read's worth, which httpx's own decoding
    # would inflate all at once.
    answer = httpx.Response(
        status, content=gzip_of_zeros(64 << 20), headers={"content-encoding": "gzip"}
    )
    api.post(PATH).mock(return_value=answer)
    tracemalloc.start()
    try:
        with pytest.raises(ApiError) as caught:
            exchanger.exchange(NAMESPACE_ID)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "a body over 1024 KiB" in str(caught.value)
    assert not caught.value.transient
    assert peak < 8 * MAX_BODY_BYTES, f"{peak / 2**20:.0f} MiB held"


@pytest.mark.parametrize(
    ("encoding", "body", "words"),
    [
        pytest.param("br", b"\x0b\x02\x80{}\x03", "cannot be read", id="brotli"),
        pytest.param("zstd", b"(\xb5/\xfd", "cannot be read", id="zstd"),
        pytest.param("gzip, gzip", b"", "cannot be read", id="twice"),
        pytest.param("gzip", b"not gzip at all", "does not decompress", id="corrupt"),
        pytest.param("gzip\x1b[31m", b"", "cannot be read", id="hostile-header"),
    ],
)
def test_an_encoding_it_cannot_read_is_exit_5(api, exchanger, encoding, body, words) -> None:
    headers = [(b"content-encoding", encoding.encode())]
    api.post(PATH).mock(return_value=httpx.Response(200, content=iter([body]), headers=headers))
    with pytest.raises(ApiError) as caught:
        exchanger.exchange(NAMESPACE_ID)
    text = str(caught.value)
    assert text.startswith("rgpu-exec: the RemoteGPU API at ")
    assert words in text
    assert caught.value.exit_code == 5
    assert all(c.isprintable() for c in text)


def _streamed(content: bytes | Iterator[bytes], **headers: str) -> httpx.Response:
    """A response as from the network: streamed, not read yet."""
    stream = iter([content]) if isinstance(content, bytes) else content
    return httpx.Response(200, content=stream, headers=headers, request=httpx.Request("GET", API))


@pytest.mark.parametrize(
    ("content", "headers", "expected"),
    [
        pytest.param(b"x" * MAX_BODY_BYTES, {}, MAX_BODY_BYTES, id="exactly-the-cap"),
        pytest.param(b"x" * (MAX_BODY_BYTES + 1), {}, None, id="one-over"),
        pytest.param(
            gzip.compress(b"x" * MAX_BODY_BYTES),
            {"content-encoding": "gzip"},
            MAX_BODY_BYTES,
            id="inflates-to-the-cap",
        ),
        pytest.param(
            gzip.compress(b"x" * (MAX_BODY_BYTES + 1)),
            {"content-encoding": "gzip"},
            None,
            id="inflates-one-over",
        ),
        pytest.param(
            # Compressed data larger than the cap: refused as sent, before inflating it all.
            iter([gzip.compress(bytes(range(256)) * 8)] + [b"\0" * 65536] * 20),
            {"content-encoding": "gzip"},
            None,
            id="sent-over-the-cap",
        ),
    ],
)
def test_the_cap_applies_to_the_bytes_sent_and_to_the_bytes_inflated(
    content, headers, expected
) -> None:
    body = read_capped(_streamed(content, **headers), MAX_BODY_BYTES)
    assert (None if body is None else len(body)) == expected


def test_the_tests_gzip_of_zeros_is_gzip_of_that_many_zeros() -> None:
    # What the bombs of these tests are made by: whole, valid (its checksum and length too).
    assert gzip.decompress(b"".join(gzip_of_zeros(8 << 20))) == bytes(8 << 20)
    assert len(b"".join(gzip_of_zeros(64 << 20))) < 128 << 10
