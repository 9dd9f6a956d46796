"""The write path: system columns, Delta commits, and the catalog records that pin them.

Every write is one Delta commit; the catalog learns of it afterwards (snapshot fingerprint,
file hashes, run status). A process killed between the two leaves a Delta version the catalog
does not know yet: ``Catalog._fingerprint_record`` recomputes it from the data on first use, so
the catalog never disagrees with the table.
"""

from __future__ import annotations

import itertools
import os
import random
import socket
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import xxhash
from sqlalchemy import select

from curata import __version__, interrupt
from curata import fingerprint as fp
from curata._util import current_user, first_line, new_run_id, utcnow
from curata.catalog.models import DataFile, IngestRun, SnapshotRecord, Source
from curata.dedup import IdIndex, hex_halves, id_halves
from curata.errors import (
    CommitConflictError,
    CurataError,
    SchemaMismatchError,
    SourceLicenseChangedError,
    StorageError,
    UsageError,
)
from curata.storage import filesystem, join_uri

SYSTEM_COLUMNS = ("_id", "_source", "_license", "_provenance")
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


def _cast_column(arr: pa.Array, target: pa.DataType, dataset: str, name: str) -> pa.Array:
    if arr.type == target:
        return arr
    try:
        if pa.types.is_time(arr.type) or pa.types.is_duration(arr.type):
            return fp._temporal_ns(arr)
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
            cols.append(_cast_column(batch.column(idx), f.type, dataset, f.name))
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


def validate_license(expression: str) -> str:
    """Check an SPDX expression (``unknown`` and ``LicenseRef-…`` allowed); return it normalised.

    One implementation for the whole project: ``curata.governance.normalize_license``.

    Raises:
        LicenseError: with close matches for typos (``CC-BY-4.O`` → ``CC-BY-4.0``).
    """
    from curata.governance.licenses import normalize_license

    if expression.strip().lower() == "unknown":
        return "unknown"
    return normalize_license(expression.strip())


# --- append ---------------------------------------------------------------------------------


