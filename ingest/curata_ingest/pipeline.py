"""The ingest pipeline: sources → conform → dedup → system columns → ONE Delta commit.

Everything streams: sources yield bounded batches, the catalog's ``append`` writes them to
Parquet shards as they come and commits once at the end. A process killed anywhere before
that commit leaves the previous version untouched (the run is then shown as ``failed`` and its
orphan files are collected by ``gc``); a run above ``max_reject_ratio`` raises before the
commit, so nothing is committed either.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import curata
import numpy as np
import pyarrow as pa
from curata import fingerprint as fp
from curata import interrupt
from curata._util import current_user, utcnow
from curata.catalog.models import IngestRun
from curata.catalog.models import Source as SourceRow
from curata.dedup import IdIndex, hex_halves, id_halves
from curata.errors import (
    DatasetNotFoundError,
    RejectRatioError,
    SnapshotNotFoundError,
    StorageError,
    UsageError,
)
from curata.shards import ShardWriter, commit_files
from curata.storage import storage_errors
from curata.writer import (
    COMMIT_RETRIES,
    DEFAULT_TARGET_FILE_SIZE,
    PROVENANCE_TYPE,
    check_source_license,
    fail_run,
    find_commit,
    finish_run,
    make_source_id,
    record_appended,
    register_source,
    start_run,
)

from curata_ingest import rejects as rejects_table
from curata_ingest.conform import Conformer, SchemaEvolution, target_schema
from curata_ingest.dedup import NearClusters, pick_text_column
from curata_ingest.licenses import UNKNOWN, check_license
from curata_ingest.report import IngestReport, SourceReport, skip_summary
from curata_ingest.sources import LOCATOR, RejectSink, Source, open_sources

DedupMode = Literal["exact", "near", "off"]
DEFAULT_MAX_REJECT_RATIO = 0.5
# The schema of a run is fixed from the first rows of every source (a commit has one schema).
_PEEK_ROWS = 10_000
_PEEK_BYTES = 32 << 20
ProgressFn = Callable[[int, int], None]
"""Called with (bytes just read, rows just read) as the run advances."""


@dataclass(slots=True)
class _SourceState:
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
class _Options:
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


def ingest(
    sources: str | Source | Sequence[str | Source],
    *,
    dataset: str,
    license: str,
    attribution: str | None = None,
    source_url: str | None = None,
    source_name: str | None = None,
    format: str | None = None,
    dedup: DedupMode = "exact",
    threshold: float = 0.9,
    text_column: str | None = None,
    schema_evolution: SchemaEvolution = "none",
    max_record_size: int | None = None,
    max_reject_ratio: float | None = DEFAULT_MAX_REJECT_RATIO,
    shard_size: int = DEFAULT_TARGET_FILE_SIZE,
    force: bool = False,
    catalog: curata.Catalog | None = None,
    storage_options: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
    engine: Literal["local", "ray"] = "local",
    run_id: str | None = None,
    retrieved_at: datetime | None = None,
    relicense: bool = False,
    path_column: str | None = None,
    follow_symlinks: str = "inside",
    delimiter: str | None = None,
    encoding: str | None = None,
    max_depth: int | None = None,
) -> IngestReport:
    """Stream sources into ``dataset`` as one new version.

    Args:
        sources: paths, globs, folders, fsspec URIs, ``URL#table=…`` SQL specs, ``hf:…`` specs
            or :class:`~curata_ingest.sources.Source` objects.
        dataset: target dataset (created on first ingest).
        license: SPDX expression for every row (``LicenseRef-…`` ok; ``unknown`` is flagged).
        dedup: ``exact`` (by ``_id``, within the run and against the dataset), ``near``
            (exact, then MinHash LSH on a text column at ``threshold``) or ``off``.
        schema_evolution: ``merge`` lets new columns into an existing dataset; with ``none``
            rows carrying them are rejected.
        max_record_size: records with more bytes are rejected, before they are read whole
            where the format allows (a JSON line, a file, a tar member; default 256 MiB).
        max_depth: JSON records nested deeper are rejected (default 32, at most 48: deeper
            types make Parquet files Arrow cannot read back).
        max_reject_ratio: fail (commit nothing) when more than this share of rows is
            rejected; by default half (a run that keeps nothing, or mostly nothing, read its
            input wrongly: another --format, --delimiter or --encoding); ``1`` or ``None``
            keeps whatever parses.
        shard_size: target Parquet file size in bytes.
        force: re-read sources whose artifacts are unchanged since the last committed run.
        engine: ``local`` (this process) or ``ray`` (Ray Data tasks on the cluster that
            ``ray.init()`` finds; same snapshot fingerprint, see ``curata_ingest.engines``).
        run_id, retrieved_at: pin the run id and retrieval time written to ``_provenance``
            (default: a new id and now; neither is part of the snapshot fingerprint).
        path_column: for sources of one record per file (text, imagefolder), store each
            file's path relative to the ingested folder in this content column (by default a
            path is provenance only, so identical files under two names are duplicates).
        delimiter: CSV field delimiter (default: sniffed among ``,`` ``;`` tab ``|``).
        encoding: text encoding of CSV and text files (default UTF-8; a field or file that is
            not valid in it is a reject, never a silent switch to bytes).
        follow_symlinks: ``inside`` (default) follows symbolic links that resolve inside
            the ingested folder and skips (and counts) the others; ``all`` follows every link.
        relicense: a source ingested before under another license gets this one on all its
            records (a new version, audit-logged) instead of a ``SourceLicenseChangedError``.

    Returns:
        An :class:`IngestReport` (``status`` committed or unchanged).

    Raises:
        LicenseError, SourceError, RejectRatioError, SchemaMismatchError,
        SourceLicenseChangedError: nothing committed.

    Example:
        >>> report = ingest(["reviews/*.jsonl"], dataset="reviews", license="CC-BY-4.0")
        >>> report.status, report.rows_written
    """
    started = time.perf_counter()
    opts = _options(
        dataset,
        license,
        attribution,
        dedup,
        threshold,
        text_column,
        schema_evolution,
        max_record_size,
        max_reject_ratio,
        shard_size,
        progress,
    )
    cat = catalog if catalog is not None else curata.connect()
    resolved = _resolve(sources, format=format, name=source_name, storage_options=storage_options,
                        path_column=path_column, follow_symlinks=follow_symlinks,
                        reader_options={"delimiter": delimiter, "encoding": encoding},
                        limits={"max_record_size": max_record_size, "max_depth": max_depth})
    cat.runs(dataset)  # marks runs whose process died as failed before we look at history
    states = _states(resolved, opts, source_url)
    for st in states:  # before the unchanged check: a license change is never "unchanged"
        check_source_license(cat, dataset, source_id=st.source_id, name=st.source.name,
                             license=opts.license, relicense=relicense)
    if not force and _unchanged(cat, opts, states):
        return _unchanged_report(cat, opts, states, started)
    opts.extra.update(run_id=run_id, retrieved_at=retrieved_at)
    if engine == "ray":
        from curata_ingest.engines.ray import ingest_ray

        return ingest_ray(cat, opts, states, started)
    if engine != "local":
        raise UsageError(f"Unknown engine {engine!r} (valid: local, ray)")
    with tempfile.TemporaryDirectory(prefix="curata-ingest-") as spill:
        opts.spill_dir = spill
        for st in states:
            st.read_rejects.spill_dir = st.row_rejects.spill_dir = spill
        return _Run(cat, opts, states).execute(started)


def _options(
    dataset: str,
    license: str,
    attribution: str | None,
    dedup: str,
    threshold: float,
    text_column: str | None,
    schema_evolution: str,
    max_record_size: int | None,
    max_reject_ratio: float | None,
    shard_size: int,
    progress: ProgressFn | None,
) -> _Options:
    if dedup not in ("exact", "near", "off"):
        raise UsageError(f"Unknown dedup mode {dedup!r} (valid: exact, near, off)")
    if schema_evolution not in ("none", "merge"):
        raise UsageError(f"Unknown schema evolution {schema_evolution!r} (valid: none, merge)")
    if not 0 < threshold <= 1:
        raise UsageError(f"--threshold must be in (0, 1], got {threshold}")
    if max_reject_ratio is not None and not 0 <= max_reject_ratio <= 1:
        raise UsageError(f"--max-reject-ratio must be in [0, 1], got {max_reject_ratio}")
    if shard_size <= 0 or (max_record_size is not None and max_record_size <= 0):
        raise UsageError("--shard-size and --max-record-size must be positive")
    return _Options(
        dataset=dataset,
        license=check_license(license),
        attribution=attribution or "",
        dedup=dedup,  # type: ignore[arg-type]
        threshold=threshold,
        text_column=text_column,
        schema_evolution=schema_evolution,  # type: ignore[arg-type]
        max_record_size=max_record_size,
        max_reject_ratio=max_reject_ratio,
        shard_size=shard_size,
        progress=progress,
    )


def _resolve(
    sources: str | Source | Sequence[str | Source],
    *,
    format: str | None,
    name: str | None,
    storage_options: dict[str, Any] | None,
    path_column: str | None = None,
    follow_symlinks: str = "inside",
    reader_options: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
) -> list[Source]:
    items = [sources] if isinstance(sources, (str, Source)) else list(sources)
    if not items:
        raise UsageError("No sources given")
    out: list[Source] = []
    for item in items:
        if isinstance(item, Source):
            out.append(item)
        else:
            out.extend(
                open_sources([str(item)], format=format, name=name, storage_options=storage_options,
                             path_column=path_column, follow_symlinks=follow_symlinks,
                             reader_options=reader_options, **(limits or {}))
            )
    return out


def _states(sources: list[Source], opts: _Options, source_url: str | None) -> list[_SourceState]:
    states = []
    for src in sources:
        uri = source_url or src.location
        states.append(
            _SourceState(
                source=src,
                uri=uri,
                read_rejects=RejectSink(),
                row_rejects=RejectSink(),
                source_id=make_source_id(opts.dataset, src.name),
            )
        )
    return states


def _artifact_dicts(src: Source) -> list[dict[str, Any]]:
    return [{"uri": a.uri, "size": a.size, "sha256": a.sha256} for a in src.artifacts()]


def _unchanged(cat: curata.Catalog, opts: _Options, states: list[_SourceState]) -> bool:
    """True when every source was committed before with exactly these artifact hashes."""
    with cat.session() as s:
        for st in states:
            # The catalog first: a source never committed needs no hashing up front (its
            # artifacts are hashed as the run reads them).
            row = s.get(SourceRow, st.source_id)
            if row is None or not row.artifacts or row.run_id is None:
                return False
            run = s.get(IngestRun, row.run_id)
            if run is None or run.status not in ("committed", "unchanged"):
                return False
            artifacts = _artifact_dicts(st.source)
            if not artifacts or any(not a["sha256"] for a in artifacts):
                return False
            if row.artifacts != artifacts:
                return False
    return True


def _latest(cat: curata.Catalog, dataset: str) -> curata.Snapshot | None:
    try:
        return cat.snapshot(dataset)
    except (DatasetNotFoundError, SnapshotNotFoundError):
        return None


def _unchanged_report(
    cat: curata.Catalog, opts: _Options, states: list[_SourceState], started: float
) -> IngestReport:
    run_id = start_run(cat, opts.dataset, operation="ingest")
    snap = _latest(cat, opts.dataset)
    finish_run(
        cat,
        run_id,
        status="unchanged",
        version=snap.version if snap else None,
        stats={"reason": "artifacts unchanged"},
    )
    sources = [
        SourceReport(
            name=st.source.name,
            uri=st.uri,
            format=st.source.format,
            source_id=st.source_id,
            rows_read=0,
            rows_written=0,
            duplicates=0,
            rejected=0,
            artifacts=_artifact_dicts(st.source),
            skipped=len(st.source.skipped),
        )
        for st in states
    ]
    return IngestReport(
        status="unchanged",
        dataset=opts.dataset,
        version=snap.version if snap else None,
        fingerprint=snap.fingerprint if snap else None,
        run_id=run_id,
        license=opts.license,
        license_flagged=opts.license == UNKNOWN,
        rows_read=0,
        rows_written=0,
        duplicates=0,
        near_duplicates=0,
        rejected=0,
        reject_reasons={},
        bytes_read=0,
        seconds=round(time.perf_counter() - started, 3),
        sources=sources,
        **skip_summary([k for st in states for k in st.source.skipped]),
    )


class _Run:
    """One ingest run: owns the stream handed to ``Catalog.append`` and its counters."""

    def __init__(self, cat: curata.Catalog, opts: _Options, states: list[_SourceState]) -> None:
        self.cat, self.opts, self.states = cat, opts, states
        self.existing = _latest(cat, opts.dataset)
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
        self.run_id = start_run(
            self.cat,
            opts.dataset,
            operation="ingest",
            run_id=opts.extra.get("run_id"),
            stats={"sources": [st.uri for st in self.states]},
        )
        for st in self.states:
            register_source(
                self.cat,
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
                fail_run(self.cat, self.run_id, cause, stats=self._stats())
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
            register_source(
                self.cat,
                self.opts.dataset,
                name=st.source.name,
                uri=st.uri,
                license=self.opts.license,
                attribution=self.opts.attribution,
                artifacts=_artifact_dicts(st.source),
                run_id=self.run_id,
                source_id=st.source_id,
            )
        status: Literal["committed", "unchanged"] = "committed" if committed else "unchanged"
        report = self._report(status, snap, started)
        finish_run(
            self.cat,
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
            commit_files(cat, opts.dataset, schema, files, meta, retries=COMMIT_RETRIES)
        version = find_commit(cat, opts.dataset, self.run_id)
        record_appended(
            cat, opts.dataset, version, writer.row_sum, operation="append", run_id=self.run_id
        )
        return cat.snapshot(f"{opts.dataset}@{version}")

    def _batches(self) -> Iterator[pa.Schema | tuple[pa.RecordBatch, fp.ContentHashes]]:
        """First the table schema, then (rows with system columns, their content hashes)."""
        opened = [self._open(st) for st in self.states]
        existing = self.existing.schema if self.existing is not None else None
        heads = [b.schema for _, peeked in opened for b in peeked]
        content, _ = target_schema(existing, heads, self.opts.schema_evolution)
        self._prepare_dedup(content)
        self.table_schema = _table_schema(existing, content)
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
            for batch in itertools.chain(peeked, _prefetch(it)):
                st.rows += batch.num_rows
                yield from self._process(st, conform(batch, st.source.name))
        self._check_ratio()

    def _open(self, st: _SourceState) -> tuple[Iterator[pa.RecordBatch], list[pa.RecordBatch]]:
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
        self, st: _SourceState, batch: pa.RecordBatch
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
        self, st: _SourceState, batch: pa.RecordBatch, ids: pa.Array, keep: np.ndarray
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
        self, st: _SourceState, batch: pa.RecordBatch, ids: pa.Array
    ) -> pa.RecordBatch:
        n = batch.num_rows
        provenance = pa.StructArray.from_arrays(
            [
                _repeat(st.uri, n),
                batch.column(LOCATOR),
                _repeat(self.run_id, n),
                _repeat(self.retrieved_at, n, pa.timestamp("us", tz="UTC")),
            ],
            fields=list(PROVENANCE_TYPE),
        )
        columns = {
            "_id": ids,
            "_source": _repeat(st.source_id, n),
            "_license": _repeat(self.opts.license, n),
            "_provenance": provenance,
        }
        names = batch.schema.names
        arrays = [
            columns[f.name]
            if f.name in columns
            else batch.column(f.name)
            if f.name in names
            else pa.nulls(n, f.type)
            for f in self.table_schema
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=self.table_schema)

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
                artifacts=_artifact_dicts(st.source),
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


__all__ = ["DedupMode", "IngestReport", "SourceReport", "ingest"]


def _table_schema(existing: pa.Schema | None, content: pa.Schema) -> pa.Schema:
    """The records table's schema after this run: system columns, then content columns."""
    if existing is None:
        system = [
            pa.field("_id", pa.string()),
            pa.field("_source", pa.string()),
            pa.field("_license", pa.string()),
            pa.field("_provenance", PROVENANCE_TYPE),
        ]
        return pa.schema(system + list(content))
    return pa.schema(list(existing) + [f for f in content if f.name not in existing.names])


# A batch with up to this many duplicates is written as the slices between them (no copy);
# with more, its kept rows are copied into one batch.
_MAX_PIECES = 16


_STRING = pa.string()


def _repeat(value: object, n: int, type: pa.DataType = _STRING) -> pa.Array:
    """``value`` n times: a zero-copy slice of an array built once per value (the same few
    values, a run's uri, license and id, fill every batch)."""
    return _repeated(value, type, max(1024, 1 << max(0, n - 1).bit_length())).slice(0, n)


@functools.lru_cache(maxsize=64)
def _repeated(value: object, type: pa.DataType, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, type), n)


_DONE = object()


def _prefetch(batches: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
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
