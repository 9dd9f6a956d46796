"""Which rows an export writes, in which order, and into which split."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curata.export.errors import ExportOptionError
from curata.export.options import BatchFilter, ExportOptions, compile_filter
from curata.export.shuffle import shuffled
from curata.fingerprint import SYSTEM_COLUMNS

_SPLIT_SAFE = re.compile(r"[^A-Za-z0-9_]")
MAX_SPLITS = 256


@dataclass(slots=True, kw_only=True)
class Census:
    """What the export will contain, from a cheap pass over a few columns."""

    total: int = 0
    splits: Counter[str] = field(default_factory=Counter)
    licenses: Counter[str | None] = field(default_factory=Counter)  # None: a null _license
    sources: Counter[str] = field(default_factory=Counter)
    license_sources: defaultdict[str | None, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )


def split_label(value: Any) -> str:
    """A file-name-safe split name for a value of the ``split_by`` column."""
    if value is None:
        return "null"
    return _SPLIT_SAFE.sub("_", str(value)) or "empty"


class Selection:
    """Reads the rows of a snapshot that an export selects.

    Args:
        snapshot: anything with ``to_batches(columns=..., filter=...)`` and ``schema``.
        options: the validated export options.
        content: the content columns to read besides the system columns.
    """

    def __init__(self, snapshot: Any, options: ExportOptions, filter: Any, content: Sequence[str]):
        self.snapshot = snapshot
        self.options = options
        schema = snapshot.schema
        self._batch_filter, filter_cols = compile_filter(filter)
        self._pushdown = None
        if _is_arrow_expression(filter):  # pushed down to Parquet instead of per batch
            self._pushdown, self._batch_filter = filter, None
        missing = [c for c in filter_cols if c not in schema.names]
        if options.split_by is not None and options.split_by not in schema.names:
            missing.append(options.split_by)
        if missing:
            raise ExportOptionError("filter/split_by", missing, valid=schema.names,
                                    reason="names columns the snapshot does not have")
        self._filter_cols = filter_cols
        system = [c for c in SYSTEM_COLUMNS if c in schema.names]
        extra = [c for c in [options.split_by] if c and c not in content and c not in system]
        self.read_columns = system + list(content) + extra + [
            c for c in filter_cols if c not in content and c not in system and c not in extra
        ]

    @property
    def filter_columns(self) -> list[str]:
        """Columns the row filter reads (none for a pushed-down pyarrow expression)."""
        return list(self._filter_cols)

    def _batches(self, columns: list[str]) -> Iterator[pa.RecordBatch]:
        bf: BatchFilter | None = self._batch_filter
        for batch in self.snapshot.to_batches(columns=columns, filter=self._pushdown):
            if bf is not None:
                batch = bf(batch)
            if batch.num_rows:
                yield batch

    def census(self) -> Census:
        """Counts per split, license and source of the selected rows."""
        cols = ["_license", "_source"]
        for c in [self.options.split_by, *self._filter_cols]:
            if c and c not in cols:
                cols.append(c)
        census = Census()
        for batch in self._batches(cols):
            census.total += batch.num_rows
            keys = {"license": batch.column("_license"), "source": batch.column("_source")}
            if self.options.split_by is not None:
                keys["split"] = batch.column(self.options.split_by)
            # group in Arrow, count in Python only per distinct (split, license, source)
            groups = pa.table(keys).group_by(list(keys)).aggregate([([], "count_all")])
            for row in groups.to_pylist():
                n, license, source = row["count_all"], row["license"], row["source"]
                census.splits[split_label(row["split"]) if "split" in row else ""] += n
                census.licenses[license] += n
                census.sources[source] += n
                census.license_sources[license][source] += n
        if len(census.splits) > MAX_SPLITS:
            raise ExportOptionError("split_by", self.options.split_by,
                                    reason=f"has more than {MAX_SPLITS} distinct values")
        return census

    def _split_labels(self, batch: pa.RecordBatch) -> list[str]:
        if self.options.split_by is None:
            return [""] * batch.num_rows
        return [split_label(v) for v in batch.column(self.options.split_by).to_pylist()]

    def scan(self, columns: Sequence[str] | None = None
             ) -> Iterator[tuple[pa.RecordBatch, list[str]]]:
        """Batches of selected rows in stored order (no shuffle), with each row's split label.

        ``columns`` defaults to :attr:`read_columns`; any other list must include the
        ``split_by`` column.
        """
        for batch in self._batches(list(columns) if columns is not None else self.read_columns):
            yield batch, self._split_labels(batch)

    def rows(self) -> Iterator[tuple[pa.RecordBatch, list[str]]]:
        """Batches of selected rows in export order, with each row's split label."""
        if not self.options.shuffle:
            yield from self.scan()
            return
        ids = (b.column("_id") for b in self._batches(["_id", *self._id_filter_columns()]))
        for batch in shuffled(lambda: self._batches(self.read_columns), ids, self.options.seed):
            yield batch, self._split_labels(batch)

    def _id_filter_columns(self) -> list[str]:
        return [c for c in self._filter_cols if c != "_id"]


def _is_arrow_expression(filter: Any) -> bool:
    return isinstance(filter, pc.Expression)
