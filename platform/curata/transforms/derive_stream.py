"""The stream of a derivation, shared by both engines of ``derive``: the pipeline's Polars
frames as Arrow batches, the system columns and the row-hash sum of the snapshot
fingerprint, and the Delta overwrite commit of a local derive.

The local engine (``curata.transforms.derivation``) runs all of it in this process; the Ray
engine (``curata.engines.derive_ray``) runs :func:`arrow_batches` and :func:`prepared` in
its tasks, one per group of source files, and commits the files they wrote in one
transaction (an empty result goes through :func:`overwrite` here too).
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from curata import __version__, interrupt, write
from curata import fingerprint as fp
from curata._util import current_user, utcnow
from curata.errors import CommitConflictError
from curata.store import Store
from curata.transforms.errors import DeriveTargetError, StepFailedError
from curata.transforms.pipeline import Pipeline
from curata.transforms.steps import Split

if TYPE_CHECKING:
    import polars as pl

OPERATION = "derive"
#: ZSTD level of derived files. Level 1 encodes ~2x faster than ingest's level 3 for a few
#: percent more bytes; derived data is re-creatable from its inputs, so speed wins here.
COMPRESSION_LEVEL = 1


def prepare(into: str, run_id: str, retrieved_at: datetime | None = None) -> write.Prepared:
    """The ``write.Prepared`` of a derive: system columns come with the rows (a derive
    carries them through), so the values it would make for missing ones are blank."""
    return write.Prepared(dataset=into, source_id="", license="", uri="", run_id=run_id,
                          retrieved_at=retrieved_at or utcnow(), table_schema=None, merge=True)


def low_cardinality(pipe: Pipeline) -> frozenset[str]:
    """Columns hashed through dictionaries by :func:`prepared`: ``_source``, ``_license``
    and the split labels."""
    return frozenset({"_source", "_license"} | {
        s.column for s in pipe.steps if isinstance(s, Split)})


def commit_meta(run_id: str, *, engine: str | None = None) -> dict[str, str]:
    """The ``commitInfo`` of a derive's Delta commit (``find_commit`` looks for the run id)."""
    meta = {"curata.run_id": run_id, "curata.user": current_user(),
            "curata.version": __version__, "curata.operation": OPERATION}
    if engine is not None:
        meta["curata.engine"] = engine
    return meta


def arrow_batches(frames: Iterator[pl.DataFrame], schema_box: list[pa.Schema]
                  ) -> Iterator[pa.RecordBatch]:
    """Polars frames as Arrow batches with plain (non-view) types; checks a stable schema.
    ``schema_box`` receives the Arrow schema of the first frame (empty or not)."""
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


def prepared(prep: Any, batches: Iterator[pa.RecordBatch], into: str,
             low_cardinality: frozenset[str]) -> Iterator[pa.RecordBatch]:
    """``write.Prepared.batches``: system columns first, one schema (that of the first
    non-empty batch; later ones are conformed to it), and the row-hash sum of the snapshot
    fingerprint in ``prep.acc``, hashing low-cardinality columns (``_source``, ``_license``,
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


def prefetch(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
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
            put(Raised(exc))

    thread = threading.Thread(target=produce, name="curata-derive", daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not done:
            if isinstance(item, Raised):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True, slots=True)
class Raised:
    """An exception of :func:`prefetch`'s producer thread, raised in the consumer."""

    exc: BaseException


def overwrite(store: Store, into: str, prep: Any, batches: Iterator[pa.RecordBatch],
              schema_box: list[pa.Schema], *, run_id: str, shield: interrupt.Shield,
              low_cardinality: frozenset[str] = frozenset(), engine: str | None = None) -> int:
    """Write the raw stream ``batches`` through ``prep`` (:func:`prepared`) as ONE Delta
    overwrite commit; returns its version. No rows at all: an empty version of the first
    frame's schema (``schema_box``)."""
    from deltalake import (
        CommitProperties,
        PostCommitHookProperties,
        WriterProperties,
        write_deltalake,
    )
    from deltalake.exceptions import CommitFailedError

    stream = prefetch(prepared(prep, batches, into, low_cardinality))
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
    try:
        write_deltalake(
            store.table_uri(into), reader, mode="overwrite", schema_mode="overwrite",
            configuration=write.TABLE_CONFIGURATION, storage_options=store.storage_options,
            target_file_size=write.DEFAULT_TARGET_FILE_SIZE,
            writer_properties=WriterProperties(compression="ZSTD",
                                               compression_level=COMPRESSION_LEVEL,
                                               max_row_group_size=write.ROW_GROUP_ROWS),
            commit_properties=CommitProperties(custom_metadata=commit_meta(run_id,
                                                                           engine=engine),
                                               max_commit_retries=write.COMMIT_RETRIES),
            post_commithook_properties=PostCommitHookProperties(cleanup_expired_logs=False))
    except CommitFailedError as exc:
        raise CommitConflictError(into, attempts=write.COMMIT_RETRIES, reason=str(exc)) \
            from None
    shield.enter()
    return write.find_commit(store, into, run_id)
