"""Turn Arrow record batches into WebDataset samples: member names and payload bytes.

Layout of one sample (``KEY`` is the record ``_id``)::

    KEY.json             {"_id", "_license", "_source", "_provenance"} of the record
    KEY.<column>.txt     string columns, UTF-8
    KEY.<column>.cls     integer columns (class labels), decimal text
    KEY.<column>.jpg     binary columns, extension from the bytes (jpg/png/gif/webp/...; else bin)
    KEY.<column>.json    everything else (structs, lists, floats, booleans, dates), JSON text

The column name sits between key and extension so that two columns of the same kind never
collide and every reader that decodes by the last extension (webdataset, HF ``datasets``,
``wids``) decodes them correctly. A null value writes no member.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curata.export.errors import ExportOptionError, SampleKeyError

SYSTEM_COLUMNS = ("_id", "_source", "_license", "_provenance")
_SAFE = re.compile(r"[^A-Za-z0-9_-]")
_KEY_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
IMAGE_EXTENSIONS = ("jpg", "png", "gif", "webp", "bmp", "tiff")


@dataclass(frozen=True, slots=True, kw_only=True)
class Field:
    """How one content column is written: ``KEY.<suffix>.<ext>``."""

    column: str
    suffix: str
    kind: str  # "txt" | "cls" | "bytes" | "json"

    def to_dict(self) -> dict[str, str]:
        return {"column": self.column, "suffix": self.suffix, "kind": self.kind}


def plan_fields(schema: pa.Schema, columns: Sequence[str] | None) -> tuple[Field, ...]:
    """The content fields to export, in schema order (or the order of ``columns``)."""
    names = list(columns) if columns is not None else [
        n for n in schema.names if not n.startswith("_")
    ]
    missing = [n for n in names if n not in schema.names]
    if missing:
        raise ExportOptionError(
            "columns", missing, valid=[n for n in schema.names if not n.startswith("_")]
        )
    fields, seen = [], {}
    for name in names:
        if name in SYSTEM_COLUMNS:
            continue  # always exported, in the metadata member
        suffix = _SAFE.sub("_", name)
        if suffix in seen:
            raise ExportOptionError(
                "columns", [seen[suffix], name], valid=[], reason="map to the same member name"
            )
        seen[suffix] = name
        fields.append(Field(column=name, suffix=suffix, kind=_kind(schema.field(name).type)))
    return tuple(fields)


def _kind(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "txt"
    if pa.types.is_integer(t):
        return "cls"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "bytes"
    if pa.types.is_binary_view(t):
        return "bytes"
    return "json"


def image_extension(data: bytes) -> str:
    """The conventional extension for encoded bytes, from their magic number."""
    head = data[:12]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"BM"):
        return "bmp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    return "bin"


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def to_json(value: Any) -> bytes:
    """Compact, deterministic JSON (keys in the order Arrow gives them)."""
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), default=_json_default
    ).encode("utf-8")


def _as_bytes_list(col: pa.Array) -> list[bytes | None]:
    """Raw bytes per row for string/binary columns, without a str round trip."""
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if pa.types.is_large_string(col.type) or pa.types.is_large_binary(col.type):
        return col.cast(pa.large_binary()).to_pylist()
    return col.cast(pa.binary()).to_pylist()


def encode_column(col: pa.Array, field: Field) -> list[tuple[bytes, bytes] | None]:
    """Per row: ``(".<suffix>.<ext>", payload)`` or ``None`` for a null value."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if field.kind == "txt":
        name = f".{field.suffix}.txt".encode()
        return [None if v is None else (name, v) for v in _as_bytes_list(col)]
    if field.kind == "cls":
        name = f".{field.suffix}.cls".encode()
        return [None if v is None else (name, v) for v in _as_bytes_list(pc.cast(col, pa.string()))]
    if field.kind == "bytes":
        prefix = f".{field.suffix}.".encode()
        return [
            None if v is None else (prefix + image_extension(v).encode(), v)
            for v in _as_bytes_list(col)
        ]
    name = f".{field.suffix}.json".encode()
    return [None if v is None else (name, to_json(v)) for v in col.to_pylist()]


def sample_keys(ids: pa.Array) -> list[str]:
    """Sample keys from ``_id`` values; they must be safe WebDataset keys."""
    keys = ids.to_pylist()
    for key in keys:
        if key is None or not _KEY_OK.match(key):
            raise SampleKeyError(key)
    return keys


def metadata_json(batch: pa.RecordBatch) -> list[bytes]:
    """The ``KEY.json`` payload per row: id, license, source and provenance."""
    cols = {n: batch.column(n).to_pylist() for n in SYSTEM_COLUMNS if n in batch.schema.names}
    rows = zip(*cols.values(), strict=True)
    return [to_json(dict(zip(cols.keys(), row, strict=True))) for row in rows]


def iter_samples(
    batch: pa.RecordBatch, fields: Sequence[Field]
) -> Iterator[tuple[str, list[tuple[bytes, bytes]]]]:
    """Yield ``(key, members)`` for each row of ``batch``, members in a fixed order."""
    keys = sample_keys(batch.column("_id"))
    meta = metadata_json(batch)
    encoded = [encode_column(batch.column(f.column), f) for f in fields]
    for i, key in enumerate(keys):
        k = key.encode()
        members = [(k + b".json", meta[i])]
        for col in encoded:
            m = col[i]
            if m is not None:
                members.append((k + m[0], m[1]))
        yield key, members
