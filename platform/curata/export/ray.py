"""The Ray Data export engine: the driver plans every shard, Ray tasks write them.

``export_webdataset(..., engine="ray")`` (``curata export --engine ray``) writes the same bytes
as the local engine: same shard names, same members in the same order, same sha256, same
manifest. The driver keeps everything that decides *what* goes where; tasks do the heavy part.

1. **driver**: options, census, license gate (``curata.export.writer``, shared with the local
   engine), then the list of the pinned version's Parquet files.
2. **scan** (one Ray task per group of files): reads each file with the export's filter and
   returns, per selected row, its split, what key dedup needs (``_id`` repeats) and, when
   shards are cut by size, the exact archive bytes of its sample (``samples.sample_sizes``;
   payloads are encoded to measure them and dropped).
3. **plan** (driver, :func:`plan_shards`): export order (stored order, or the seeded shuffle of
   ``shuffle.shuffle_order``), rows per split, the repeat number of every key, and shard
   boundaries: by count exactly as the local engine spreads rows, by size with the same
   greedy rule (a shard closes before a sample would push it past ``shard_size``).
4. **write**: without shuffle each task takes a run of consecutive shards of one split, reads
   just the files holding their rows and streams them into the shards; with shuffle the rows
   of every file are routed to their shard by one Ray Data ``groupby`` (each shard is then
   built in one worker's memory) and each group writes one shard. Tasks write under the run's
   temporary names (``publish.Staging``) and return name, samples, bytes and sha256; the
   driver checks them against the plan, writes the ``wids`` index, ``ATTRIBUTION.md`` and the
   manifest last, and audit-logs the export.

Workers need the warehouse and the export folder under the same URIs (object storage or a
shared file system) and credentials from their environment: no task payload carries a
credential. The warehouse's options (``CURATA_STORAGE_OPTIONS``) travel without their secret
entries (``curata.storage.public_options``) and each worker adds its own
``CURATA_STORAGE_OPTIONS`` and ``AWS_*`` variables (``runtime_env.env_vars``); export
``storage_options`` holding secrets are refused rather than shipped to the cluster.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curata.engines.ray import cluster_cpus, connect, gather, node_id, require_ray
from curata.errors import IntegrityError, UsageError
from curata.export.manifest import ShardInfo
from curata.export.options import ExportOptions
from curata.export.publish import Staging
from curata.export.samples import Field, check_keys, sample_sizes, sized_row
from curata.export.selection import Census, Selection
from curata.export.shardset import ShardSet, shard_name
from curata.export.shuffle import shuffle_order
from curata.export.tar import BLOCK, RECORD, TarShardWriter
from curata.storage import (
    filesystem,
    is_local,
    join_uri,
    public_options,
    secret_options,
    worker_options,
)

_POS = "__curata_pos"
SCAN_TASKS_PER_CPU = 2  # scan tasks per cluster CPU (files are grouped by bytes)
WRITE_TASKS_PER_CPU = 2  # write tasks per cluster CPU without shuffle
MAX_RETRIES = 3  # Ray's retries of a task whose worker or node died (it rewrites its shards)
log = logging.getLogger(__name__)


# --- what tasks read: the pinned version's files, rebuilt on the worker ------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Files:
    """A stand-in for the snapshot inside a task: some of its Parquet files, read exactly as
    ``Snapshot.to_batches`` reads them (same dataset schema, format and per-file expressions).

    Carries URIs and non-secret options only (``curata.storage.public_options``); the
    filesystem is built on the worker with ``worker_options``, so its credentials come from
    the worker's environment.
    """

    table_uri: str
    storage_options: dict[str, Any] | None  # public_options: never a credential
    schema: pa.Schema
    format: Any  # pyarrow.dataset.ParquetFileFormat
    files: tuple[tuple[str, Any], ...] = ()  # (path in that filesystem, its expression)

    def only(self, files: Sequence[tuple[str, Any]]) -> _Files:
        return replace(self, files=tuple(files))

    def to_batches(self, columns: Sequence[str] | None = None, *, batch_size: int = 65_536,
                   filter: Any = None) -> Iterator[pa.RecordBatch]:
        import pyarrow.dataset as pads

        fs, _ = filesystem(self.table_uri, worker_options(self.storage_options))
        fragments = [self.format.make_fragment(path, filesystem=fs, partition_expression=expr)
                     for path, expr in self.files]
        ds = pads.FileSystemDataset(fragments, self.schema, self.format, fs)
        yield from ds.to_batches(columns=list(columns) if columns is not None else None,
                                 filter=filter, batch_size=batch_size)


def _files(snapshot: Any) -> tuple[_Files, list[tuple[str, Any]], list[int]]:
    """The task-side reader, every file (in the order the snapshot reads them) and sizes."""
    ds = snapshot.to_dataset()
    uri = snapshot.table_uri
    if is_local(uri):  # workers do not share the driver's working directory
        uri = os.path.abspath(uri.removeprefix("file://"))
    _, root = filesystem(uri, snapshot.storage_options)
    root = root.rstrip("/")
    entries = []
    for frag in ds.get_fragments():
        # a path in curata.storage's filesystem, or one relative to the table (delta-rs's own)
        path = frag.path if frag.path.startswith(root + "/") else join_uri(root, frag.path)
        entries.append((path, frag.partition_expression))
    sizes = {join_uri(root, unquote(f["path"])): int(f["size"]) for f in snapshot.files()}
    reader = _Files(table_uri=uri, storage_options=public_options(snapshot.storage_options),
                    schema=ds.schema, format=ds.format)
    return reader, entries, [sizes.get(path, 1) for path, _ in entries]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Job:
    """Everything a task needs besides its own item (shipped once per operator)."""

    files: _Files
    options: ExportOptions
    filter: Any
    fields: tuple[Field, ...]
    measure: bool  # shards by size: the scan measures samples
    key_columns: tuple[str, ...]  # what the scan reads when it does not measure
    out: str  # export folder as an absolute URI
    storage_options: dict[str, Any] | None
    token: str

    def selection(self, files: Sequence[tuple[str, Any]]) -> Selection:
        return Selection(self.files.only(files), self.options, self.filter,
                         [f.column for f in self.fields])

    def staging(self) -> Staging:
        import fsspec

        fs, root = fsspec.core.url_to_fs(self.out, **(self.storage_options or {}))
        return Staging(fs, root, token=self.token)


def check_ray_export(storage_options: dict[str, Any] | None) -> None:
    """Refuse a Ray export up front: Ray missing, or credentials in ``storage_options``."""
    require_ray()
    secret = secret_options(storage_options)
    if secret:
        raise UsageError(
            f"engine='ray' does not send credentials to the cluster (storage_options {secret})",
            hint="Set them in the workers' environment (AWS_ACCESS_KEY_ID, ...; Ray's "
                 "runtime_env env_vars or the worker image) and drop them from storage_options")


# --- scan: per selected row, its split, key repeats and (by size) its archive bytes -------------


@dataclass(slots=True, kw_only=True)
class FileScan:
    """What the scan found in one file (rows in stored order, after the filter)."""

    file: int
    labels: list[str]  # split labels; ``codes`` index into them
    codes: np.ndarray
    ids: pa.Array | None = None  # every _id (shuffle); else only what stitching needs:
    repeats: np.ndarray | None = None  # row's _id equals the previous row's of its split
    first: dict[str, str] | None = None  # split -> _id of its first / last row here
    last: dict[str, str] | None = None
    row_bytes: np.ndarray | None = None  # by size: archive bytes under the row's own _id
    members: dict[int, tuple[str, list[tuple[bytes, int]]]] | None = None  # see SampleSizes

    @property
    def num_rows(self) -> int:
        return len(self.codes)


def scan_file(job: _Job, file: int, entry: tuple[str, Any]) -> FileScan:
    """Scan one file for the plan (runs in a Ray task; plain function for tests)."""
    sel = job.selection([entry])
    labels: dict[str, int] = {}
    codes, ids, sizes = [], [], []
    members: dict[int, tuple[str, list[tuple[bytes, int]]]] = {}
    offset = 0
    for batch, split in sel.scan(None if job.measure else list(job.key_columns)):
        codes.append(np.array([labels.setdefault(s, len(labels)) for s in split], np.int32))
        keys = batch.column("_id")
        check_keys(keys)
        ids.append(keys)
        if job.measure:
            measured = sample_sizes(batch, job.fields)
            sizes.append(measured.row_bytes)
            key_list = keys.to_pylist() if measured.members else []
            members.update({offset + r: (key_list[r], m) for r, m in measured.members.items()})
        offset += batch.num_rows
    out = FileScan(file=file, labels=list(labels),
                   codes=np.concatenate(codes) if codes else np.empty(0, np.int32))
    all_ids = pa.chunked_array(ids, pa.string()).combine_chunks()
    if job.options.shuffle:
        out.ids = all_ids
    else:
        out.repeats, out.first, out.last = _repeats(all_ids, out.codes, out.labels)
    if job.measure:
        out.row_bytes = np.concatenate(sizes) if sizes else np.empty(0, np.int64)
        out.members = members
    return out


def _repeats(ids: pa.Array, codes: np.ndarray, labels: list[str]
             ) -> tuple[np.ndarray, dict[str, str], dict[str, str]]:
    repeats = np.zeros(len(codes), bool)
    first, last = {}, {}
    for code, label in enumerate(labels):
        rows = np.flatnonzero(codes == code)
        split_ids = ids.take(pa.array(rows))
        if len(rows) > 1:
            same = pc.equal(split_ids.slice(1), split_ids.slice(0, len(rows) - 1))
            repeats[rows[1:]] = same.to_numpy(zero_copy_only=False)
        first[label], last[label] = split_ids[0].as_py(), split_ids[-1].as_py()
    return repeats, first, last


# --- plan (driver) ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardPlan:
    """One shard: its rows (positions in stored order, in export order) and expected size."""

    split: str
    index: int
    name: str
    rows: np.ndarray
    first_run: int  # repeat number of its first row's key (0: not a repeat)
    bytes: int | None  # archive size, known when shards are cut by size

    @property
    def samples(self) -> int:
        return len(self.rows)


def plan_shards(scans: Sequence[FileScan], options: ExportOptions, census: Census
                ) -> list[ShardPlan]:
    """Cut the scanned rows into shards exactly as the local engine's ``ShardSet`` does."""
    scans = sorted(scans, key=lambda s: s.file)
    splits = sorted(census.splits)
    code_of = {s: i for i, s in enumerate(splits)}
    codes = np.concatenate([np.array([code_of[lab] for lab in s.labels], np.int32)[s.codes]
                            if s.num_rows else np.empty(0, np.int32) for s in scans] or
                           [np.empty(0, np.int32)])
    counts = np.bincount(codes, minlength=len(splits)) if len(codes) else np.zeros(len(splits))
    if len(codes) != census.total or any(int(counts[code_of[s]]) != n
                                         for s, n in census.splits.items()):
        raise IntegrityError(f"the Ray scan found {len(codes)} rows, the census {census.total}",
                             hint="the snapshot's files changed during the export; run it again")
    offsets = np.cumsum([0] + [s.num_rows for s in scans])
    if options.shuffle:
        ids = pa.chunked_array([s.ids for s in scans if s.num_rows], pa.string())
        order = shuffle_order(ids, options.seed).to_numpy() if len(codes) else codes
    else:
        ids, order = None, np.arange(len(codes))
        repeats = _stitched_repeats(scans, offsets)
    sizes = np.concatenate([s.row_bytes for s in scans]) if options.shard_size else None
    members = {int(offsets[i]) + r: m for i, s in enumerate(scans) for r, m in
               (s.members or {}).items()}
    plans: list[ShardPlan] = []
    for code, split in enumerate(splits):
        rows = order[codes[order] == code]
        if ids is not None:
            split_ids = ids.take(pa.array(rows))
            same = pc.equal(split_ids.slice(1), split_ids.slice(0, max(0, len(rows) - 1)))
            rep = np.concatenate([[False], same.to_numpy(zero_copy_only=False)])
        else:
            rep = repeats[rows]
        runs = _runs(rep)
        if sizes is None:
            bounds = _count_bounds(len(rows), options.shard_count or 1)
            row_sizes = None
        else:
            row_sizes = sizes[rows]
            for i in np.flatnonzero(runs).tolist():
                if int(rows[i]) in members:  # a repeat suffix may change a PAX header
                    key, m = members[int(rows[i])]
                    row_sizes[i] = sized_row(f"{key}-{runs[i]}", m)
            bounds = _size_bounds(row_sizes, int(options.shard_size or 0))
        for index, (a, b) in enumerate(bounds):
            nbytes = (TarShardWriter.final_size(int(row_sizes[a:b].sum()))
                      if row_sizes is not None else None)
            plans.append(ShardPlan(split=split, index=index, name=shard_name(options, split, index),
                                   rows=rows[a:b], first_run=int(runs[a]), bytes=nbytes))
    return plans


