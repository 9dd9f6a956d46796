"""Making every batch fit one schema, with row-level rejects instead of failed runs.

The target schema is fixed before the first row is written (a Delta commit has one schema):
the dataset's existing content columns, plus, for a new dataset or ``schema_evolution="merge"``,
the columns of the first batch of every source. Afterwards a row is rejected when a value
does not cast to its column's type (``type_mismatch``), when it carries a column the schema
does not have (``new_column``), or when it is over ``max_record_size`` (``record_too_large``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from curata.write import delta_type

from curata_ingest.sources import LOCATOR, RejectSink

SchemaEvolution = Literal["none", "merge"]


def content_schema(schema: pa.Schema) -> pa.Schema:
    """The content columns of a schema (system columns start with ``_``), as Delta types."""
    return pa.schema(
        [pa.field(f.name, delta_type(f.type)) for f in schema if not f.name.startswith("_")]
    )


def target_schema(
    existing: pa.Schema | None, firsts: Sequence[pa.Schema], policy: SchemaEvolution
) -> tuple[pa.Schema, list[str]]:
    """The schema rows are cast to, and the new columns that were refused (policy ``none``)."""
    fields = list(content_schema(existing)) if existing is not None else []
    names = {f.name for f in fields}
    refused: list[str] = []
    for schema in firsts:
        for f in content_schema(schema):
            if f.name in names:
                continue
            if existing is not None and policy == "none":
                refused.append(f.name)
                continue
            fields.append(f)
            names.add(f.name)
    return pa.schema(fields), sorted(set(refused))


class Conformer:
    """Casts batches to the target schema; sends rows that do not fit to the reject sink."""

    def __init__(
        self, schema: pa.Schema, *, max_record_size: int | None, rejects: RejectSink, hint: str = ""
    ) -> None:
        self.schema = schema
        self.max_record_size = max_record_size
        self.rejects = rejects
        self.hint = hint

    def __call__(self, batch: pa.RecordBatch, source: str) -> pa.RecordBatch:
        """Return the rows of ``batch`` that fit, cast to the schema, ``_locator`` kept last."""
        keep = np.ones(batch.num_rows, dtype=bool)
        for name in batch.schema.names:
            if name.startswith("_") or self.schema.get_field_index(name) >= 0:
                continue
            bad = batch.column(name).is_valid().to_numpy(zero_copy_only=False)
            self._reject(batch, keep & bad, source, "new_column", f"column {name!r}{self.hint}")
            keep &= ~bad
        columns = []
        for field in self.schema:
            idx = batch.schema.get_field_index(field.name)
            if idx < 0:
                columns.append(pa.nulls(batch.num_rows, field.type))
                continue
            arr, ok = _cast(batch.column(idx), field.type)
            self._reject(
                batch,
                keep & ~ok,
                source,
                "type_mismatch",
                f"column {field.name!r}: expected {field.type}, got {batch.column(idx).type}",
            )
            keep &= ok
            columns.append(arr)
        columns.append(batch.column(LOCATOR))
        out = pa.RecordBatch.from_arrays(
            columns, schema=self.schema.append(pa.field(LOCATOR, pa.string()))
        )
        if self.max_record_size is not None:
            big = record_sizes(out) > self.max_record_size
            self._reject(
                out,
                keep & big,
                source,
                "record_too_large",
                f"over --max-record-size {self.max_record_size} bytes",
            )
            keep &= ~big
        return out if keep.all() else out.filter(pa.array(keep))

    def _reject(
        self, batch: pa.RecordBatch, mask: np.ndarray, source: str, reason: str, detail: str
    ) -> None:
        for i in np.flatnonzero(mask):
            row = batch.slice(int(i), 1).to_pylist()[0]
            locator = row.pop(LOCATOR, "")
            self.rejects.add(
                reason=reason,
                source=source,
                locator=locator or "",
                raw=_raw(row, self.rejects.raw_limit),
                detail=detail,
            )


def _cast(arr: pa.Array, target: pa.DataType) -> tuple[pa.Array, np.ndarray]:
    """Cast ``arr``; when some values do not fit, null them and mark them not ok."""
    if arr.type == target:
        return arr, np.ones(len(arr), dtype=bool)
    try:
        return arr.cast(target, safe=True), np.ones(len(arr), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        pass
    values, ok = [], np.ones(len(arr), dtype=bool)
    for i, scalar in enumerate(arr):  # slow path, only for batches that hold a misfit
        try:
            values.append(pa.array([scalar.as_py()], arr.type).cast(target, safe=True)[0].as_py())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, TypeError):
            values.append(None)
            ok[i] = False
    return pa.array(values, target), ok


def record_sizes(batch: pa.RecordBatch) -> np.ndarray:
    """Approximate stored bytes per row: payload of variable-width columns plus fixed widths."""
    sizes = np.zeros(batch.num_rows, dtype=np.int64)
    for name, col in zip(batch.schema.names, batch.columns, strict=True):
        if name.startswith("_"):
            continue
        t = col.type
        if (
            pa.types.is_string(t)
            or pa.types.is_binary(t)
            or pa.types.is_large_string(t)
            or pa.types.is_large_binary(t)
        ):
            sizes += pc.fill_null(pc.binary_length(col), 0).to_numpy(zero_copy_only=False)
        elif getattr(t, "bit_width", 0) and not pa.types.is_nested(t):
            sizes += max(t.bit_width // 8, 1)
        else:  # nested values: measure their JSON form (rare, and only for size policy)
            sizes += np.array(
                [len(json.dumps(v, default=repr)) for v in col.to_pylist()], dtype=np.int64
            )
    return sizes


def _raw(row: dict[str, Any], limit: int) -> bytes:
    return json.dumps(
        row, default=lambda v: v.hex() if isinstance(v, bytes) else repr(v), ensure_ascii=False
    ).encode()[:limit]
