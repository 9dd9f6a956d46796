"""Pinned snapshots: one Delta version of a dataset's records plus its fingerprint."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from curata.engines.ray import to_ray
from curata.errors import CurataError, SnapshotDataError
from curata.export import export_webdataset, webdataset
from curata.license_mix import license_mix
from curata.quality.stats import snapshot_stats
from curata.storage import delta_dataset
from curata.verify import verify_snapshot

if TYPE_CHECKING:
    import polars as pl
    import pyarrow.dataset as pads

    from curata.store import Store
    from curata.verify import VerifyReport


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """An immutable, pinned view of one version of a dataset.

    Writes after it never change what it loads: every read goes to ``version`` of the Delta
    table. Obtain one with ``curata.load(ref)`` or ``Catalog.snapshot(ref)``.

    Example:
        >>> snap = curata.load("reviews@v3")
        >>> table = snap.to_arrow(columns=["text", "_license"])
    """

    dataset: str
    version: int
    fingerprint: str
    num_rows: int
    tag: str | None = None
    table_uri: str
    storage_options: dict[str, str] | None = field(default=None, repr=False)
    # The record this snapshot came from (file hashes for ``verify``); never the Catalog.
    store: Store | None = field(default=None, repr=False, compare=False)
    # The scheme ``fingerprint`` was computed with (``curata.fingerprint.SCHEMES``); None: the
    # current one. Versions recorded before a scheme change keep verifying under their own.
    fingerprint_scheme: str | None = field(default=None, repr=False)
    # The Delta log loaded at ``version``, kept once read: a version never changes, and one
    # ``curata show`` then reads the log once for the schema, the license mix and the head.
    table_handle: Any = field(default=None, repr=False, compare=False)

    @property
    def ref(self) -> str:
        """A ref that resolves to exactly this snapshot (the tag if it has one)."""
        return f"{self.dataset}@{self.tag if self.tag else self.version}"

    def delta_table(self) -> Any:
        """The Delta table at this version (loaded once per snapshot value)."""
        if self.table_handle is None or self.table_handle.version() != self.version:
            from deltalake import DeltaTable

            table = DeltaTable(self.table_uri, version=self.version,
                               storage_options=self.storage_options)
            object.__setattr__(self, "table_handle", table)
        return self.table_handle

    @property
    def schema(self) -> pa.Schema:
        return pa.schema(self.delta_table().schema().to_arrow())

    def to_dataset(self) -> pads.Dataset:
        """A ``pyarrow.dataset.Dataset`` over the files of this version."""
        with self.reading():
            return delta_dataset(self.delta_table(), self.table_uri, self.storage_options)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Turn a missing or corrupt data file met while reading into ``SnapshotDataError``
        (exit 4, naming the file and ``curata verify``), never a raw ``OSError``."""
        try:
            yield
        except CurataError:
            raise
        except (OSError, pa.ArrowException) as exc:
            raise SnapshotDataError(self.ref, reason=f"{type(exc).__name__}: {exc}",
                                    path=_path_in(str(exc))) from exc
        except Exception as exc:
            if type(exc).__module__.split(".")[0] not in ("polars", "deltalake", "_internal"):
                raise
            raise SnapshotDataError(self.ref, reason=f"{type(exc).__name__}: {exc}",
                                    path=_path_in(str(exc))) from exc

    def to_arrow(
        self, columns: Sequence[str] | None = None, filter: Any = None
    ) -> pa.Table:
        """The snapshot as a ``pyarrow.Table``.

        Args:
            columns: columns to read (default: all).
            filter: a ``pyarrow.compute.Expression`` or DNF filter list, pushed down to Parquet.
        """
        cols = list(columns) if columns is not None else None
        if isinstance(filter, list):  # DNF [(column, op, value), ...]
            import pyarrow.parquet as pq

            filter = pq.filters_to_expression(filter)
        with self.reading():
            return self.to_dataset().to_table(columns=cols, filter=filter)

    def to_batches(
        self, columns: Sequence[str] | None = None, *, batch_size: int = 65_536, filter: Any = None
    ) -> Iterator[pa.RecordBatch]:
        """Stream the snapshot as record batches (bounded memory)."""
        ds = self.to_dataset()
        with self.reading():
            yield from ds.to_batches(
                columns=list(columns) if columns is not None else None,
                filter=filter,
                batch_size=batch_size,
            )

    def head(self, n: int = 5, columns: Sequence[str] | None = None) -> pa.Table:
        """The first ``n`` records, reading only what they need.

        Only the first files of the version's file list that hold ``n`` rows (by the Delta
        log's row counts) are opened, without read-ahead, and the scan stops once ``n`` rows
        are in hand: a preview of a snapshot with huge records or many files costs about one
        row group, never the whole snapshot.

        Example:
            >>> curata.load("reviews@v3").head(3).column("text").to_pylist()  # doctest: +SKIP
        """
        dt = self.delta_table()
        cols = list(columns) if columns is not None else None
        with self.reading():
            ds = delta_dataset(dt, self.table_uri, self.storage_options,
                               only=_first_files(dt, max(n, 1)))
            if n <= 0:
                return ds.head(0, columns=cols)
            return ds.head(n, columns=cols, batch_size=max(1, min(n, 65_536)),
                           batch_readahead=0, fragment_readahead=0, use_threads=False)

    def to_polars(self, lazy: bool = False) -> pl.DataFrame | pl.LazyFrame:
        """The snapshot as a Polars ``DataFrame`` or, with ``lazy=True``, a ``LazyFrame``."""
        import polars as pl

        with self.reading():
            lf = pl.scan_delta(
                self.table_uri, version=self.version, storage_options=self.storage_options
            )
            return lf if lazy else lf.collect()

    def to_hf(self) -> Any:
        """The snapshot as a Hugging Face ``datasets.Dataset`` (needs the ``hf`` extra)."""
        try:
            import datasets
        except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
            raise ModuleNotFoundError(
                "to_hf() needs Hugging Face datasets: pip install 'curata[hf]'"
            ) from exc
        return datasets.Dataset(datasets.table.InMemoryTable(self.to_arrow()))

    def to_ray(self, columns: Sequence[str] | None = None, **options: Any) -> Any:
        """The snapshot as a ``ray.data.Dataset`` (needs Ray); see ``curata.engines.ray``."""
        return to_ray(self, columns=columns, **options)

    def files(self) -> list[dict[str, Any]]:
        """The Parquet files of this version: path (relative), size, num_records."""
        actions = self.delta_table().get_add_actions(flatten=True)
        t = pa.table(actions) if not isinstance(actions, pa.Table) else actions
        cols = {c: t.column(c).to_pylist() for c in ("path", "size_bytes", "num_records")}
        return [
            {"path": p, "size": s, "num_rows": n}
            for p, s, n in zip(cols["path"], cols["size_bytes"], cols["num_records"], strict=True)
        ]

    def verify(self) -> VerifyReport:
        """Recompute the fingerprint from the stored files; report missing or altered files."""
        return verify_snapshot(self)

    def stats(self, **options: Any) -> Any:
        """Counts per license, source and low-cardinality column, text length histograms,
        quality-issue and PII rates (``curata.quality.SnapshotStats``; ``.to_dict()``)."""
        return snapshot_stats(self, **options)

    def licenses(self) -> list[dict[str, Any]]:
        """License mix: one entry per ``_license`` and ``_source`` with its record count.

        Counted from the Delta log's per-file stats where they pin one license and source,
        else from those two columns only (``curata.license_mix``); most records first.
        """
        return [{"license": lic, "source": src, "records": n}
                for lic, src, n in license_mix(self)]

    def export_webdataset(self, out: str, **options: Any) -> Any:
        """Write WebDataset shards of this snapshot; see ``curata.export.export_webdataset``."""
        return export_webdataset(self, out, **options)

    def webdataset(self, **options: Any) -> Any:
        """Iterate samples for training loops; see ``curata.export.webdataset``."""
        return webdataset(self, **options)


def _first_files(dt: Any, n: int) -> set[str]:
    """Paths (as the Delta log spells them) of the first files that together hold ``n`` rows;
    a file without a row count is taken and the count goes on."""
    actions = dt.get_add_actions(flatten=True)
    t = actions if isinstance(actions, pa.Table) else pa.table(actions)
    counts = (t.column("num_records").to_pylist() if "num_records" in t.column_names
              else [None] * t.num_rows)
    chosen: set[str] = set()
    rows = 0
    for path, count in zip(t.column("path").to_pylist(), counts, strict=True):
        chosen.add(path)
        rows += count or 0
        if rows >= n:
            break
    return chosen


_PARQUET_PATH = re.compile(r"([^\s'\"]*part-[^\s'\"]+\.parquet)")


def _path_in(message: str) -> str | None:
    """The data file a reader's error message names, if it names one."""
    found = _PARQUET_PATH.search(message)
    return found.group(1) if found else None
