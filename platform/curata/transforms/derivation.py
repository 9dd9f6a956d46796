"""``Catalog.derive``: stream a snapshot through a pipeline into a new version of a dataset.

Each version of a derived dataset is the full output of one derivation (a Delta overwrite:
earlier versions stay readable by ref, and tagged ones are pinned against gc). Re-deriving
with the same transform fingerprint commits nothing (``unchanged``); asking again for the
output of an older version restores it without recomputing (``restored``).
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from curata import __version__, interrupt, resolve, write
from curata import fingerprint as fp
from curata._util import check_name, current_user, utcnow
from curata.errors import CommitConflictError
from curata.quality.images import write_clusters
from curata.snapshot import Snapshot
from curata.store import LineageInfo, LineageInputInfo, Store
from curata.transforms import fingerprint as tfp
from curata.transforms.errors import DeriveTargetError, StepFailedError
from curata.transforms.pipeline import Pipeline, as_pipeline
from curata.transforms.steps import Context, Split

if TYPE_CHECKING:
    import polars as pl

OPERATION = "derive"
#: ZSTD level of derived files. Level 1 encodes ~2x faster than ingest's level 3 for a few
#: percent more bytes; derived data is re-creatable from its inputs, so speed wins here.
COMPRESSION_LEVEL = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveResult:
    """What ``derive`` did.

    Attributes:
        status: ``committed`` (a new version), ``unchanged`` (the latest version already is
            this derivation; nothing committed) or ``restored`` (an older version was, and it
            was restored as the latest without recomputing).
        snapshot: the derived snapshot.
        transform_fingerprint: hash of inputs, pipeline, code and library versions.
        inputs: the pinned input snapshots (``role``, ``ref``, ``dataset``, ``version``,
            ``fingerprint``).
        stats: ``rows_in``, ``rows_out`` and rows out of each step (``"i:kind"``).
    """

    status: Literal["committed", "unchanged", "restored"]
    snapshot: Any
    transform_fingerprint: str
    inputs: list[dict[str, Any]]
    stats: dict[str, Any]


def _input(role: str, snap: Any) -> dict[str, Any]:
    return {"role": role, "ref": snap.ref, "dataset": snap.dataset, "version": snap.version,
            "fingerprint": snap.fingerprint}


def derive(store: Store, src: Snapshot, pipeline: Any, *, into: str, tag: str | None = None,
           batch_size: int = 131_072) -> DeriveResult:
    """Derive ``into`` from the pinned ``src`` through ``pipeline`` (see ``Catalog.derive``)."""
    check_name("dataset", into)
    pipe = as_pipeline(pipeline)
    if src.dataset == into:
        raise DeriveTargetError(into, reason="a dataset cannot be derived from itself")
    ctx = Context(store=store,
                  snapshots={r: resolve.snapshot(store, r) for r in pipe.input_refs()})
    inputs = [_input("source", src)] + [_input("join", ctx.snapshots[r])
                                         for r in pipe.input_refs()]
    ident = tfp.identity(pipe, inputs)
    latest, matches = _previous(store, into, ident.fingerprint)
    if latest is not None and latest in matches:
        return _finish(store, into, latest, "unchanged", ident, tag, stats=matches[latest])
    # Raised once only the commit is left: the commit, its records, the tag and the audit
    # entry then complete whole even if the user interrupts (``curata.interrupt``).
    shield = interrupt.Shield()
    try:
        if matches:
            shield.enter()  # a restore is one short commit
            restored = _restore(store, into, max(matches), ident)
            if restored is not None:
                return _finish(store, into, restored, "restored", ident, tag,
                               stats=matches[max(matches)])
            shield.exit()
        version, stats = _compute(store, src, pipe, ctx, into, ident, batch_size, shield)
        return _finish(store, into, version, "committed", ident, tag, stats=stats)
    finally:
        shield.exit()


def _previous(store: Store, into: str, transform_fp: str) -> tuple[int | None, dict[int, dict]]:
    """The latest version of ``into`` and its versions derived with this fingerprint.

    Raises:
        DeriveTargetError: ``into`` holds data that no derivation produced.
    """
    dt = store.delta(into)
    if dt is None:
        return None, {}
    latest = dt.version()
    derived = store.derivations(into)
    if latest not in derived:
        raise DeriveTargetError(into, reason=f"its version {latest} was not produced by "
                                             "`derive`; derive would replace that data")
    return latest, {v: info.stats for v, info in derived.items()
                    if info.transform_fingerprint == transform_fp}


def _finish(store: Store, into: str, version: int, status: str, ident: Any, tag: str | None,
            *, stats: dict[str, Any]) -> DeriveResult:
    snap = (resolve.tag(store, into, tag, version=version) if tag
            else resolve.snapshot(store, f"{into}@{version}"))
    store.audit("derive", dataset=into, details={
        "status": status, "version": version, "fingerprint": snap.fingerprint,
        "transform_fingerprint": ident.fingerprint,
        "inputs": [{k: i[k] for k in ("ref", "fingerprint")} for i in ident.inputs]})
    return DeriveResult(status=status, snapshot=snap,  # type: ignore[arg-type]
                        transform_fingerprint=ident.fingerprint, inputs=ident.inputs,
                        stats=stats)


# --- computing ----------------------------------------------------------------------------------


def _frames(src: Any, pipe: Pipeline, ctx: Context, batch_size: int,
            stats: dict[str, int]) -> Iterator[pl.DataFrame]:
    def source() -> Iterator[pl.DataFrame]:
        # Polars' streaming Delta scan of the pinned version: bounded memory, and faster
        # than a pyarrow dataset scan of the same files.
        import polars as pl

        stats["rows_in"] = 0
        lf = pl.scan_delta(src.table_uri, version=src.version,
                           storage_options=src.storage_options)
        for df in lf.collect_batches(chunk_size=batch_size):
            stats["rows_in"] += df.height
            yield df

    return pipe.run(source, ctx, stats)


def _arrow_batches(frames: Iterator[pl.DataFrame], schema_box: list[pa.Schema]
                   ) -> Iterator[pa.RecordBatch]:
    """Polars frames as Arrow batches with plain (non-view) types; checks a stable schema."""
    import polars as pl

    columns: list[str] | None = None
    for df in frames:
        if columns is None:
            columns = df.columns
        elif df.columns != columns:
            raise StepFailedError("pipeline", reason=f"batches disagree on columns: {columns} "
                                                     f"then {df.columns}")
        table = df.to_arrow(compat_level=pl.CompatLevel.oldest())
        if not schema_box:
            schema_box.append(table.schema)
        yield from table.to_batches()


def _prefetch(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Produce ``items`` in a thread, at most ``depth`` ahead: reading, transforming and
    hashing overlap with the Parquet encoding of the writer (which releases the GIL)."""
    done = object()
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the consumer went away

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Raised(exc))

    thread = threading.Thread(target=produce, name="curata-derive", daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not done:
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True, slots=True)
class _Raised:
    exc: BaseException


