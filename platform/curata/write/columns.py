"""What every write stores: the system columns, Delta-compatible types, conforming batches.

One builder of the system columns (:func:`system_columns`) serves ``Catalog.append``, the
ingest pipeline, the Ray engine and ``derive``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import pyarrow as pa

from curata import fingerprint as fp
from curata.errors import SchemaMismatchError

PROVENANCE_TYPE = pa.struct([
    ("uri", pa.string()),
    ("locator", pa.string()),
    ("run_id", pa.string()),
    ("retrieved_at", pa.timestamp("us", tz="UTC")),
])
# How an empty JSON object (`{}`, an Arrow struct without fields) is stored: one always-null
# field. Null cells hash to nothing, so the record's fingerprint is that of `{}`.
EMPTY_STRUCT = pa.struct([pa.field("_empty", pa.bool_())])
# Time travel to tagged versions needs the old log entries: never expire them.
TABLE_CONFIGURATION = {"delta.enableExpiredLogCleanup": "false"}
DEFAULT_TARGET_FILE_SIZE = 128 * 1024 * 1024
ROW_GROUP_ROWS = 131_072
COMMIT_RETRIES = 15
MERGE_RETRIES = 8
SCAN_RETRIES = 3


# --- types ----------------------------------------------------------------------------------


def delta_type(t: pa.DataType) -> pa.DataType:
    """The Delta-compatible Arrow type we store ``t`` as (Delta has no unsigned or time types)."""
    if pa.types.is_dictionary(t):
        return delta_type(t.value_type)
    if pa.types.is_unsigned_integer(t):
        return {8: pa.int16(), 16: pa.int32(), 32: pa.int64(), 64: pa.int64()}[t.bit_width]
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC" if t.tz else None)
    if pa.types.is_date64(t):
        return pa.date32()
    if pa.types.is_time(t) or pa.types.is_duration(t):
        return pa.int64()
    if pa.types.is_null(t):
        return pa.string()
    if pa.types.is_struct(t):
        if t.num_fields == 0:  # `{}`: Parquet stores no struct without fields
            return EMPTY_STRUCT
        return pa.struct([pa.field(f.name, delta_type(f.type)) for f in t])
    if pa.types.is_map(t):
        return pa.map_(delta_type(t.key_type), delta_type(t.item_type))
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return pa.list_(delta_type(t.value_type))
    return t


def cast_column(arr: pa.Array, target: pa.DataType, dataset: str, name: str) -> pa.Array:
    if arr.type == target:
        return arr
    try:
        if pa.types.is_time(arr.type) or pa.types.is_duration(arr.type):
            return fp.temporal_ns(arr)
        return arr.cast(target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SchemaMismatchError(
            dataset, reason=f"column {name!r}: cannot store {arr.type} as {target} ({exc})",
            columns=[name]) from None


def conform(batch: pa.RecordBatch, schema: pa.Schema, dataset: str) -> pa.RecordBatch:
    """Cast a batch to ``schema`` (missing columns become nulls)."""
    cols = []
    for f in schema:
        idx = batch.schema.get_field_index(f.name)
        if idx < 0:
            cols.append(pa.nulls(batch.num_rows, f.type))
        else:
            cols.append(cast_column(batch.column(idx), f.type, dataset, f.name))
    return pa.RecordBatch.from_arrays(cols, schema=schema)


# --- inputs ---------------------------------------------------------------------------------


def to_batches(data: Any) -> Iterator[pa.RecordBatch]:
    """Stream any Arrow-ish input (tables, readers, batch iterables, Polars, PyCapsule)."""
    if isinstance(data, pa.RecordBatch):
        yield data
    elif isinstance(data, pa.Table):
        yield from data.to_batches(max_chunksize=ROW_GROUP_ROWS)
    elif isinstance(data, pa.RecordBatchReader):
        yield from data
    elif type(data).__module__.startswith("polars"):
        import polars as pl

        frame = data.collect() if isinstance(data, pl.LazyFrame) else data
        yield from frame.to_arrow().to_batches(max_chunksize=ROW_GROUP_ROWS)
    elif hasattr(data, "__arrow_c_stream__"):
        yield from pa.RecordBatchReader.from_stream(data)
    elif isinstance(data, Iterable):
        for item in data:
            yield from to_batches(item)
    else:
        raise TypeError(f"cannot append {type(data).__name__}; pass Arrow or Polars data")


def system_columns(n: int, *, source_id: str | pa.Array, license: str, uri: str | pa.Array,
                   run_id: str, retrieved_at: datetime,
                   locator: pa.Array | None = None) -> dict[str, pa.Array]:
    """``_source``, ``_license`` and ``_provenance`` of ``n`` rows (``_id`` comes from the
    content). Scalars repeat as zero-copy slices of arrays built once per value (the same few
    values, a run's uri, license and id, fill every batch); per-row values pass as arrays."""
    locator = locator.cast(pa.string()) if locator is not None else pa.nulls(n, pa.string())
    provenance = pa.StructArray.from_arrays(
        [_column(uri, n), locator, _repeat(run_id, n),
         _repeat(retrieved_at, n, pa.timestamp("us", tz="UTC"))],
        fields=list(PROVENANCE_TYPE))
    return {"_source": _column(source_id, n), "_license": _repeat(license, n),
            "_provenance": provenance}


def with_system_columns(batch: pa.RecordBatch, schema: pa.Schema, *, ids: pa.Array,
                        source_id: str | pa.Array, license: str, uri: str | pa.Array,
                        run_id: str, retrieved_at: datetime,
                        locator: pa.Array | None = None) -> pa.RecordBatch:
    """``batch``'s content with ``_id`` and the system columns, in ``schema``'s order (a
    column of ``schema`` the batch lacks is null). The one builder of ingest rows: the local
    engine and the Ray engine's tasks both call it."""
    n = batch.num_rows
    columns = {"_id": ids, **system_columns(n, source_id=source_id, license=license, uri=uri,
                                            run_id=run_id, retrieved_at=retrieved_at,
                                            locator=locator)}
    names = batch.schema.names
    arrays = [columns[f.name] if f.name in columns
              else batch.column(f.name) if f.name in names else pa.nulls(n, f.type)
              for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def system_schema() -> list[pa.Field]:
    """The system fields that open every records table, in order."""
    return [pa.field("_id", pa.string()), pa.field("_source", pa.string()),
            pa.field("_license", pa.string()), pa.field("_provenance", PROVENANCE_TYPE)]


def _column(value: str | pa.Array, n: int) -> pa.Array:
    return value if isinstance(value, (pa.Array, pa.ChunkedArray)) else _repeat(value, n)


_STRING = pa.string()


def _repeat(value: object, n: int, type: pa.DataType = _STRING) -> pa.Array:
    return _repeated(value, type, max(1024, 1 << max(0, n - 1).bit_length())).slice(0, n)


@functools.lru_cache(maxsize=64)
def _repeated(value: object, type: pa.DataType, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, type), n)