class _Prepared:
    """Adds system columns to each batch and accumulates the row-hash sum as it streams."""

    def __init__(self, *, dataset: str, source_id: str, license: str, uri: str, run_id: str,
                 retrieved_at: datetime, table_schema: pa.Schema | None, merge: bool,
                 index: IdIndex | None = None) -> None:
        self.dataset, self.source_id, self.license = dataset, source_id, license
        self.uri, self.run_id, self.retrieved_at = uri, run_id, retrieved_at
        self.table_schema, self.merge = table_schema, merge
        self.index = index  # exact dedup of rows without an `_id` (None: keep every row)
        self.acc = fp.RowHashSum()
        self.duplicates = 0
        self.schema: pa.Schema | None = None
        self.new_columns: list[str] = []

    def _with_system_columns(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        n = batch.num_rows
        names = batch.schema.names
        content = [f for f in batch.schema if not f.name.startswith("_")]
        arrays = {f.name: _cast_column(batch.column(f.name), delta_type(f.type), self.dataset,
                                       f.name) for f in content}
        out: dict[str, pa.Array] = {}
        # A missing `_id` is filled after the batch is conformed (see `batches`).
        out["_id"] = batch.column("_id") if "_id" in names else pa.nulls(n, pa.string())
        out["_source"] = (batch.column("_source") if "_source" in names
                          else pa.repeat(pa.scalar(self.source_id, pa.string()), n))
        out["_license"] = (batch.column("_license") if "_license" in names
                           else pa.repeat(pa.scalar(self.license, pa.string()), n))
        if "_provenance" in names:
            out["_provenance"] = batch.column("_provenance")
        else:
            locator = (batch.column("_locator").cast(pa.string()) if "_locator" in names
                       else pa.nulls(n, pa.string()))
            out["_provenance"] = pa.StructArray.from_arrays(
                [pa.repeat(pa.scalar(self.uri, pa.string()), n), locator,
                 pa.repeat(pa.scalar(self.run_id, pa.string()), n),
                 pa.repeat(pa.scalar(self.retrieved_at, pa.timestamp("us", tz="UTC")), n)],
                fields=list(PROVENANCE_TYPE))
        extra = {k: batch.column(k) for k in names
                 if k.startswith("_") and k not in SYSTEM_COLUMNS and k != "_locator"}
        return pa.RecordBatch.from_pydict({**out, **extra, **arrays})

    def _target_schema(self, first: pa.RecordBatch) -> pa.Schema:
        if self.table_schema is None:
            return first.schema
        new = [n for n in first.schema.names if n not in self.table_schema.names]
        if new and not self.merge:
            raise SchemaMismatchError(self.dataset, reason=f"new columns {new}", columns=new)
        self.new_columns = new
        fields = list(self.table_schema) + [first.schema.field(n) for n in new]
        return pa.schema(fields)

    def batches(self, data: Any) -> Iterator[pa.RecordBatch]:
        for raw in to_batches(data):
            if raw.num_rows == 0:
                continue
            batch = self._with_system_columns(raw)
            if self.schema is None:
                self.schema = self._target_schema(batch)
            batch = conform(batch, self.schema, self.dataset)
            if "_id" in raw.schema.names:
                self.acc = self.acc + fp.row_sum(batch)
            else:
                batch = self._with_ids(batch)
            if batch.num_rows:
                yield batch

    def _with_ids(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Fill `_id` from the stored (conformed) content, drop rows already seen, and add
        the rest to the row-hash sum; each content cell is hashed once."""
        content = fp.content_hashes(batch)
        hashes = content.record_hashes()
        if self.index is not None:
            keep = self.index.new_rows(*id_halves(hashes))
            if not keep.all():
                self.duplicates += int((~keep).sum())
                mask = pa.array(keep)
                batch, hashes, content = batch.filter(mask), hashes.filter(mask), content.filter(keep)
        batch = batch.set_column(batch.schema.get_field_index("_id"), "_id", fp.hex_strings(hashes))
        self.acc = self.acc + fp.row_sum_with(batch, content)
        return batch


def make_source_id(dataset: str, name: str) -> str:
    """A source's identity in ``_source``: its dataset and name, nothing machine-specific.

    Not its URI (an absolute path differs from machine to machine, and a rebuild elsewhere must
    give the same snapshot fingerprint) and not its license (a license change of a source is
    an explicit ``relicense``, see ``check_source_license``).
    """
    return "src-" + xxhash.xxh3_64_hexdigest(f"{dataset}\0{name}".encode())


def recorded_license(cat: Any, dataset: str, source_id: str) -> str | None:
    """The license the catalog records for a source (None: the source is new)."""
    with cat.session() as s:
        row = s.get(Source, source_id)
        return row.license if row is not None else None


def check_source_license(cat: Any, dataset: str, *, source_id: str, name: str, license: str,
                         relicense: bool) -> Any:
    """Refuse (or, with ``relicense``, apply) a license change of an existing source.

    Re-ingesting a source under another license once kept the old ``_license`` silently on
    every row it deduplicated. Returns the relicensing snapshot when one was written.

    Raises:
        SourceLicenseChangedError: the source is licensed otherwise and ``relicense`` is off.
    """
    recorded = recorded_license(cat, dataset, source_id)
    if recorded is None or recorded == license:
        return None
    if not relicense:
        raise SourceLicenseChangedError(dataset, name, recorded=recorded, requested=license)
    return relicense_source(cat, dataset, source_id=source_id, name=name, license=license)


def relicense_source(cat: Any, dataset: str, *, source_id: str, name: str, license: str) -> Any:
    """Give every record of a source the license ``license``: ONE new version (a Delta
    update of ``_license``), the source's catalog row, and an audit entry."""
    with interrupt.shielded():  # one short update: it commits whole or not at all
        return _relicense(cat, dataset, source_id=source_id, name=name, license=license)


def _relicense(cat: Any, dataset: str, *, source_id: str, name: str, license: str) -> Any:
    from deltalake import CommitProperties

    before = recorded_license(cat, dataset, source_id)
    run_id = start_run(cat, dataset, operation="relicense")
    meta = {"curata.run_id": run_id, "curata.user": current_user(),
            "curata.version": __version__, "curata.operation": "relicense"}
    try:
        dt = cat._delta(dataset)
        rows = 0
        if dt is not None:
            # Both values are validated first: a source id is hex, an SPDX expression has no
            # quote, so the SQL literals need no escaping.
            assert "'" not in license and "'" not in source_id
            out = dt.update(updates={"_license": f"'{license}'"},
                            predicate=f"_source = '{source_id}'",
                            commit_properties=CommitProperties(
                                custom_metadata=meta, max_commit_retries=COMMIT_RETRIES))
            rows = int(out.get("num_updated_rows", 0))
        version = find_commit(cat, dataset, run_id) if dt is not None else None
        if version is not None:
            record_version(cat, dataset, version, operation="relicense", run_id=run_id)
        with cat.session() as s:
            row = s.get(Source, source_id)
            assert row is not None
            row.license = license
            cat.audit("relicense", dataset=dataset, session=s, details={
                "source": name, "source_id": source_id, "from": before, "to": license,
                "records": rows, "version": version, "run_id": run_id})
    except BaseException as exc:
        fail_run(cat, run_id, exc)
        raise
    finish_run(cat, run_id, status="committed", version=version, stats={"rows_updated": rows})
    return cat.snapshot(f"{dataset}@{version}") if version is not None else None


def start_run(cat: Any, dataset: str, *, run_id: str | None = None, operation: str = "append",
              stats: dict[str, Any] | None = None) -> str:
    """Record a running write; it becomes committed/failed/unchanged when it ends."""
    ds_id = cat._ensure_dataset(dataset)
    run_id = run_id or new_run_id()
    with cat.session() as s:
        if s.get(IngestRun, run_id) is None:
            s.add(IngestRun(id=run_id, dataset_id=ds_id, operation=operation, status="running",
                            user=current_user(), host=socket.gethostname(), pid=os.getpid(),
                            tool_version=__version__, stats=stats or {}))
    return run_id


def finish_run(cat: Any, run_id: str, *, status: str, version: int | None = None,
               stats: dict[str, Any] | None = None, error: str = "") -> None:
    with cat.session() as s:
        run = s.get(IngestRun, run_id)
        if run is None:
            return
        run.status, run.finished_at, run.version, run.error = status, utcnow(), version, error
        if stats is not None:
            run.stats = {**(run.stats or {}), **stats}


def fail_run(cat: Any, run_id: str, exc: BaseException, *,
             stats: dict[str, Any] | None = None) -> None:
    """End a run that raised: ``cancelled`` for a user's interrupt (Ctrl-C, SIGTERM), else
    ``failed`` with the error."""
    if interrupt.is_interrupt(exc):
        finish_run(cat, run_id, status="cancelled", stats=stats,
                   error="cancelled by the user; nothing was committed")
    else:
        finish_run(cat, run_id, status="failed", stats=stats,
                   error=f"{type(exc).__name__}: {exc}")


def register_source(cat: Any, dataset: str, *, name: str, uri: str, license: str,
                    attribution: str = "", artifacts: list[Any] | None = None,
                    run_id: str | None = None, source_id: str | None = None) -> str:
    """Record a source (license, provenance, artifact hashes); returns its id."""
    sid = source_id or make_source_id(dataset, name)
    from curata.catalog._catalog import insert_ignore

    with cat.session() as s:
        d = cat._dataset_row(s, dataset)
        # Concurrent ingests of one source both get here: insert-if-absent, then update.
        created = insert_ignore(s, Source, [{
            "id": sid, "dataset_id": d.id, "name": name, "uri": uri, "license": license,
            "attribution": attribution or "", "artifacts": artifacts or [], "run_id": run_id,
            "retrieved_at": utcnow()}], ["id"])
        if not created:
            row = s.get(Source, sid, populate_existing=True)
            assert row is not None
            row.retrieved_at, row.run_id = utcnow(), run_id
            if artifacts:
                row.artifacts = artifacts
    return sid


def append(cat: Any, dataset: str, data: Any, *, license: str, source: str,
           source_uri: str | None = None, attribution: str | None = None,
           run_id: str | None = None, schema_evolution: Literal["none", "merge"] = "none",
           commit_metadata: dict[str, str] | None = None, target_file_size: int | None = None,
           description: str = "", operation: str = "append",
           dedup: Literal["exact", "off"] = "exact", relicense: bool = False) -> Any:
    license = validate_license(license)
    if dedup not in ("exact", "off"):
        raise UsageError(f"Unknown dedup mode {dedup!r} (valid: exact, off)")
    cat._ensure_dataset(dataset, description)
    sid = make_source_id(dataset, source)
    check_source_license(cat, dataset, source_id=sid, name=source, license=license,
                         relicense=relicense)
    run_id = start_run(cat, dataset, run_id=run_id, operation=operation)
    shield = interrupt.Shield()  # raised by write_batches once only the commit is left
    try:
        return _append_run(cat, dataset, data, run_id=run_id, sid=sid, license=license,
                           source=source, source_uri=source_uri, attribution=attribution,
                           schema_evolution=schema_evolution, commit_metadata=commit_metadata,
                           target_file_size=target_file_size, operation=operation,
                           dedup=dedup, shield=shield)
    finally:
        shield.exit()


def _append_run(cat: Any, dataset: str, data: Any, *, run_id: str, sid: str, license: str,
                source: str, source_uri: str | None, attribution: str | None,
                schema_evolution: str, commit_metadata: dict[str, str] | None,
                target_file_size: int | None, operation: str, dedup: str,
                shield: interrupt.Shield) -> Any:
    try:
        register_source(cat, dataset, name=source, uri=source_uri or source, license=license,
                        attribution=attribution or "", run_id=run_id, source_id=sid)
        existing = cat._delta(dataset)
        prep = _Prepared(
            dataset=dataset, source_id=sid, license=license, uri=source_uri or source,
            run_id=run_id, retrieved_at=utcnow(),
            table_schema=pa.schema(existing.schema().to_arrow()) if existing else None,
            merge=schema_evolution == "merge",
            index=_existing_ids(cat, dataset, existing) if dedup == "exact" else None)
        # `_id` is the hash of the content, always: one passed in is recomputed.
        rows = (b.drop_columns(["_id"]) if "_id" in b.schema.names else b
                for b in to_batches(data))
        version = write_batches(cat, dataset, prep, rows, run_id=run_id, operation=operation,
                                commit_metadata=commit_metadata,
                                target_file_size=target_file_size, shield=shield)
    except BaseException as exc:
        fail_run(cat, run_id, exc)
        raise
    stats = {"rows_written": prep.acc.count, "duplicates": prep.duplicates}
    if version is None:  # nothing to write
        finish_run(cat, run_id, status="unchanged", stats=stats)
        return cat.snapshot(dataset)
    finish_run(cat, run_id, status="committed", version=version, stats=stats)
    if prep.new_columns:
        cat.audit("schema.change", dataset=dataset,
                  details={"version": version, "added": prep.new_columns, "run_id": run_id})
    return cat.snapshot(f"{dataset}@{version}")


def _existing_ids(cat: Any, dataset: str, dt: Any) -> IdIndex:
    """An index of the `_id`s of the table version ``dt`` (empty for a new table)."""
    from curata.storage import delta_dataset

    index = IdIndex()
    if dt is not None:
        rows = delta_dataset(dt, cat.table_uri(dataset), cat.storage_options)
        for batch in rows.to_batches(columns=["_id"]):  # type: ignore[attr-defined]
            index.add(*hex_halves(batch.column(0)))
    return index


def write_batches(cat: Any, dataset: str, prep: _Prepared, data: Any, *, run_id: str,
                  operation: str, commit_metadata: dict[str, str] | None,
                  target_file_size: int | None, shield: interrupt.Shield) -> int | None:
    """Stream prepared batches into ONE Delta commit; record its fingerprint. None if empty.

    ``shield`` goes up once the last batch is consumed (only the commit is left): from then
    on an interrupt waits until the caller lowers it, after its catalog records."""
    from deltalake import (
        CommitProperties,
        PostCommitHookProperties,
        WriterProperties,
        write_deltalake,
    )
    from deltalake.exceptions import CommitFailedError

    stream = prep.batches(data)
    first = next(stream, None)
    if first is None:
        return None
    assert prep.schema is not None
    reader = pa.RecordBatchReader.from_batches(
        prep.schema, interrupt.then_shield(itertools.chain([first], stream), shield))
    meta = {"curata.run_id": run_id, "curata.user": current_user(),
            "curata.version": __version__, "curata.operation": operation,
            **(commit_metadata or {})}
    uri = cat.table_uri(dataset)
    try:
        write_deltalake(
            uri, reader, mode="append", schema_mode="merge" if prep.merge else None,
            configuration=TABLE_CONFIGURATION, storage_options=cat.storage_options,
            target_file_size=target_file_size or DEFAULT_TARGET_FILE_SIZE,
            writer_properties=WriterProperties(compression="ZSTD", compression_level=3,
                                               max_row_group_size=ROW_GROUP_ROWS),
            commit_properties=CommitProperties(custom_metadata=meta,
                                               max_commit_retries=COMMIT_RETRIES),
            post_commithook_properties=PostCommitHookProperties(cleanup_expired_logs=False))
    except CommitFailedError as exc:
        raise CommitConflictError(dataset, attempts=COMMIT_RETRIES, reason=str(exc)) from None
    except CurataError:
        raise
    except Exception as exc:
        if "Schema" in type(exc).__name__ or "schema" in str(exc).lower():
            raise SchemaMismatchError(dataset, reason=str(exc)) from None
        if isinstance(exc, OSError) or type(exc).__module__.startswith("deltalake"):
            raise StorageError(uri, reason=first_line(exc)) from None
        raise
    shield.enter()
    version = find_commit(cat, dataset, run_id)
    record_appended(cat, dataset, version, prep.acc, operation=operation, run_id=run_id)
    return version


def find_commit(cat: Any, dataset: str, run_id: str) -> int:
    """The version our commit landed as (other writers may have committed around it).

    Reads the commit files themselves: ``DeltaTable.history()`` numbers its entries by
    counting down from the version the table was loaded at, so a commit that lands while it
    lists the log (concurrent writers on object storage) shifts every number by one.
    """
    import json

    dt = cat._delta(dataset)
    fs, root = filesystem(cat.table_uri(dataset), cat.storage_options)
    latest = dt.version()
    for version in range(latest, max(-1, latest - 500), -1):
        path = join_uri(root, "_delta_log", f"{version:020d}.json")
        with fs.open_input_stream(path) as f:
            for line in f.read().decode().splitlines():
                info = json.loads(line).get("commitInfo")
                if info is not None and info.get("curata.run_id") == run_id:
                    return version
    raise CommitConflictError(dataset, attempts=1, reason=f"commit of run {run_id} not found")


# --- catalog records of versions -------------------------------------------------------------


def record_appended(cat: Any, dataset: str, version: int, added: fp.RowHashSum, *,
                    operation: str, run_id: str | None) -> SnapshotRecord:
    """Record an append incrementally: fingerprint(v) = fingerprint(v-1) + the appended rows."""
    prev = None
    if version > 0:
        with cat.session() as s:
            d = cat._dataset_row(s, dataset)
            prev = s.scalar(select(SnapshotRecord).where(
                SnapshotRecord.dataset_id == d.id, SnapshotRecord.version == version - 1))
    if version > 0 and (prev is None or prev.fp_scheme != fp.FINGERPRINT_VERSION):
        # No record of the version below, or one under an older fingerprint scheme: the sum
        # cannot be carried on, so the whole version is hashed under the current scheme.
        return record_version(cat, dataset, version, operation=operation, run_id=run_id)
    acc = (fp.RowHashSum.from_json(prev.row_sum) if prev else fp.RowHashSum()) + added
    return _store(cat, dataset, version, acc, operation=operation, run_id=run_id)


def record_version(cat: Any, dataset: str, version: int, *, operation: str,
                   run_id: str | None = None, derived_from: list[Any] | None = None,
                   ) -> SnapshotRecord:
    """Record a version by scanning all its rows (merges, compaction, recovery)."""
    from curata.verify import scan_files

    dt = cat._delta(dataset, version)
    uri = cat.table_uri(dataset)
    for attempt in range(SCAN_RETRIES):
        scan = scan_files(uri, dt, cat.storage_options)
        if not scan.problems:
            break
        # A file that could not be read (an object store under load times out) must never
        # be summed as if absent: that records a wrong fingerprint forever. Retry, then fail.
        time.sleep(0.5 * (attempt + 1))
    else:
        raise StorageError(uri, reason=f"cannot fingerprint version {version}: "
                           + "; ".join(scan.problems[:3]))
    acc = scan.total
    return _store(cat, dataset, version, acc, operation=operation, run_id=run_id,
                  derived_from=derived_from)


def _store(cat: Any, dataset: str, version: int, acc: fp.RowHashSum, *, operation: str,
           run_id: str | None, derived_from: list[Any] | None = None) -> SnapshotRecord:
    """Record ``version`` with the row-hash sum ``acc`` (current fingerprint scheme)."""
    dt = cat._delta(dataset, version)
    schema = pa.schema(dt.schema().to_arrow())
    rec = SnapshotRecord(version=version, fingerprint=fp.combine(schema, acc),
                         num_rows=acc.count, row_sum=acc.to_json(),
                         schema_json=fp.schema_digest(schema), operation=operation,
                         run_id=run_id, derived_from=derived_from or [],
                         fp_scheme=fp.FINGERPRINT_VERSION)
    record_files(cat, dataset, dt, version)
    from curata.catalog._catalog import insert_ignore

    with cat.session() as s:
        d = cat._dataset_row(s, dataset)
        # The writer and a reader healing a missing record (or two healers) may store the
        # same version at once; both compute the same values, the first one is kept.
        insert_ignore(s, SnapshotRecord, [{
            "dataset_id": d.id, "version": version, "fingerprint": rec.fingerprint,
            "num_rows": rec.num_rows, "row_sum": rec.row_sum, "schema_json": rec.schema_json,
            "operation": operation, "run_id": run_id, "derived_from": derived_from or [],
            "fp_scheme": rec.fp_scheme, "created_at": utcnow()}], ["dataset_id", "version"])
        stored = s.scalar(select(SnapshotRecord).where(
            SnapshotRecord.dataset_id == d.id, SnapshotRecord.version == version))
        assert stored is not None
        return stored


def file_hash(fs: Any, path: str) -> tuple[str, bytes]:
    """XXH3-128 of a file's bytes, and the bytes (read once, parsed by the caller)."""
    with fs.open_input_file(path) as f:
        data = f.read()
    return xxhash.xxh3_128_hexdigest(data), data


def _stream_hash(fs: Any, path: str) -> str:
    """XXH3-128 of a file's bytes (same digest as ``file_hash``) in bounded memory."""
    h = xxhash.xxh3_128()
    with fs.open_input_stream(path) as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def record_files(cat: Any, dataset: str, dt: Any, version: int) -> None:
    """Hash the bytes of files of ``version`` the catalog has not seen, for ``verify``."""
    uri = cat.table_uri(dataset)
    actions = pa.table(dt.get_add_actions(flatten=True))
    paths = actions.column("path").to_pylist()
    sizes = actions.column("size_bytes").to_pylist()
    rows = actions.column("num_records").to_pylist()
    with cat.session() as s:
        d = cat._dataset_row(s, dataset)
        known = set(s.scalars(select(DataFile.path).where(DataFile.dataset_id == d.id)))
        ds_id = d.id
    fs, root = filesystem(uri, cat.storage_options)
    new: list[dict[str, Any]] = []
    for p, size, n in zip(paths, sizes, rows, strict=True):
        if p in known:
            continue
        digest = _stream_hash(fs, join_uri(root, p))
        new.append({"dataset_id": ds_id, "path": p, "size": size, "num_rows": n or 0,
                    "content_hash": digest, "added_version": version})
    if not new:
        return
    from curata.catalog._catalog import insert_ignore

    with cat.session() as s:  # concurrent writers record overlapping files: first one wins
        insert_ignore(s, DataFile, new, ["dataset_id", "path"])


# --- update columns (MERGE on _id) -----------------------------------------------------------


def update_columns(cat: Any, dataset: str, data: Any, *, operation: str = "update",
                   derived_from: list[Any] | None = None) -> Any:
    """Set columns of existing records, matched on ``_id``, in one MERGE commit."""

    table = pa.Table.from_batches(list(to_batches(data)))
    if "_id" not in table.column_names:
        raise SchemaMismatchError(dataset, reason="update_columns needs an `_id` column",
                                  columns=["_id"])
    if pc.count_distinct(table.column("_id")).as_py() != table.num_rows:
        raise SchemaMismatchError(dataset, reason="`_id` values must be unique", columns=["_id"])
    table = pa.table({n: _cast_column(table.column(n).combine_chunks(),
                                      delta_type(table.schema.field(n).type), dataset, n)
                      for n in table.column_names})
    run_id = start_run(cat, dataset, operation=operation)
    dt = cat._delta(dataset)
    if dt is None:
        raise SchemaMismatchError(dataset, reason="the dataset has no records to update")
    updates = {f"`{c}`": f"s.`{c}`" for c in table.column_names if c != "_id"}
    added = [c for c in table.column_names if c not in dt.schema().to_arrow().names]
    meta = {"curata.run_id": run_id, "curata.user": current_user(),
            "curata.version": __version__, "curata.operation": operation}
    # A MERGE is one call that ends in its commit: it runs whole, with its records.
    with interrupt.shielded():
        try:
            _merge_with_retries(cat, dataset, table, updates, meta)
            version = find_commit(cat, dataset, run_id)
            record_version(cat, dataset, version, operation=operation, run_id=run_id,
                           derived_from=derived_from)
        except BaseException as exc:
            fail_run(cat, run_id, exc)
            raise
        finish_run(cat, run_id, status="committed", version=version,
                   stats={"rows_updated": table.num_rows})
        if added:
            cat.audit("schema.change", dataset=dataset,
                      details={"version": version, "added": added, "run_id": run_id})
    return cat.snapshot(f"{dataset}@{version}")


def _merge_with_retries(cat: Any, dataset: str, table: pa.Table, updates: dict[str, str],
                        meta: dict[str, str]) -> None:
    """MERGE, re-run from the latest version when a concurrent commit touched the same files.

    delta-rs rebases blind appends by itself, but a MERGE that read files another writer
    changed (or whose predicate may match rows appended meanwhile) must be re-planned; the
    update is idempotent, so running it again on the newer version is safe.
    """
    from deltalake import CommitProperties
    from deltalake.exceptions import CommitFailedError

    for attempt in range(1, MERGE_RETRIES + 1):
        dt = cat._delta(dataset)
        try:
            (dt.merge(table, predicate="t._id = s._id", source_alias="s", target_alias="t",
                      merge_schema=True,
                      commit_properties=CommitProperties(custom_metadata=meta,
                                                         max_commit_retries=COMMIT_RETRIES))
             .when_matched_update(updates=updates).execute())
            return
        except CommitFailedError as exc:
            if attempt == MERGE_RETRIES:
                raise CommitConflictError(dataset, attempts=attempt, reason=str(exc)) from None
            time.sleep(min(2.0, 0.05 * 2 ** attempt) * random.random())
