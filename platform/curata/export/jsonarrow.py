"""Vectorised JSON text for Arrow arrays, byte-identical to :func:`to_json`.

The export writes a JSON member per record (license, source, provenance) and per structured
value; ``json.dumps`` per row was most of the export's time. Columns such as ``_source``,
``_license`` and ``_provenance.uri`` repeat a handful of values, so they are encoded once per
distinct value and gathered with ``take``; high-cardinality strings that need no escaping are
quoted with Arrow kernels; anything else falls back to ``json.dumps`` per value.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import functools
import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

_NEEDS_ESCAPE = r'["\\\x00-\x1f]'  # exactly what json.dumps(ensure_ascii=False) escapes


@functools.cache
def _null() -> pa.Scalar:
    """JSON ``null`` as a binary scalar (made on first use: building an Arrow scalar imports
    pandas, ~0.15 s that commands which never export should not pay)."""
    return pa.scalar(b"null", pa.binary())


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


def _dumps(value: object) -> bytes:
    return to_json(value)


def json_array(arr: pa.Array) -> pa.BinaryArray:
    """JSON text of every value of ``arr`` (``null`` for nulls), as a binary array."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if pa.types.is_struct(t):
        return _struct_json(arr)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _string_json(arr.cast(pa.string()))
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return _fill_null(pc.cast(pc.cast(arr, pa.string()), pa.binary()))
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return _by_distinct(arr)
    return pa.array([_dumps(v) for v in arr.to_pylist()], pa.binary())


def _fill_null(arr: pa.Array) -> pa.BinaryArray:
    return pc.fill_null(arr, _null()) if arr.null_count else arr


def _by_distinct(arr: pa.Array) -> pa.BinaryArray:
    """Encode each distinct value once (values repeated across rows are the common case)."""
    enc = pc.dictionary_encode(arr)
    texts = pa.array([_dumps(v) for v in enc.dictionary.to_pylist()], pa.binary())
    return _fill_null(texts.take(enc.indices))


def _string_json(arr: pa.StringArray) -> pa.BinaryArray:
    enc = pc.dictionary_encode(arr)
    if len(enc.dictionary) * 4 <= len(arr):
        texts = pa.array([_dumps(v) for v in enc.dictionary.to_pylist()], pa.binary())
        return _fill_null(texts.take(enc.indices))
    if pc.any(pc.match_substring_regex(arr, _NEEDS_ESCAPE)).as_py():
        return pa.array([_dumps(v) for v in arr.to_pylist()], pa.binary())
    quoted = pc.binary_join_element_wise('"', arr, '"', "")
    return _fill_null(pc.cast(quoted, pa.binary()))


def _struct_json(arr: pa.StructArray) -> pa.BinaryArray:
    pieces: list[object] = []
    for i, field in enumerate(arr.type):
        sep = "{" if i == 0 else ","
        pieces.append(pa.scalar((sep + json.dumps(field.name, ensure_ascii=False) + ":").encode(),
                                pa.binary()))
        pieces.append(json_array(pc.struct_field(arr, [i])))
    if not pieces:
        joined = pa.array([b"{}"] * len(arr), pa.binary())
    else:
        pieces.append(pa.scalar(b"}", pa.binary()))
        joined = pc.binary_join_element_wise(*pieces, pa.scalar(b"", pa.binary()))
    if arr.null_count:
        joined = pc.if_else(arr.is_valid(), joined, _null())
    return joined
