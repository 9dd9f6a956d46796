"""The write path of ``Catalog.append`` and ``Catalog.update_columns``: system columns
(``curata.write.columns``), duplicate removal, ONE Delta commit, and the catalog records that
pin it (``curata.write.records``). Sources are identified, and a license change of one is never
silent, here too. The ingest pipeline writes its shards itself (``curata.write.shards``) and
shares the rest.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from curata import __version__, interrupt
from curata import fingerprint as fp
from curata._util import current_user, first_line, utcnow
from curata.dedup import IdIndex, hex_halves, id_halves
from curata.errors import (
    CommitConflictError,
    CurataError,
    SchemaMismatchError,
    SourceLicenseChangedError,
    StorageError,
    UsageError,
)
from curata.fingerprint import SYSTEM_COLUMNS
from curata.governance.licenses import normalize_license
from curata.storage import delta_dataset
from curata.store import Store
from curata.write.columns import (
    COMMIT_RETRIES,
    DEFAULT_TARGET_FILE_SIZE,
    MERGE_RETRIES,
    ROW_GROUP_ROWS,
    TABLE_CONFIGURATION,
    cast_column,
    conform,
    delta_type,
    system_columns,
    to_batches,
)
from curata.write.records import find_commit, record_appended, record_version

LOCATOR = "_locator"  # where a source says each row came from (becomes _provenance.locator)


def validate_license(expression: str) -> str:
    """Check an SPDX expression (``unknown`` and ``LicenseRef-…`` allowed); return it normalised.

    One implementation for the whole project: ``curata.governance.normalize_license``.

    Raises:
        LicenseError: with close matches for typos (``CC-BY-4.O`` → ``CC-BY-4.0``).
    """
    if expression.strip().lower() == "unknown":
        return "unknown"
    return normalize_license(expression.strip())


class Prepared:
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

    def with_system_columns(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch with system columns first: those it carries are kept, the others made
        (``system_columns``); a missing ``_id`` is filled once the batch is conformed."""
        n = batch.num_rows
        names = batch.schema.names
        content = [f for f in batch.schema if not f.name.startswith("_")]
        arrays = {f.name: cast_column(batch.column(f.name), delta_type(f.type), self.dataset,
                                      f.name) for f in content}
        made = system_columns(
            n, source_id=self.source_id, license=self.license, uri=self.uri, run_id=self.run_id,
            retrieved_at=self.retrieved_at,
            locator=batch.column(LOCATOR) if LOCATOR in names else None)
        out = {"_id": batch.column("_id") if "_id" in names else pa.nulls(n, pa.string()),
               **{k: batch.column(k) if k in names else v for k, v in made.items()}}
        extra = {k: batch.column(k) for k in names
                 if k.startswith("_") and k not in SYSTEM_COLUMNS and k != LOCATOR}
        return pa.RecordBatch.from_pydict({**out, **extra, **arrays})

    def target_schema(self, first: pa.RecordBatch) -> pa.Schema:
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
            batch = self.with_system_columns(raw)
            if self.schema is None:
                self.schema = self.target_schema(batch)
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


def check_source_license(store: Store, dataset: str, *, source_id: str, name: str,
                         license: str, relicense: bool) -> int | None:
    """Refuse (or, with ``relicense``, apply) a license change of an existing source.

    Re-ingesting a source under another license once kept the old ``_license`` silently on
    every row it deduplicated. Returns the relicensing version when one was written.

    Raises:
        SourceLicenseChangedError: the source is licensed otherwise and ``relicense`` is off.
    """
    recorded = store.source(source_id)
    if recorded is None or recorded.license == license:
        return None
    if not relicense:
        raise SourceLicenseChangedError(dataset, name, recorded=recorded.license,
                                        requested=license)
    return relicense_source(store, dataset, source_id=source_id, name=name, license=license)


def relicense_source(store: Store, dataset: str, *, source_id: str, name: str,
                     license: str) -> int | None:
    """Give every record of a source the license ``license``: ONE new version (a Delta
    update of ``_license``), the source's catalog row, and an audit entry."""
    with interrupt.shielded():  # one short update: it commits whole or not at all
        return _relicense(store, dataset, source_id=source_id, name=name, license=license)


