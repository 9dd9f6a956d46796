"""Export options: validation, size parsing and row filters."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import pyarrow as pa

from curata.export.errors import ExportOptionError

Purpose = Literal["commercial", "research", "internal"]
PURPOSES = ("commercial", "research", "internal")
_UNITS = {
    "": 1, "b": 1,
    "k": 10**3, "kb": 10**3, "kib": 2**10,
    "m": 10**6, "mb": 10**6, "mib": 2**20,
    "g": 10**9, "gb": 10**9, "gib": 2**30,
    "t": 10**12, "tb": 10**12, "tib": 2**40,
}  # fmt: skip
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
MIN_SHARD_SIZE = 10240  # one tar record: shards are padded to a multiple of it


def parse_size(value: str | int) -> int:
    """Bytes from ``256MB``, ``1GiB``, ``512k`` or an integer (decimal units; ``iB`` binary)."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        m = _SIZE.match(str(value))
        if not m or m.group(2).lower() not in _UNITS:
            raise ExportOptionError(
                "shard_size", value, valid=["256MB", "1GiB", "500000"], reason="is not a size"
            )
        size = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if size < MIN_SHARD_SIZE:
        raise ExportOptionError("shard_size", value, reason=f"is below {MIN_SHARD_SIZE} bytes")
    return size


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportOptions:
    """Everything that determines the bytes of an export (stored in its manifest)."""

    name: str
    columns: tuple[str, ...] | None = None
    filter: str | None = None
    shard_size: int | None = None
    shard_count: int | None = None
    shuffle: bool = False
    seed: int = 0
    split_by: str | None = None
    purpose: str | None = None
    allow_licenses: tuple[str, ...] = ()
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["columns"] = list(self.columns) if self.columns is not None else None
        d["allow_licenses"] = list(self.allow_licenses)
        return d

    def identity(self) -> dict[str, Any]:
        """The options that change the shards (the override reason does not)."""
        d = self.to_dict()
        d.pop("reason")
        return d


def build_options(
    *,
    name: str,
    shard_size: str | int | None,
    shard_count: int | None,
    columns: Sequence[str] | None,
    filter: Any,
    shuffle: bool,
    seed: int,
    split_by: str | None,
    purpose: str | None,
    allow_license: Sequence[str] | str,
    reason: str | None,
) -> ExportOptions:
    """Validate user-facing options into an :class:`ExportOptions`."""
    if shard_count is not None:
        if shard_size is not None:
            raise ExportOptionError(
                "shard_count", shard_count, reason="cannot be combined with shard_size"
            )
        if isinstance(shard_count, bool) or not isinstance(shard_count, int) or shard_count < 1:
            raise ExportOptionError("shard_count", shard_count, reason="must be a positive integer")
    size = None if shard_count is not None else parse_size(shard_size or "256MB")
    if purpose is not None and purpose not in PURPOSES:
        raise ExportOptionError("purpose", purpose, valid=list(PURPOSES))
    allow = (allow_license,) if isinstance(allow_license, str) else tuple(allow_license)
    if allow and not (reason and reason.strip()):
        raise ExportOptionError(
            "reason", reason, reason="is required with allow_license (it goes to the audit log)"
        )
    return ExportOptions(
        name=name,
        columns=tuple(columns) if columns is not None else None,
        filter=filter_text(filter),
        shard_size=size,
        shard_count=shard_count,
        shuffle=bool(shuffle),
        seed=int(seed),
        split_by=split_by,
        purpose=purpose,
        allow_licenses=tuple(sorted(set(allow))),
        reason=reason if allow else None,
    )


def filter_text(filter: Any) -> str | None:
    """The stable text form of a filter (SQL text, a pyarrow or a polars expression)."""
    if filter is None:
        return None
    if isinstance(filter, str):
        return filter.strip() or None
    return f"{type(filter).__module__}:{filter}"


BatchFilter = Callable[[pa.RecordBatch], pa.RecordBatch]


def compile_filter(filter: Any) -> tuple[BatchFilter | None, list[str]]:
    """A per-batch row filter and the columns it reads.

    Strings are SQL boolean expressions evaluated by Polars (``"label = 1 AND len(text) > 20"``);
    ``polars.Expr`` and ``pyarrow.compute.Expression`` are accepted as they are. Filters are
    row-wise, so applying them batch by batch keeps the export streaming.
    """
    if filter is None or (isinstance(filter, str) and not filter.strip()):
        return None, []
    import polars as pl

    if isinstance(filter, str):
        try:
            expr = pl.sql_expr(filter)
        except Exception as exc:  # polars raises several types for bad SQL
            raise ExportOptionError("filter", filter, reason=f"is not valid SQL ({exc})") from exc
        filter = expr
    if isinstance(filter, pl.Expr):
        cols = list(filter.meta.root_names())
        return _polars_filter(filter, cols), cols
    import pyarrow.compute as pc

    if isinstance(filter, pc.Expression):
        return (lambda b: b.filter(filter)), []
    raise ExportOptionError("filter", filter, reason="must be SQL text or an expression")


def _polars_filter(expr: Any, columns: list[str]) -> BatchFilter:
    import polars as pl

    predicate = expr.fill_null(False)  # SQL semantics: a NULL condition drops the row

    def apply(batch: pa.RecordBatch) -> pa.RecordBatch:
        frame = pl.from_arrow(batch.select(columns) if columns else batch)
        assert isinstance(frame, pl.DataFrame)  # a record batch converts to a frame
        mask = frame.select(predicate).to_series()
        if mask.dtype != pl.Boolean:
            raise ExportOptionError("filter", str(expr), reason="is not a boolean condition")
        return batch.filter(mask.to_arrow())

    return apply
