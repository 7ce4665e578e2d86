"""Just enough of Kubernetes' protobuf request encoding to read what kubectl sends that way.

Recent kubectl sends typed objects (ConfigMap, the self-subject reviews) as
`application/vnd.kubernetes.protobuf`: the magic `k8s\\0`, then a `runtime.Unknown` whose `raw`
holds the object. This decodes those few kinds into their JSON form (answers stay JSON, which
kubectl accepts). Field numbers are those of k8s.io/api's generated.proto files.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    pass


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:  # noqa: PLR2004
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs: ints for varints, bytes for length-delimited fields."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, value))
        elif wire == 2:  # noqa: PLR2004
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ProtobufError("truncated field")
            out.append((number, data[pos : pos + length]))
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
    return out


def _strings(data: bytes, names: dict[int, str]) -> dict[str, str]:
    return {names[n]: v.decode() for n, v in fields(data) if n in names and isinstance(v, bytes)}


def _map(entries: list[bytes], binary: bool = False) -> dict[str, str]:
    result = {}
    for entry in entries:
        parts = dict(fields(entry))
        key, value = parts.get(1, b""), parts.get(2, b"")
        if isinstance(key, bytes) and isinstance(value, bytes):
            result[key.decode()] = base64.b64encode(value).decode() if binary else value.decode()
    return result


def _repeated(data: bytes, number: int) -> list[bytes]:
    return [v for n, v in fields(data) if n == number and isinstance(v, bytes)]


def _object_meta(data: bytes) -> dict[str, Any]:
    meta: dict[str, Any] = _strings(data, {1: "name", 2: "generateName", 3: "namespace"})
    for number, name in ((11, "labels"), (12, "annotations")):
        entries = _repeated(data, number)
        if entries:
            meta[name] = _map(entries)
    return meta


def _configmap(raw: bytes) -> dict[str, Any]:
    parts = fields(raw)
    obj: dict[str, Any] = {}
    for number, value in parts:
        if number == 1 and isinstance(value, bytes):
            obj["metadata"] = _object_meta(value)
        if number == 4:  # noqa: PLR2004
            obj["immutable"] = bool(value)
    data, binary = _repeated(raw, 2), _repeated(raw, 3)
    if data:
        obj["data"] = _map(data)
    if binary:
        obj["binaryData"] = _map(binary, binary=True)
    return obj


def _access_review(raw: bytes) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for spec_bytes in _repeated(raw, 2):
        for number, value in fields(spec_bytes):
            if number == 1 and isinstance(value, bytes):
                spec["resourceAttributes"] = _strings(value, {
                    1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource",
                    6: "subresource", 7: "name",
                })  # fmt: skip
            elif number == 2 and isinstance(value, bytes):  # noqa: PLR2004
                spec["nonResourceAttributes"] = _strings(value, {1: "path", 2: "verb"})
    return {"spec": spec}


def _rules_review(raw: bytes) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for spec_bytes in _repeated(raw, 2):
        spec.update(_strings(spec_bytes, {1: "namespace"}))
    return {"spec": spec}


def _self_review(_raw: bytes) -> dict[str, Any]:
    return {}


_DECODERS: dict[str, Callable[[bytes], dict[str, Any]]] = {
    "ConfigMap": _configmap,
    "SelfSubjectAccessReview": _access_review,
    "SelfSubjectRulesReview": _rules_review,
    "SelfSubjectReview": _self_review,
}


def decode(body: bytes) -> dict[str, Any]:
    """The object's JSON form; ProtobufError for anything this module does not read."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf magic")
    envelope = dict(fields(body[len(MAGIC) :]))
    type_meta, raw = envelope.get(1, b""), envelope.get(2, b"")
    if not isinstance(type_meta, bytes) or not isinstance(raw, bytes):
        raise ProtobufError("malformed envelope")
    meta = _strings(type_meta, {1: "apiVersion", 2: "kind"})
    decoder = _DECODERS.get(meta.get("kind", ""))
    if decoder is None:
        raise ProtobufError(
            f"the emulator cannot read {meta.get('kind') or 'this kind'} as protobuf"
        )
    return {**meta, **decoder(raw)}