def _relicense(store: Store, dataset: str, *, source_id: str, name: str,
               license: str) -> int | None:
    from deltalake import CommitProperties

    before = store.source(source_id)
    run_id = store.start_run(dataset, operation="relicense")
    try:
        dt = store.delta(dataset)
        rows, version = 0, None
        if dt is not None:
            # Both values are validated first: a source id is hex, an SPDX expression has no
            # quote, so the SQL literals need no escaping.
            assert "'" not in license and "'" not in source_id
            out = dt.update(updates={"_license": f"'{license}'"},
                            predicate=f"_source = '{source_id}'",
                            commit_properties=CommitProperties(
                                custom_metadata=commit_meta(run_id, "relicense"),
                                max_commit_retries=COMMIT_RETRIES))
            rows = int(out.get("num_updated_rows", 0))
            version = find_commit(store, dataset, run_id)
            record_version(store, dataset, version, operation="relicense", run_id=run_id)
        store.set_source_license(source_id, license)
        store.audit("relicense", dataset=dataset, details={
            "source": name, "source_id": source_id, "from": before.license if before else None,
            "to": license, "records": rows, "version": version, "run_id": run_id})
    except BaseException as exc:
        store.fail_run(run_id, exc)
        raise
    store.finish_run(run_id, status="committed", version=version, stats={"rows_updated": rows})
    return version


def commit_meta(run_id: str, operation: str) -> dict[str, str]:
    """The ``curata.*`` entries of a commit's ``commitInfo`` (``find_commit`` looks for the
    run id; ``curata versions`` shows the rest)."""
    return {"curata.run_id": run_id, "curata.user": current_user(),
            "curata.version": __version__, "curata.operation": operation}


def append(store: Store, dataset: str, data: Any, *, license: str, source: str,
           source_uri: str | None = None, attribution: str | None = None,
           run_id: str | None = None, schema_evolution: Literal["none", "merge"] = "none",
           commit_metadata: dict[str, str] | None = None, target_file_size: int | None = None,
           description: str = "", operation: str = "append",
           dedup: Literal["exact", "off"] = "exact", relicense: bool = False) -> int | None:
    """Append rows in one Delta commit (see ``Catalog.append``); returns the new version, or
    None when nothing was new."""
    license = validate_license(license)
    if dedup not in ("exact", "off"):
        raise UsageError(f"Unknown dedup mode {dedup!r} (valid: exact, off)")
    store.ensure_dataset(dataset, description)
    sid = make_source_id(dataset, source)
    check_source_license(store, dataset, source_id=sid, name=source, license=license,
                         relicense=relicense)
    run_id = store.start_run(dataset, run_id=run_id, operation=operation)
    shield = interrupt.Shield()  # raised by write_batches once only the commit is left
    try:
        try:
            store.register_source(dataset, source_id=sid, name=source,
                                  uri=source_uri or source, license=license,
                                  attribution=attribution or "", run_id=run_id)
            existing = store.delta(dataset)
            prep = Prepared(
                dataset=dataset, source_id=sid, license=license, uri=source_uri or source,
                run_id=run_id, retrieved_at=utcnow(),
                table_schema=pa.schema(existing.schema().to_arrow()) if existing else None,
                merge=schema_evolution == "merge",
                index=existing_ids(store, dataset, existing) if dedup == "exact" else None)
            # `_id` is the hash of the content, always: one passed in is recomputed.
            rows = (b.drop_columns(["_id"]) if "_id" in b.schema.names else b
                    for b in to_batches(data))
            version = write_batches(store, dataset, prep, rows, run_id=run_id,
                                    operation=operation, commit_metadata=commit_metadata,
                                    target_file_size=target_file_size, shield=shield)
        except BaseException as exc:
            store.fail_run(run_id, exc)
            raise
        _finish(store, dataset, run_id, version, prep)
        return version
    finally:
        shield.exit()