def _stitched_repeats(scans: Sequence[FileScan], offsets: np.ndarray) -> np.ndarray:
    """Per-file repeat flags joined across files (a split's first row in a file repeats the
    last row of that split in an earlier file if their ``_id`` is equal)."""
    repeats = np.concatenate([s.repeats for s in scans if s.repeats is not None] or
                             [np.empty(0, bool)])
    last: dict[str, str] = {}
    for i, s in enumerate(scans):
        for code, label in enumerate(s.labels):
            first_row = int(offsets[i]) + int(np.argmax(s.codes == code))
            repeats[first_row] = (s.first or {}).get(label) == last.get(label)
            last[label] = (s.last or {})[label]
    return repeats


def _runs(repeats: np.ndarray) -> np.ndarray:
    """Repeat number of every row (0, or how many equal keys directly precede it)."""
    i = np.arange(len(repeats))
    return i - np.maximum.accumulate(np.where(repeats, 0, i)) if len(i) else i


def _count_bounds(n: int, shard_count: int) -> list[tuple[int, int]]:
    count = max(1, min(shard_count, n))
    return [(i * n // count, (i + 1) * n // count) for i in range(count)] if n else []


def _size_bounds(row_sizes: np.ndarray, shard_size: int) -> list[tuple[int, int]]:
    """Greedy: a shard takes rows while its closed archive stays within ``shard_size``
    (at least one row), as ``shardset.ShardSet._fits`` decides row by row."""
    budget = shard_size // RECORD * RECORD - 2 * BLOCK  # room for members in a closed archive
    cum = np.concatenate([[0], np.cumsum(row_sizes)])
    bounds, start, n = [], 0, len(row_sizes)
    while start < n:
        end = int(np.searchsorted(cum, cum[start] + budget, side="right")) - 1
        end = max(end, start + 1)
        bounds.append((start, end))
        start = end
    return bounds


# --- write tasks ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _WriteTask:
    """Consecutive shards of one split, written by one task in order."""

    split: str
    shards: tuple[tuple[int, int, int | None], ...]  # (index, samples, bytes)
    first_run: int
    pieces: tuple[tuple[tuple[str, Any], np.ndarray], ...] = ()  # (file entry, rows in it)


def write_tasks(plans: Sequence[ShardPlan], entries: Sequence[tuple[str, Any]],
                 offsets: np.ndarray, tasks: int, shuffle: bool) -> list[_WriteTask]:
    """Group shards into tasks: one per shard with shuffle (rows come by groupby), else runs
    of consecutive shards of a split, each reading just the files that hold its rows."""
    by_split: dict[str, list[ShardPlan]] = {}
    for p in plans:
        by_split.setdefault(p.split, []).append(p)
    total = max(1, sum(p.samples for p in plans))
    out = []
    for split, shards in by_split.items():
        if shuffle:
            out += [_task(split, [p], entries, offsets, with_pieces=False) for p in shards]
            continue
        n = sum(p.samples for p in shards)
        groups = max(1, min(len(shards), round(tasks * n / total)))
        start = 0
        runs: dict[int, list[ShardPlan]] = {}  # group of a shard: where it starts, 1/groups
        for p in shards:
            runs.setdefault(int(start * groups / n + 0.5), []).append(p)
            start += p.samples
        out += [_task(split, group, entries, offsets, with_pieces=True) for group in runs.values()]
    return out


def _task(split: str, shards: list[ShardPlan], entries: Sequence[tuple[str, Any]],
          offsets: np.ndarray, *, with_pieces: bool) -> _WriteTask:
    pieces: list[tuple[tuple[str, Any], np.ndarray]] = []
    if with_pieces:
        rows = np.concatenate([p.rows for p in shards])  # ascending: stored order
        file_of = np.searchsorted(offsets, rows, side="right") - 1
        cuts = np.flatnonzero(np.diff(file_of)) + 1
        for part in np.split(np.arange(len(rows)), cuts):
            f = int(file_of[part[0]])
            pieces.append((entries[f], rows[part] - offsets[f]))
    return _WriteTask(split=split, shards=tuple((p.index, p.samples, p.bytes) for p in shards),
                      first_run=shards[0].first_run, pieces=tuple(pieces))


def _open_set(job: _Job, task: _WriteTask) -> ShardSet:
    return ShardSet(options=job.options, census=None, staging=job.staging(),
                     planned={(task.split, i): n for i, n, _ in task.shards},
                     next_index={task.split: task.shards[0][0]})


def _write(job: _Job, task: _WriteTask, batches: Iterator[pa.RecordBatch]) -> list[dict]:
    """Stream ``batches`` (the task's rows, in order) into its planned shards."""
    shards = _open_set(job, task)
    try:
        started = False
        for batch in batches:
            if not batch.num_rows:
                continue
            if not started:  # the key state before the first row, from the plan
                started = True
                if task.first_run:
                    shards.last_key[task.split] = (batch.column("_id")[0].as_py(),
                                                   task.first_run - 1)
            shards.add(task.split, batch, job.fields)
        done = shards.close()
    except BaseException:
        shards.abort()
        raise
    expected = {shard_name(job.options, task.split, i): (n, b) for i, n, b in task.shards}
    for s in done:
        n, b = expected.pop(s.name, (None, None))
        if n != s.samples or (b is not None and b != s.bytes):
            raise IntegrityError(f"shard {s.name}: wrote {s.samples} samples / {s.bytes} bytes, "
                                 f"planned {n} / {b}")
    if expected:
        raise IntegrityError(f"shards not written: {sorted(expected)}")
    return [s.to_dict() for s in done]


def write_pieces(job: _Job, task: _WriteTask) -> list[dict]:
    """Write a task's shards by reading its rows from the files (no shuffle)."""

    def rows() -> Iterator[pa.RecordBatch]:
        for entry, local in task.pieces:
            offset = 0
            for batch, _ in job.selection([entry]).scan():
                lo, hi = np.searchsorted(local, [offset, offset + batch.num_rows])
                if hi > lo:
                    yield batch.take(pa.array(local[lo:hi] - offset))
                offset += batch.num_rows
                if offset > local[-1]:
                    break

    return _write(job, task, rows())


# --- Ray tasks ------------------------------------------------------------------------------

_RESULT = ("name", "split", "samples", "bytes", "sha256")


def scan_group(job: _Job, group: list[tuple[int, tuple[str, Any]]]) -> list[FileScan]:
    """A scan task: :func:`scan_file` for each (file number, entry) of ``group``."""
    return [scan_file(job, f, entry) for f, entry in group]


def write_task(job: _Job, task: _WriteTask) -> tuple[list[dict], str]:
    """A write task (no shuffle): the task's shards, and the node it ran on."""
    return write_pieces(job, task), node_id()


def route_file(job: _Job, entry: tuple[str, Any], task_of: np.ndarray, pos: np.ndarray,
               tasks: int) -> list[pa.Table] | pa.Table:
    """A route task (shuffle): read one file once and hand each write task its rows, tagged
    with their position in the shard (one return value per write task)."""
    parts: list[list[pa.Table]] = [[] for _ in range(tasks)]
    offset = 0
    for batch, _ in job.selection([entry]).scan():
        n = batch.num_rows
        t = pa.Table.from_batches([batch]).append_column(
            _POS, pa.array(pos[offset:offset + n], pa.int64()))
        owner = task_of[offset:offset + n]
        for k in np.unique(owner).tolist():
            parts[k].append(t.filter(pa.array(owner == k)))
        offset += n
    out = [pa.concat_tables(p) if p else pa.table({}) for p in parts]
    return out if tasks > 1 else out[0]


def write_routed(job: _Job, task: _WriteTask, *parts: pa.Table) -> tuple[list[dict], str]:
    """A write task (shuffle): one shard assembled from the rows the route tasks sent, in
    their planned order."""
    tables = [p for p in parts if p.num_rows]
    group = pa.concat_tables(tables) if tables else pa.table({})
    group = group.take(pc.sort_indices(group.column(_POS))).drop_columns([_POS])
    return _write(job, task, iter(group.to_batches(8192))), node_id()


def _balanced(weights: Sequence[int], parts: int) -> list[list[int]]:
    """Consecutive groups of indices with about equal total weight."""
    total = max(1, sum(weights))
    groups: list[list[int]] = [[]]
    acc = 0
    for i, w in enumerate(weights):
        if groups[-1] and acc * parts >= total * len(groups):
            groups.append([])
        groups[-1].append(i)
        acc += w
    return [g for g in groups if g]


def make_job(snapshot: Any, selection: Selection, fields: Sequence[Field], options: ExportOptions,
             *, filter: Any, staging: Staging, storage_options: dict[str, Any] | None
             ) -> tuple[_Job, list[tuple[str, Any]], list[int]]:
    """What every task gets, the snapshot's files (in read order) and their sizes."""
    reader, entries, sizes = _files(snapshot)
    key_columns = ["_id"] + [c for c in [options.split_by, *selection.filter_columns]
                             if c and c != "_id"]
    job = _Job(files=reader, options=options, filter=filter, fields=tuple(fields),
               measure=options.shard_size is not None,
               key_columns=tuple(dict.fromkeys(key_columns)),
               out=staging.fs.unstrip_protocol(staging.root), storage_options=storage_options,
               token=staging.token)
    return job, entries, sizes


def write_shards_ray(
    snapshot: Any, selection: Selection, fields: Sequence[Field], options: ExportOptions,
    census: Census, staging: Staging, *, storage_options: dict[str, Any] | None, filter: Any,
    progress: Callable[[int], None] | None,
) -> tuple[ShardInfo, ...]:
    """Plan on the driver, write the shards as Ray tasks into ``staging``."""
    if census.total == 0:
        return ()

    ray = connect()
    job, entries, sizes = make_job(snapshot, selection, fields, options, filter=filter,
                                   staging=staging, storage_options=storage_options)
    job_ref = ray.put(job)
    cpus = cluster_cpus(ray)
    scan = ray.remote(scan_group).options(num_cpus=1, max_retries=MAX_RETRIES)
    groups = _balanced(sizes, SCAN_TASKS_PER_CPU * cpus)
    scanned = gather([scan.remote(job_ref, [(f, entries[f]) for f in g]) for g in groups])
    scans = sorted((s for part in scanned for s in part), key=lambda s: s.file)
    if [s.file for s in scans] != list(range(len(entries))):
        raise IntegrityError(f"the Ray scan returned {len(scans)} of {len(entries)} files")
    plans = plan_shards(scans, options, census)
    offsets = np.cumsum([0] + [s.num_rows for s in scans])
    tasks = write_tasks(plans, entries, offsets, WRITE_TASKS_PER_CPU * cpus, options.shuffle)
    for p in sorted(plans, key=lambda p: (p.split, p.name)):
        staging.expect(p.name)  # so that discard() removes whatever the tasks wrote
    if options.shuffle:
        refs = _shuffled_writes(ray, job_ref, scans, plans, tasks, entries, offsets)
    else:
        write = ray.remote(write_task).options(num_cpus=1, max_retries=MAX_RETRIES)
        refs = [write.remote(job_ref, t) for t in tasks]
    written, done, nodes = [0], [], set()

    def arrived(_: int, result: tuple[list[dict], str]) -> None:
        shards, node = result
        nodes.add(node)
        for row in shards:
            done.append(ShardInfo(**{k: row[k] for k in _RESULT}))
            written[0] += int(row["samples"])
        if progress is not None:
            progress(written[0])

    gather(refs, arrived)
    if sorted(s.name for s in done) != sorted(p.name for p in plans):
        raise IntegrityError(f"Ray tasks returned {len(done)} shards, the plan has {len(plans)}")
    log.info("export of %s: %d shards written by %d Ray tasks on %d nodes", snapshot.ref,
             len(done), len(tasks), len(nodes))
    return tuple(sorted(done, key=lambda s: (s.split, s.name)))


def _shuffled_writes(ray: Any, job_ref: Any, scans: Sequence[FileScan],
                     plans: Sequence[ShardPlan], tasks: list[_WriteTask],
                     entries: Sequence[tuple[str, Any]], offsets: np.ndarray) -> list[Any]:
    """Route every row to its shard's write task (task and position), then write: each file
    is read once, and each shard's rows meet in one worker through the object store."""
    n = int(offsets[-1])
    task_of = np.empty(n, np.int32)
    pos = np.empty(n, np.int64)
    index = {(t.split, t.shards[0][0]): i for i, t in enumerate(tasks)}
    for p in plans:
        task_of[p.rows] = index[(p.split, p.index)]
        pos[p.rows] = np.arange(p.samples)
    route = ray.remote(route_file).options(num_cpus=1, num_returns=len(tasks),
                                           max_retries=MAX_RETRIES)
    routed = []
    for i, s in enumerate(scans):
        if not s.num_rows:
            continue
        a, b = int(offsets[i]), int(offsets[i + 1])
        out = route.remote(job_ref, entries[s.file], task_of[a:b], pos[a:b], len(tasks))
        routed.append(out if len(tasks) > 1 else [out])
    write = ray.remote(write_routed).options(num_cpus=1, max_retries=MAX_RETRIES)
    return [write.remote(job_ref, t, *[r[k] for r in routed]) for k, t in enumerate(tasks)]


__all__ = ["FileScan", "ShardPlan", "check_ray_export", "make_job", "plan_shards", "require_ray",
           "scan_file", "write_pieces", "write_shards_ray", "write_tasks"]