def _compute(store: Store, src: Any, pipe: Pipeline, ctx: Context, into: str, ident: Any,
             batch_size: int, shield: interrupt.Shield) -> tuple[int, dict[str, Any]]:
    run_id = store.start_run(into, operation=OPERATION)
    stats: dict[str, Any] = {}
    try:
        schema_box: list[pa.Schema] = []
        prep = write.Prepared(dataset=into, source_id="", license="", uri="", run_id=run_id,
                                retrieved_at=utcnow(), table_schema=None, merge=True)
        batches = _arrow_batches(_frames(src, pipe, ctx, batch_size, stats), schema_box)
        low = frozenset({"_source", "_license"} | {
            s.column for s in pipe.steps if isinstance(s, Split)})
        version = _overwrite(store, into, prep, batches, schema_box, run_id=run_id,
                             low_cardinality=low, shield=shield)
        stats["rows_out"] = prep.acc.count
        derived_from = [_derivation(i, ident) for i in ident.inputs]
        write.store_version(store, into, version, prep.acc, operation=OPERATION,
                            run_id=run_id, derived_from=derived_from)
        _record_clusters(store, into, ctx, run_id, stats)
        _record_lineage(store, into, version, ident, stats, run_id)
    except BaseException as exc:
        store.fail_run(run_id, exc)
        raise
    store.finish_run(run_id, status="committed", version=version, stats=stats)
    return version, stats


def _overwrite(store: Store, into: str, prep: Any, batches: Iterator[pa.RecordBatch],
               schema_box: list[pa.Schema], *, run_id: str, shield: interrupt.Shield,
               low_cardinality: frozenset[str] = frozenset()) -> int:
    """Write the prepared stream as ONE Delta overwrite commit; returns its version."""
    from deltalake import (
        CommitProperties,
        PostCommitHookProperties,
        WriterProperties,
        write_deltalake,
    )
    from deltalake.exceptions import CommitFailedError

    stream = _prefetch(_prepared(prep, batches, into, low_cardinality))
    first = next(stream, None)
    if first is None:  # every row filtered out: commit an empty version of the right shape
        if not schema_box:
            raise DeriveTargetError(into, reason="the source snapshot has no rows")
        empty = schema_box[0].empty_table().to_batches() or [
            pa.RecordBatch.from_pylist([], schema=schema_box[0])]
        first = prep.with_system_columns(empty[0])
        prep.schema = first.schema
        stream = iter(())
    reader = pa.RecordBatchReader.from_batches(
        prep.schema, interrupt.then_shield(itertools.chain([first], stream), shield))
    meta = {"curata.run_id": run_id, "curata.user": current_user(),
            "curata.version": __version__, "curata.operation": OPERATION}
    try:
        write_deltalake(
            store.table_uri(into), reader, mode="overwrite", schema_mode="overwrite",
            configuration=write.TABLE_CONFIGURATION, storage_options=store.storage_options,
            target_file_size=write.DEFAULT_TARGET_FILE_SIZE,
            writer_properties=WriterProperties(compression="ZSTD",
                                               compression_level=COMPRESSION_LEVEL,
                                               max_row_group_size=write.ROW_GROUP_ROWS),
            commit_properties=CommitProperties(custom_metadata=meta,
                                               max_commit_retries=write.COMMIT_RETRIES),
            post_commithook_properties=PostCommitHookProperties(cleanup_expired_logs=False))
    except CommitFailedError as exc:
        raise CommitConflictError(into, attempts=write.COMMIT_RETRIES, reason=str(exc)) \
            from None
    shield.enter()
    return write.find_commit(store, into, run_id)


