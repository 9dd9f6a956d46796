"""One ingest run, shared by the engines: options, per-source state, and the local run.

``IngestRun`` is the local engine (sources → conform → dedup → system columns → one Delta
commit); the Ray engine (``curata_ingest.engines.ray``) subclasses it and replaces the reading
and writing with tasks on the cluster, keeping the same bookkeeping (run and source records,
rejects, near-duplicate clusters, the report). ``curata_ingest.pipeline.ingest`` resolves the
sources and dispatches to one of them.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import curata
import numpy as np
import pyarrow as pa
from curata import fingerprint as fp
from curata import interrupt, write
from curata._util import current_user, utcnow
from curata.dedup import IdIndex, hex_halves, id_halves
from curata.errors import (
    DatasetNotFoundError,
    RejectRatioError,
    SnapshotNotFoundError,
    StorageError,
    UsageError,
)
from curata.storage import storage_errors
from curata.write import (
    COMMIT_RETRIES,
    find_commit,
    record_appended,
)
from curata.write.shards import ShardWriter, commit_files

from curata_ingest import rejects as rejects_table
from curata_ingest.conform import Conformer, SchemaEvolution, target_schema
from curata_ingest.dedup import NearClusters, pick_text_column
from curata_ingest.licenses import UNKNOWN
from curata_ingest.report import IngestReport, SourceReport, skip_summary
from curata_ingest.sources import LOCATOR, RejectSink, Source

DedupMode = Literal["exact", "near", "off"]
# The schema of a run is fixed from the first rows of every source (a commit has one schema).
_PEEK_ROWS = 10_000
_PEEK_BYTES = 32 << 20
ProgressFn = Callable[[int, int], None]
"""Called with (bytes just read, rows just read) as the run advances."""


@dataclass(slots=True)
class SourceState:
    source: Source
    source_id: str
    uri: str
    read_rejects: RejectSink
    row_rejects: RejectSink
    rows: int = 0
    written: int = 0
    duplicates: int = 0

    @property
    def rows_read(self) -> int:
        return self.rows + len(self.read_rejects)

    @property
    def rejected(self) -> int:
        return len(self.read_rejects) + len(self.row_rejects)


@dataclass(slots=True)
class IngestOptions:
    dataset: str
    license: str
    attribution: str
    dedup: DedupMode
    threshold: float
    text_column: str | None
    schema_evolution: SchemaEvolution
    max_record_size: int | None
    max_reject_ratio: float | None
    shard_size: int
    progress: ProgressFn | None
    spill_dir: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

def artifact_dicts(src: Source) -> list[dict[str, Any]]:
    return [{"uri": a.uri, "size": a.size, "sha256": a.sha256} for a in src.artifacts()]


def latest_snapshot(cat: curata.Catalog, dataset: str) -> curata.Snapshot | None:
    try:
        return cat.snapshot(dataset)
    except (DatasetNotFoundError, SnapshotNotFoundError):
        return None


class IngestRun:
    """One ingest run: owns the stream handed to ``Catalog.append`` and its counters."""

    def __init__(self, cat: curata.Catalog, opts: IngestOptions, states: list[SourceState]) -> None:
        self.cat, self.opts, self.states = cat, opts, states
        self.existing = latest_snapshot(cat, opts.dataset)
        self.index = IdIndex()
        self.near: NearClusters | None = None
        self.clusters: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self.bytes_read = 0
        self.retrieved_at = opts.extra.get("retrieved_at") or utcnow()
        self.run_id = ""
        self.text_column: str | None = None
        self.table_schema = pa.schema([])
        self.shield = interrupt.Shield()

    def execute(self, started: float) -> IngestReport:
        opts = self.opts
        self.run_id = self.cat.store.start_run(
            opts.dataset,
            operation="ingest",
            run_id=opts.extra.get("run_id"),
            stats={"sources": [st.uri for st in self.states]},
        )
        for st in self.states:
            self.cat.store.register_source(
                opts.dataset,
                name=st.source.name,
                uri=st.uri,
                license=opts.license,
                attribution=opts.attribution,
                run_id=self.run_id,
                source_id=st.source_id,
            )
        try:
            try:
                snap = self._write()  # None: a new dataset and no row to write
            except BaseException as exc:
                cause = self.error if self.error is not None else exc
                with contextlib.suppress(StorageError):  # the first error is the one to tell
                    self._write_side_tables()
                self.cat.store.fail_run(self.run_id, cause, stats=self._stats())
                if cause is not exc:
                    raise cause from None
                raise
            self.shield.enter()  # committed (or nothing to commit): the records follow whole
            return self._finish(snap, started)
        finally:
            self.shield.exit()

    def _finish(self, snap: curata.Snapshot | None, started: float) -> IngestReport:
        written = sum(st.written for st in self.states)
        committed = (
            written > 0
            and snap is not None
            and (self.existing is None or snap.version != self.existing.version)
        )
        self._write_side_tables()
        for st in self.states:  # artifact hashes only once committed: a re-run may skip them
            self.cat.store.register_source(
                self.opts.dataset,
                name=st.source.name,
                uri=st.uri,
                license=self.opts.license,
                attribution=self.opts.attribution,
                artifacts=artifact_dicts(st.source),
                run_id=self.run_id,
                source_id=st.source_id,
            )
        status: Literal["committed", "unchanged"] = "committed" if committed else "unchanged"
        report = self._report(status, snap, started)
        self.cat.store.finish_run(
            self.run_id,
            status=status,
            stats=self._stats(),
            version=snap.version if snap is not None else None,
        )
        self.cat.audit(
            "ingest",
            dataset=self.opts.dataset,
            details={
                "run_id": self.run_id,
                "status": status,
                "version": report.version,
                "license": self.opts.license,
                "rows_written": report.rows_written,
                "sources": [st.uri for st in self.states],
            },
        )
        return report

    # --- the stream ----------------------------------------------------------------------

    def _write(self) -> curata.Snapshot | None:
        """Write the run's rows and commit them as ONE new version (or raise, committing
        nothing); None when a new dataset gets no rows."""
        opts = self.opts
        try:
            rows = self._batches()
            schema = next(rows)  # the table schema, fixed before the first row is written
            assert isinstance(schema, pa.Schema)
            if self.existing is not None and self._adds_columns(schema):
                # A transaction cannot change a table's schema: delta-rs writes this run.
                return self.cat.append(
                    opts.dataset,
                    (batch for batch, _ in rows),  # type: ignore[misc]
                    license=opts.license,
                    source=self.states[0].source.name,
                    source_uri=self.states[0].uri,
                    attribution=opts.attribution,
                    run_id=self.run_id,
                    schema_evolution=opts.schema_evolution,
                    target_file_size=opts.shard_size,
                    commit_metadata={"curata.ingest": "1"},
                )
            return self._write_shards(schema, rows)  # type: ignore[arg-type]
        except BaseException as exc:  # remembered: a writer may wrap it
            self.error = self.error or exc
            raise

    def _adds_columns(self, schema: pa.Schema) -> bool:
        assert self.existing is not None
        return bool(set(schema.names) - set(self.existing.schema.names))

    def _write_shards(
        self, schema: pa.Schema, rows: Iterator[tuple[pa.RecordBatch, fp.ContentHashes]]
    ) -> curata.Snapshot | None:
        opts, cat = self.opts, self.cat
        with storage_errors(cat.table_uri(opts.dataset)):
            writer = ShardWriter(
                cat.table_uri(opts.dataset),
                schema,
                storage_options=cat.storage_options,
                target_file_size=opts.shard_size,
            )
        try:
            with storage_errors(cat.table_uri(opts.dataset)):
                for batch, content in rows:
                    writer.put(batch, content)
                files = writer.close()
        except BaseException:
            writer.abort()
            raise
        if not files:
            return self.existing
        meta = {
            "curata.run_id": self.run_id,
            "curata.user": current_user(),
            "curata.version": curata.__version__,
            "curata.operation": "append",
            "curata.ingest": "1",
        }
        # The point of no return: from the commit to the run's last record, an interrupt waits.
        self.shield.enter()
        with storage_errors(cat.table_uri(opts.dataset)):
            commit_files(cat.store, opts.dataset, schema, files, meta, retries=COMMIT_RETRIES)
        version = find_commit(cat.store, opts.dataset, self.run_id)
        record_appended(
            cat.store, opts.dataset, version, writer.row_sum, operation="append", run_id=self.run_id
        )
        return cat.snapshot(f"{opts.dataset}@{version}")

    def _batches(self) -> Iterator[pa.Schema | tuple[pa.RecordBatch, fp.ContentHashes]]:
        """First the table schema, then (rows with system columns, their content hashes)."""
        opened = [self._open(st) for st in self.states]
        existing = self.existing.schema if self.existing is not None else None
        heads = [b.schema for _, peeked in opened for b in peeked]
        content, _ = target_schema(existing, heads, self.opts.schema_evolution)
        self._prepare_dedup(content)
        self.table_schema = table_schema(existing, content)
        yield self.table_schema
        hint = (
            "; pass --schema-evolution merge"
            if self.opts.schema_evolution == "none"
            else "; it appeared after the schema was fixed: ingest it in its own run"
        )
        for st, (it, peeked) in zip(self.states, opened, strict=True):
            conform = Conformer(
                content, max_record_size=self.opts.max_record_size, rejects=st.row_rejects, hint=hint
            )
            # Parsing runs on its own thread while this one hashes and the writers encode.
            for batch in itertools.chain(peeked, prefetch(it)):
                st.rows += batch.num_rows
                yield from self._process(st, conform(batch, st.source.name))
        self._check_ratio()

    def _open(self, st: SourceState) -> tuple[Iterator[pa.RecordBatch], list[pa.RecordBatch]]:
        """Start a source and peek its first batches (bounded) so the schema covers them."""

        def advance(n: int) -> None:
            self.bytes_read += n
            if self.opts.progress:
                self.opts.progress(n, 0)

        it = iter(st.source.batches(st.read_rejects, advance))
        peeked: list[pa.RecordBatch] = []
        rows = size = 0
        while rows < _PEEK_ROWS and size < _PEEK_BYTES:
            batch = next(it, None)
            if batch is None:
                break
            peeked.append(batch)
            rows, size = rows + batch.num_rows, size + batch.nbytes
        return it, peeked

    def _prepare_dedup(self, schema: pa.Schema) -> None:
        if self.opts.dedup == "off":
            return
        if self.existing is not None:  # dedup against rows already in the dataset
            for batch in self.existing.to_batches(columns=["_id"]):
                self.index.add(*hex_halves(batch.column(0)))
        if self.opts.dedup == "near":
            self.text_column = pick_text_column(schema, self.opts.text_column)
            if self.text_column is None:
                raise UsageError(
                    f"--dedup near needs a text column (string columns: none named "
                    f"{self.opts.text_column!r})"
                    if self.opts.text_column
                    else "--dedup near needs a text column and the data has no string column"
                )
            self.near = self._near_pass(schema)

    def _process(
        self, st: SourceState, batch: pa.RecordBatch
    ) -> list[tuple[pa.RecordBatch, fp.ContentHashes]]:
        """The batch's new rows with system columns, in one or more pieces."""
        if self.opts.progress:
            self.opts.progress(0, batch.num_rows)
        if not batch.num_rows:
            return []
        content = fp.content_hashes(batch)  # `_locator` starts with `_`: not content
        hashes = content.record_hashes()
        keep = np.ones(batch.num_rows, dtype=bool)
        if self.opts.dedup != "off":
            keep = self.index.new_rows(*id_halves(hashes))
        ids = fp.hex_strings(hashes)
        if self.near is not None and self.text_column is not None:
            keep &= self._near(st, batch, ids, keep)
        kept = int(keep.sum())
        st.duplicates += batch.num_rows - kept
        st.written += kept
        if not kept:
            return []
        out = self._with_system_columns(st, batch, ids)
        if kept == batch.num_rows:
            return [(out, content)]
        dropped = np.flatnonzero(~keep)
        if len(dropped) > _MAX_PIECES:
            rows = pa.array(np.flatnonzero(keep))  # `take` copies ~3x faster than `filter`
            return [(out.take(rows), content.filter(keep))]
        # A few duplicates (the usual case): the rows between them, as zero-copy slices.
        starts = np.concatenate(([0], dropped + 1))
        stops = np.concatenate((dropped, [batch.num_rows]))
        return [(out.slice(a, b - a), content.slice(a, b - a))
                for a, b in zip(starts.tolist(), stops.tolist(), strict=True) if b > a]

    def _near_pass(self, content: pa.Schema) -> NearClusters:
        """Near-duplicate clusters of the run's new rows, decided before any row is written:
        a first pass reads the sources (the same rows the write pass will see: conformed,
        exact-deduplicated) and clusters their texts with the index ``derive``'s
        ``near_dedup`` uses, candidates verified, in ``_id`` order. So both keep the same rows
        on the same input, whatever the order of files and lines."""
        assert self.text_column is not None
        exact = IdIndex()
        if self.existing is not None:
            for batch in self.existing.to_batches(columns=["_id"]):
                exact.add(*hex_halves(batch.column(0)))
        clusters = NearClusters(self.opts.threshold)
        for st in self.states:
            conform = Conformer(content, max_record_size=self.opts.max_record_size,
                                rejects=RejectSink())
            for raw in st.source.batches(RejectSink()):
                batch = conform(raw, st.source.name)
                hashes = fp.content_hashes(batch).record_hashes()
                new = np.flatnonzero(exact.new_rows(*id_halves(hashes)))
                clusters.add(fp.hex_strings(hashes).take(pa.array(new)).to_pylist(),
                             batch.column(self.text_column).take(pa.array(new)).to_pylist())
        clusters.decide()
        return clusters

    def _near(
        self, st: SourceState, batch: pa.RecordBatch, ids: pa.Array, keep: np.ndarray
    ) -> np.ndarray:
        assert self.near is not None
        out = np.ones(batch.num_rows, dtype=bool)
        locators = batch.column(LOCATOR)
        for i in np.flatnonzero(keep).tolist():
            match = self.near.dropped.get(ids[i].as_py())
            if match is None:
                continue
            out[i] = False
            self.clusters.append({"cluster_id": match[0], "_id": ids[i].as_py(),
                                  "similarity": match[1], "source": st.source.name,
                                  "locator": locators[i].as_py()})
        return out

    def _with_system_columns(
        self, st: SourceState, batch: pa.RecordBatch, ids: pa.Array
    ) -> pa.RecordBatch:
        return write.with_system_columns(
            batch, self.table_schema, ids=ids, source_id=st.source_id, license=self.opts.license,
            uri=st.uri, run_id=self.run_id, retrieved_at=self.retrieved_at,
            locator=batch.column(LOCATOR))

    def _check_ratio(self) -> None:
        limit = self.opts.max_reject_ratio
        read = sum(st.rows_read for st in self.states)
        rejected = sum(st.rejected for st in self.states)
        if limit is not None and read and rejected / read > limit:
            raise RejectRatioError(
                self.opts.dataset, ratio=rejected / read, limit=limit, rejected=rejected,
                reasons=self._reasons(),
            )

    # --- bookkeeping ---------------------------------------------------------------------

    def _write_side_tables(self) -> None:
        sinks = [s for st in self.states for s in (st.read_rejects, st.row_rejects)]
        with storage_errors(self.cat.table_uri(self.opts.dataset, "rejects")):
            rejects_table.write_rejects(self.cat, self.opts.dataset, sinks, run_id=self.run_id)
        if self.clusters:
            rejects_table.write_clusters(
                self.cat, self.opts.dataset, self.clusters, run_id=self.run_id
            )

    def _reasons(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for st in self.states:
            for sink in (st.read_rejects, st.row_rejects):
                for reason, n in sink.counts.items():
                    out[reason] = out.get(reason, 0) + n
        return dict(sorted(out.items()))

    def _stats(self) -> dict[str, Any]:
        return {
            "rows_read": sum(st.rows_read for st in self.states),
            "rows_written": sum(st.written for st in self.states),
            "duplicates": sum(st.duplicates for st in self.states),
            "rejected": sum(st.rejected for st in self.states),
            "near_duplicates": len(self.clusters),
            "reject_reasons": self._reasons(),
            "bytes_read": self.bytes_read,
            "skipped": sum(len(st.source.skipped) for st in self.states),
            "license": self.opts.license,
            "sources": [st.uri for st in self.states],
        }

    def _report(
        self,
        status: Literal["committed", "unchanged"],
        snap: curata.Snapshot | None,
        started: float,
    ) -> IngestReport:
        sources = [
            SourceReport(
                name=st.source.name,
                uri=st.uri,
                format=st.source.format,
                source_id=st.source_id,
                rows_read=st.rows_read,
                rows_written=st.written,
                duplicates=st.duplicates,
                rejected=st.rejected,
                artifacts=artifact_dicts(st.source),
                skipped=len(st.source.skipped),
            )
            for st in self.states
        ]
        stats = self._stats()
        return IngestReport(
            status=status,
            dataset=self.opts.dataset,
            version=snap.version if snap is not None else None,
            fingerprint=snap.fingerprint if snap is not None else None,
            run_id=self.run_id,
            license=self.opts.license,
            license_flagged=self.opts.license == UNKNOWN,
            rows_read=stats["rows_read"],
            rows_written=stats["rows_written"],
            duplicates=stats["duplicates"],
            near_duplicates=stats["near_duplicates"],
            rejected=stats["rejected"],
            reject_reasons=stats["reject_reasons"],
            bytes_read=self.bytes_read,
            seconds=round(time.perf_counter() - started, 3),
            sources=sources,
            **skip_summary([k for st in self.states for k in st.source.skipped]),
        )


def table_schema(existing: pa.Schema | None, content: pa.Schema) -> pa.Schema:
    """The records table's schema after this run: system columns, then content columns."""
    if existing is None:
        return pa.schema(write.system_schema() + list(content))
    return pa.schema(list(existing) + [f for f in content if f.name not in existing.names])


# A batch with up to this many duplicates is written as the slices between them (no copy);
# with more, its kept rows are copied into one batch.
_MAX_PIECES = 16


_DONE = object()


def prefetch(batches: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """Produce batches on a thread while the Delta writer encodes the previous ones.

    Parsing (Arrow's JSON reader), hashing (polars-hash) and Parquet encoding (delta-rs) all
    release the GIL, so reading and writing overlap. At most ``depth`` batches wait in the
    queue, which keeps memory bounded.
    """
    out: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        out.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            out.put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            out.put(exc)

    worker = threading.Thread(target=produce, name="curata-ingest-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


__all__ = ["DedupMode", "IngestOptions", "IngestRun", "ProgressFn", "SourceState", "artifact_dicts",
           "latest_snapshot", "prefetch", "table_schema"]