def _finish(store: Store, dataset: str, run_id: str, version: int | None,
            prep: Prepared) -> None:
    stats = {"rows_written": prep.acc.count, "duplicates": prep.duplicates}
    if version is None:  # nothing to write
        store.finish_run(run_id, status="unchanged", stats=stats)
        return
    store.finish_run(run_id, status="committed", version=version, stats=stats)
    if prep.new_columns:
        store.audit("schema.change", dataset=dataset,
                    details={"version": version, "added": prep.new_columns, "run_id": run_id})


def existing_ids(store: Store, dataset: str, dt: Any) -> IdIndex:
    """An index of the `_id`s of the table version ``dt`` (empty for a new table)."""
    index = IdIndex()
    if dt is not None:
        rows = delta_dataset(dt, store.table_uri(dataset), store.storage_options)
        for batch in rows.to_batches(columns=["_id"]):  # type: ignore[attr-defined]
            index.add(*hex_halves(batch.column(0)))
    return index


def write_batches(store: Store, dataset: str, prep: Prepared, data: Any, *, run_id: str,
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
    meta = {**commit_meta(run_id, operation), **(commit_metadata or {})}
    uri = store.table_uri(dataset)
    try:
        write_deltalake(
            uri, reader, mode="append", schema_mode="merge" if prep.merge else None,
            configuration=TABLE_CONFIGURATION, storage_options=store.storage_options,
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
    version = find_commit(store, dataset, run_id)
    record_appended(store, dataset, version, prep.acc, operation=operation, run_id=run_id)
    return version


# --- update columns (MERGE on _id) -----------------------------------------------------------


def update_columns(store: Store, dataset: str, data: Any, *, operation: str = "update",
                   derived_from: list[Any] | None = None) -> int:
    """Set columns of existing records, matched on ``_id``, in one MERGE commit; returns
    the new version."""

    table = pa.Table.from_batches(list(to_batches(data)))
    if "_id" not in table.column_names:
        raise SchemaMismatchError(dataset, reason="update_columns needs an `_id` column",
                                  columns=["_id"])
    if pc.count_distinct(table.column("_id")).as_py() != table.num_rows:
        raise SchemaMismatchError(dataset, reason="`_id` values must be unique", columns=["_id"])
    table = pa.table({n: cast_column(table.column(n).combine_chunks(),
                                      delta_type(table.schema.field(n).type), dataset, n)
                      for n in table.column_names})
    run_id = store.start_run(dataset, operation=operation)
    dt = store.delta(dataset)
    if dt is None:
        raise SchemaMismatchError(dataset, reason="the dataset has no records to update")
    updates = {f"`{c}`": f"s.`{c}`" for c in table.column_names if c != "_id"}
    added = [c for c in table.column_names if c not in dt.schema().to_arrow().names]
    meta = commit_meta(run_id, operation)
    # A MERGE is one call that ends in its commit: it runs whole, with its records.
    with interrupt.shielded():
        try:
            _merge_with_retries(store, dataset, table, updates, meta)
            version = find_commit(store, dataset, run_id)
            record_version(store, dataset, version, operation=operation, run_id=run_id,
                           derived_from=derived_from)
        except BaseException as exc:
            store.fail_run(run_id, exc)
            raise
        store.finish_run(run_id, status="committed", version=version,
                         stats={"rows_updated": table.num_rows})
        if added:
            store.audit("schema.change", dataset=dataset,
                        details={"version": version, "added": added, "run_id": run_id})
    return version


def _merge_with_retries(store: Store, dataset: str, table: pa.Table, updates: dict[str, str],
                        meta: dict[str, str]) -> None:
    """MERGE, re-run from the latest version when a concurrent commit touched the same files.

    delta-rs rebases blind appends by itself, but a MERGE that read files another writer
    changed (or whose predicate may match rows appended meanwhile) must be re-planned; the
    update is idempotent, so running it again on the newer version is safe.
    """
    from deltalake import CommitProperties
    from deltalake.exceptions import CommitFailedError

    for attempt in range(1, MERGE_RETRIES + 1):
        dt = store.delta(dataset)
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