def _prepared(prep: Any, batches: Iterator[pa.RecordBatch], into: str,
              low_cardinality: frozenset[str]) -> Iterator[pa.RecordBatch]:
    """``write.Prepared.batches``: system columns first, one schema, and the row-hash sum of
    the snapshot fingerprint, hashing low-cardinality columns (``_source``, ``_license``,
    split labels) through dictionaries so each distinct value is hashed once (same hashes)."""
    for raw in batches:
        if raw.num_rows == 0:
            continue
        batch = prep.with_system_columns(raw)
        if prep.schema is None:
            prep.schema = prep.target_schema(batch)
        batch = write.conform(batch, prep.schema, into)
        view = pa.RecordBatch.from_arrays(
            [pc.dictionary_encode(c) if n in low_cardinality else c
             for n, c in zip(batch.schema.names, batch.columns, strict=True)],
            names=batch.schema.names)
        prep.acc = prep.acc + fp.row_sum(view)
        yield batch


def _restore(store: Store, into: str, version: int, ident: Any) -> int | None:
    """Make ``version`` the latest again (Delta restore), reusing its recorded fingerprint.

    Returns ``None`` when its files are gone (vacuumed): the caller recomputes.
    """
    from deltalake import CommitProperties

    rec = store.version_record(into, version)
    # A record under an older fingerprint scheme cannot be reused: recompute instead.
    row_sum = dict(rec.row_sum) if rec and rec.fp_scheme == fp.FINGERPRINT_VERSION else None
    if row_sum is None:
        return None
    run_id = store.start_run(into, operation=OPERATION + ".restore")
    meta = {"curata.run_id": run_id, "curata.user": current_user(),
            "curata.version": __version__, "curata.operation": OPERATION + ".restore"}
    try:
        store.delta(into).restore(version, commit_properties=CommitProperties(
            custom_metadata=meta, max_commit_retries=write.COMMIT_RETRIES))
    except Exception as exc:  # files vacuumed: fall back to recomputing, which is recorded
        store.fail_run(run_id, exc)
        return None
    new = write.find_commit(store, into, run_id)
    write.store_version(store, into, new, fp.RowHashSum.from_json(row_sum),
                        operation=OPERATION + ".restore", run_id=run_id,
                        derived_from=[_derivation(i, ident) for i in ident.inputs])
    _record_lineage(store, into, new, ident, {"restored_from": version}, run_id)
    store.finish_run(run_id, status="committed", version=new)
    return new


def _record_clusters(store: Store, into: str, ctx: Context, run_id: str,
                     stats: dict[str, Any]) -> None:
    """Near-duplicate clusters found by image ``near_dedup`` steps (curata.quality)."""
    if any(isinstance(k, tuple) for k in ctx.cache):
        stats["near_duplicates"] = write_clusters(store, into, ctx, run_id=run_id)


# --- lineage records ----------------------------------------------------------------------------


def _derivation(inp: dict[str, Any], ident: Any) -> dict[str, Any]:
    """A ``snapshots.derived_from`` entry in the shape governance's BOM reads."""
    return {"ref": inp["ref"], "fingerprint": inp["fingerprint"],
            "kind": "derive" if inp["role"] == "source" else "join",
            "details": {"transform_fingerprint": ident.fingerprint, "role": inp["role"],
                        "steps": [s["kind"] for s in ident.pipeline]}}


def _record_lineage(store: Store, into: str, version: int, ident: Any, stats: dict[str, Any],
                    run_id: str) -> None:
    rec = resolve.version_record(store, into, version)
    store.record_lineage(LineageInfo(
        dataset=into, version=version, transform_fingerprint=ident.fingerprint,
        output_fingerprint=rec.fingerprint, pipeline={"steps": ident.pipeline}, code=ident.code,
        libraries=ident.libraries, stats=dict(stats), run_id=run_id,
        inputs=[LineageInputInfo(role=i["role"], ref=i["ref"], dataset=i["dataset"],
                                 version=i["version"], fingerprint=i["fingerprint"])
                for i in ident.inputs]))
