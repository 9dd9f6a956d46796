"""Parquet shards written in parallel, committed to a Delta table in ONE transaction.

``curata.write.append`` hands its batches to delta-rs (``write_deltalake``), which encodes every
file on one thread. Ingest is the hot path: it already knows each row's hashes and its final
schema, so it writes the table's Parquet files itself with one ``pyarrow.parquet.ParquetWriter``
per core (Parquet encoding and zstd release the GIL) and then commits the files with
delta-rs's ``create_write_transaction`` (the same commit protocol, conflict retries and
conditional puts as ``write_deltalake``). A process killed before the commit leaves only
unreferenced files, which ``curata gc`` collects; the table is untouched.

Each writer thread owns its open file and rotates it near ``target_file_size``; so a run ends
with at most one partly filled file per thread. Rows are grouped into row groups of up to
``ROW_GROUP_ROWS`` before they are encoded.

The Delta ``stats`` of each file (record count, null counts, exact min/max where they are
safe to prune with) come from the Parquet footer we just wrote: delta-rs computes them only
for files it writes itself, and no library turns a Parquet footer into Delta stats.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from curata import fingerprint as fp
from curata.errors import CommitConflictError, StorageError
from curata.storage import filesystem, join_uri
from curata.store import Store
from curata.write.columns import ROW_GROUP_ROWS, TABLE_CONFIGURATION

# Exact string bounds only: a truncated max is not an upper bound (Delta's own writers
# truncate to 32 characters too, but then they have to bump the last character).
_MAX_STAT_CHARS = 32
_STOP = object()


@dataclass(slots=True)
class WrittenFile:
    """One Parquet file of the table folder: relative path, bytes, rows and Delta stats."""

    path: str
    size: int
    rows: int
    stats: dict[str, Any] = field(default_factory=dict)

    def add_action(self, now_ms: int) -> Any:
        from deltalake.transaction import AddAction

        return AddAction(path=self.path, size=self.size, partition_values={},
                         modification_time=now_ms, data_change=True,
                         stats=json.dumps(self.stats, separators=(",", ":")))

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "rows": self.rows, "stats": self.stats}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WrittenFile:
        return cls(path=d["path"], size=int(d["size"]), rows=int(d["rows"]),
                   stats=d.get("stats") or {"numRecords": int(d["rows"])})


class _OpenFile:
    def __init__(self, fs: Any, root: str, schema: pa.Schema, dictionary: list[str]) -> None:
        self.path = f"part-{uuid.uuid4()}-c000.zstd.parquet"
        self.full = join_uri(root, self.path)
        self.stream = fs.open_output_stream(self.full)
        # zstd level 1: ~25% less encoding time than level 3 for ~1.5% larger files.
        self.writer = pq.ParquetWriter(self.stream, schema, compression="zstd",
                                       compression_level=1, use_dictionary=dictionary,
                                       write_statistics=with_statistics(schema))
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        self.writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self.rows += table.num_rows

    @property
    def size(self) -> int:
        return self.stream.tell()

    def close(self) -> WrittenFile:
        self.writer.close()
        meta = self.writer.writer.metadata
        size = self.stream.tell()
        self.stream.close()
        return WrittenFile(path=self.path, size=size, rows=self.rows, stats=delta_stats(meta))


class ShardWriter:
    """Writes batches of one schema into Parquet files under ``table_uri`` on N threads.

    ``put`` blocks when the writers are behind (bounded memory); ``close`` returns the files;
    ``abort`` stops the threads and deletes what they wrote (a killed process leaves them to
    ``curata gc``).
    """

    def __init__(self, table_uri: str, schema: pa.Schema, *,
                 storage_options: dict[str, str] | None = None,
                 target_file_size: int, threads: int | None = None,
                 dictionary: list[str] | None = None, hashing: bool = True) -> None:
        self.schema = schema
        self.fs, self.root = filesystem(table_uri, storage_options)
        self.fs.create_dir(self.root, recursive=True)  # a new table has no folder yet
        self.target = target_file_size
        self.hashing = hashing  # False: the caller sums the row hashes itself
        # Row groups close at ROW_GROUP_ROWS rows or this many bytes in memory, so a file
        # can rotate near a small target and a big one gets row groups of sensible size.
        self.group_bytes = min(64 << 20, max(64 << 10, target_file_size // 4))
        self.dictionary = dictionary if dictionary is not None else low_cardinality(schema)
        n = threads or min(4, os.cpu_count() or 1)
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=2 * n)
        self.files: list[WrittenFile] = []
        self.sums: list[fp.RowHashSum] = []
        self.opened: list[str] = []
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._work, name=f"curata-shard-{i}", daemon=True)
                        for i in range(n)]
        for t in self.threads:
            t.start()

    def put(self, batch: pa.RecordBatch, content: fp.ContentHashes | None = None) -> None:
        """Queue ``batch`` (in the writer's schema). ``content``: the hashes of its content
        columns when the caller has them, so the row-hash sum hashes only system columns."""
        if batch.nbytes > self.group_bytes and batch.num_rows > 1:
            step = max(1, batch.num_rows * self.group_bytes // batch.nbytes)
            for start in range(0, batch.num_rows, step):
                self._put(batch.slice(start, step),
                          content.slice(start, step) if content is not None else None)
        else:
            self._put(batch, content)

    @property
    def row_sum(self) -> fp.RowHashSum:
        """Row count and row-hash sum of everything written (valid after ``close``)."""
        total = fp.RowHashSum()
        for acc in self.sums:
            total = total + acc
        return total

    def _put(self, batch: pa.RecordBatch, content: fp.ContentHashes | None) -> None:
        if self.error is not None:
            raise self.error
        while True:
            try:
                self.queue.put((batch, content), timeout=0.2)
                return
            except queue.Full:
                if self.error is not None:
                    raise self.error from None

    def close(self) -> list[WrittenFile]:
        self._stop()
        if self.error is not None:
            self._delete()
            raise self.error
        return sorted(self.files, key=lambda f: f.path)

    def abort(self) -> None:
        self.error = self.error or RuntimeError("aborted")
        self._drain()
        self._stop()
        self._delete()

    # --- threads ----------------------------------------------------------------------------

    def _stop(self) -> None:
        for _ in self.threads:
            self.queue.put(_STOP)
        for t in self.threads:
            t.join()

    def _drain(self) -> None:
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                return

    def _work(self) -> None:
        current: _OpenFile | None = None
        pending: list[pa.RecordBatch] = []
        rows = size = 0
        acc = fp.RowHashSum()  # hashing runs here too: it spreads over the writer threads
        try:
            while True:
                item = self.queue.get()
                if item is _STOP or self.error is not None:
                    break
                batch, content = item
                if self.hashing:
                    acc = acc + (fp.row_sum(batch) if content is None
                                 else fp.row_sum_with(batch, content))
                pending.append(batch)
                rows, size = rows + batch.num_rows, size + batch.nbytes
                if rows < ROW_GROUP_ROWS and size < self.group_bytes:
                    continue
                current = self._write(current, pending)
                pending, rows, size = [], 0, 0
            if pending and self.error is None:
                current = self._write(current, pending)
            if current is not None:
                done = current.close()
                with self._lock:
                    self.files.append(done)
            with self._lock:
                self.sums.append(acc)
        except BaseException as exc:  # handed to the producer by put()/close()
            self.error = self.error or exc
            self._drain()

    def _write(self, current: _OpenFile | None, batches: list[pa.RecordBatch]) -> _OpenFile | None:
        if current is None:
            current = _OpenFile(self.fs, self.root, self.schema, self.dictionary)
            with self._lock:
                self.opened.append(current.full)
        current.write(pa.Table.from_batches(batches, schema=self.schema))
        if current.size < self.target:
            return current
        done = current.close()
        with self._lock:
            self.files.append(done)
        return None

    def _delete(self) -> None:
        for full in self.opened:
            with contextlib.suppress(OSError):  # else left for `curata gc`
                self.fs.delete_file(full)


_TEXT_NAMES = ("text", "content", "body", "document", "caption", "txt")


def low_cardinality(schema: pa.Schema) -> list[str]:
    """Columns worth dictionary-encoding: one value per source/run, plus short categoricals.

    Dictionary encoding of unique values (``_id``, locators, text, most integers) is tried and
    abandoned by Parquet writers page after page; skipping it saves ~30% of encoding time.
    """
    out = ["_source", "_license", "_provenance.uri", "_provenance.run_id",
           "_provenance.retrieved_at"]
    for f in schema:
        if f.name.startswith("_"):
            continue
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            if f.name.lower() not in _TEXT_NAMES:
                out.append(f.name)
        elif pa.types.is_boolean(f.type) or pa.types.is_date(f.type):
            out.append(f.name)
    return [c for c in out if c.split(".")[0] in schema.names]


def with_statistics(schema: pa.Schema) -> list[str]:
    """Leaf columns whose min/max/null counts we write: all but locators and long text."""
    return [p for p in _leaf_types(schema)
            if p != "_provenance.locator" and p.split(".")[0].lower() not in _TEXT_NAMES]


# --- Delta stats from a Parquet footer ---------------------------------------------------------


def delta_stats(meta: Any) -> dict[str, Any]:
    """``{"numRecords", "nullCount", "minValues", "maxValues"}`` of one Parquet file.

    Null counts for every leaf column; min/max only for integers, dates and strings of at
    most 32 characters, where the footer holds exact bounds (float bounds ignore NaN, which
    would let a reader skip a file holding NaN rows).
    """
    stats: dict[str, Any] = {"numRecords": meta.num_rows, "nullCount": {}, "minValues": {},
                             "maxValues": {}}
    if meta.num_row_groups == 0:
        return {"numRecords": meta.num_rows}
    schema = meta.schema.to_arrow_schema()
    leaves = _leaf_types(schema)
    for i in range(meta.num_columns):
        path = meta.row_group(0).column(i).path_in_schema
        if path not in leaves:  # a list or map element: Delta keeps no stats for those
            continue
        nulls, lo, hi, exact = 0, None, None, True
        for g in range(meta.num_row_groups):
            st = meta.row_group(g).column(i).statistics
            if st is None or not st.has_null_count:
                exact, nulls = False, None
                break
            nulls += st.null_count
            if not st.has_min_max:
                if st.null_count != meta.row_group(g).num_rows:
                    exact = False
                continue
            lo = st.min if lo is None else min(lo, st.min)
            hi = st.max if hi is None else max(hi, st.max)
        keys = path.split(".")
        if nulls is not None:
            _put(stats["nullCount"], keys, nulls)
        bounds = _bounds(leaves[path], lo, hi) if exact and lo is not None else None
        if bounds is not None:
            _put(stats["minValues"], keys, bounds[0])
            _put(stats["maxValues"], keys, bounds[1])
    return {k: v for k, v in stats.items() if v != {}}


def _leaf_types(schema: pa.Schema) -> dict[str, pa.DataType]:
    out: dict[str, pa.DataType] = {}

    def walk(prefix: str, t: pa.DataType) -> None:
        if pa.types.is_struct(t):
            for f in t:
                walk(f"{prefix}.{f.name}", f.type)
        elif not (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_map(t)):
            out[prefix] = t

    for f in schema:
        walk(f.name, f.type)
    return out


def _bounds(t: pa.DataType, lo: Any, hi: Any) -> tuple[Any, Any] | None:
    if pa.types.is_integer(t):
        return int(lo), int(hi)
    if pa.types.is_date(t):
        return lo.isoformat(), hi.isoformat()
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        if isinstance(lo, bytes):
            lo, hi = lo.decode("utf-8", "replace"), hi.decode("utf-8", "replace")
        if len(lo) <= _MAX_STAT_CHARS and len(hi) <= _MAX_STAT_CHARS:
            return lo, hi
    return None


def _put(tree: dict[str, Any], keys: list[str], value: Any) -> None:
    for k in keys[:-1]:
        tree = tree.setdefault(k, {})
    tree[keys[-1]] = value


# --- the commit ------------------------------------------------------------------------------


def _check_schema(dataset: str, table: pa.Schema, ours: pa.Schema) -> None:
    """Optimistic concurrency on the schema: this write's files were made for the table's
    schema when it started. If another writer committed another schema since (two ingests
    creating one dataset from different data), these files cannot join the table: refuse,
    nothing committed. (Two such writers once both committed, and reads silently cast and
    dropped values.)"""
    for f in ours:
        i = table.get_field_index(f.name)
        if i < 0 or not table.field(i).type.equals(f.type):
            now = "missing" if i < 0 else str(table.field(i).type)
            raise CommitConflictError(dataset, attempts=1, reason=(
                f"another writer committed a different schema meanwhile (column {f.name!r}: "
                f"this write has {f.type}, the table now {now}); nothing was committed"))


def _check_files(table_uri: str, storage_options: dict[str, str] | None,
                 files: list[WrittenFile]) -> None:
    """Every file about to be committed is there with the size written: a version pointing at
    missing files (removed by a `gc` that ran during the write) is never committed."""
    import pyarrow.fs as pafs

    fs, root = filesystem(table_uri, storage_options)
    infos = fs.get_file_info([join_uri(root, f.path) for f in files])
    for f, info in zip(files, infos, strict=True):
        if info.type != pafs.FileType.File or info.size != f.size:
            raise StorageError(join_uri(root, f.path), reason=(
                f"a file of this write is {'gone' if info.type != pafs.FileType.File else 'changed'}"
                " before its commit (collected by `curata gc`?); nothing was committed"))


def commit_files(store: Store, dataset: str, schema: pa.Schema, files: list[WrittenFile],
                 metadata: dict[str, str], *, retries: int,
                 mode: Literal["append", "overwrite"] = "append") -> None:
    """ONE Delta commit adding ``files`` to the dataset's records table (created if new).

    ``append``: ``schema`` must be the table's schema (or, for a new table, the files'
    schema): an append through a transaction cannot change a table's schema, so writes that
    add columns go through ``write_deltalake`` instead. ``overwrite`` (a derived version):
    ``files`` replace every file of the table, and ``schema`` becomes its schema.
    """
    from deltalake import CommitProperties, PostCommitHookProperties
    from deltalake import Schema as DeltaSchema
    from deltalake.exceptions import CommitFailedError, DeltaError
    from deltalake.transaction import create_table_with_add_actions

    _check_files(store.table_uri(dataset), store.storage_options, files)
    now = int(time.time() * 1000)
    actions = [f.add_action(now) for f in files]
    props = {"commit_properties": CommitProperties(custom_metadata=metadata,
                                                   max_commit_retries=retries),
             "post_commithook_properties": PostCommitHookProperties(cleanup_expired_logs=False)}
    delta_schema = DeltaSchema.from_arrow(schema)
    try:
        dt = store.delta(dataset)
        if dt is None:
            # Of two writers creating the table at once, exactly one commits version 0; the
            # other must fail here and append below, under the schema check. So: mode "error"
            # and no commit retries (a retried create is rebased onto version 1, which let
            # both commit, the second with another schema)
            create_props = {**props, "commit_properties": CommitProperties(
                custom_metadata=metadata, max_commit_retries=0)}
            try:
                create_table_with_add_actions(
                    store.table_uri(dataset), delta_schema, actions, mode="error",
                    configuration=TABLE_CONFIGURATION, storage_options=store.storage_options,
                    **create_props)
                return
            except DeltaError:
                dt = store.delta(dataset)  # another writer created it first: append instead
                if dt is None:
                    raise
        if mode == "overwrite":
            dt.create_write_transaction(actions, mode="overwrite", schema=delta_schema, **props)
            return
        table_schema = pa.schema(dt.schema().to_arrow())
        _check_schema(dataset, table_schema, schema)
        # Committed under the table's schema, never ours: our files may lack columns a
        # concurrent writer added (read as nulls); a schema of ours would drop them.
        dt.create_write_transaction(actions, mode="append",
                                    schema=DeltaSchema.from_arrow(table_schema), **props)
    except CommitFailedError as exc:
        raise CommitConflictError(dataset, attempts=retries, reason=str(exc)) from None
