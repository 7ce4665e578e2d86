"""Compressed answers for the tests of the byte cap: gigabytes of zeros as gzip, made at the cost
of a megabyte. The one maker of such answers in the tests."""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

# gzip's frame (RFC 1952): deflate, no name, no time, best compression, unknown system.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"


def gzip_of_zeros(size: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    """`size` zero bytes (whole `chunk`s), gzip-compressed, as it streams (never held whole on
    either side). Each chunk is compressed after a full flush, which starts the compressor
    afresh: every chunk but the first compresses to the same bytes, made once and sent again."""
    zeros = bytes(chunk)
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw deflate: framed here
    first = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    checksum = zlib.crc32(zeros)
    yield _GZIP_HEADER + first
    for _ in range(size // chunk - 1):
        checksum = zlib.crc32(zeros, checksum)
        yield again
    yield packer.flush() + struct.pack("<II", checksum, size & 0xFFFFFFFF)


def gzip_bomb(size: int) -> bytes:
    """`gzip_of_zeros(size)`, whole."""
    return b"".join(gzip_of_zeros(size))
