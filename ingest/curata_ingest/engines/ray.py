"""The Ray ingest engine: each task reads, fingerprints and WRITES its share of the input;
the driver only decides duplicates across tasks and makes the one commit.

1. **tasks** (one per input file, or per run of small files of one source; plain Ray tasks
   of up to a node's CPUs, see ``curata.engines.ray.task_cpus``) read with the same source
   reader as the local engine, conform rows to the run's schema (rejects kept), compute
   ``_id``, drop ids already in the dataset or repeated within the task (first occurrence
   wins), add the system columns and write Parquet shards straight into the table folder
   with ``curata.write.shards.ShardWriter``. They return the files, the row-hash sum, the 16-byte
   ids they kept, counters, rejects and the artifacts' sha256.
2. **driver**: one sort of the kept ids' high halves finds ids kept by two tasks; the later
   task's row is the duplicate (the local engine keeps the first occurrence in input order
   too). Usually there is none; otherwise a **fix-up task**
   rewrites each affected file without those rows and returns the row-hash sum it removed.
3. **commit** (driver, shielded from Ctrl-C): one Delta transaction adds every file; the
   catalog records the fingerprint from the tasks' row-hash sums, as ``Catalog.append`` does.

No row travels through the object store and no shuffle runs: per core this does the local
engine's work plus a few bytes per row (docs/scale.md, "Where the time went").

``--dedup near`` (:mod:`curata.engines.near`) first finds the near-duplicate
clusters (MinHash band shuffle, components, greedy decision in ``_id`` order) and hands the
dropped ids to the same tasks.

No task payload carries a credential: the warehouse's options travel without their secret
entries (``curata.storage.public_options``; each worker adds its own ``CURATA_STORAGE_OPTIONS``
and reads ``AWS_*`` & co. from its environment, see docs/scale.md), and a source that would
ship one (secret ``storage_options``, a password in a SQL URL) is refused before the run.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
from curata import __version__, write
from curata import fingerprint as fp
from curata._util import current_user
from curata.dedup import IdIndex, hex_halves, id_halves
from curata.engines.near import near_duplicates
from curata.engines.ray import cluster_cpus, connect, gather, node_id, task_cpus, warm_up
from curata.errors import UsageError
from curata.storage import (
    filesystem,
    join_uri,
    public_options,
    secret_options,
    storage_errors,
    worker_options,
)
from curata.write.shards import ShardWriter, WrittenFile, commit_files

from curata_ingest.conform import Conformer, target_schema
from curata_ingest.dedup import pick_text_column
from curata_ingest.report import IngestReport
from curata_ingest.run import IngestOptions, IngestRun, SourceState, prefetch, table_schema
from curata_ingest.sources import LOCATOR, Artifact, RejectSink
from curata_ingest.sources._base import FileSource

#: Input tasks per task slot when a source has many small files (runs of consecutive
#: files are grouped to about equal bytes; a file is never split).
TASKS_PER_CPU = 4
#: Retries of a task whose worker or node died (Ray's own retry of system failures).
MAX_RETRIES = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """What every task of one run shares (put in the object store once)."""

    content: pa.Schema  # the run's content schema (rows are conformed to it)
    table_schema: pa.Schema  # the records table's schema (system columns first)
    states: tuple[tuple[str, str], ...]  # per source: (uri, source_id)
    license: str
    run_id: str
    retrieved_at: datetime
    table_uri: str
    storage_options: dict[str, Any] | None  # public_options: never a credential
    dedup: str
    shard_size: int
    max_record_size: int | None
    hint: str
    threads: int = 1  # Parquet writer threads per task
    text_column: str | None = None  # --dedup near


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """One unit of read work: a whole source, or a run of files of a file source."""

    index: int
    state: int
    source: Any


@dataclass(slots=True, kw_only=True)
class TaskResult:
    """What an input task hands back to the driver (a few bytes per row)."""

    index: int
    node: str
    rows: int = 0
    bytes: int = 0
    duplicates: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)
    row_sum: dict[str, Any] = field(default_factory=dict)
    hi: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))
    lo: np.ndarray = field(default_factory=lambda: np.empty(0, np.uint64))
    read_rejects: pa.Table | None = None
    row_rejects: pa.Table | None = None
    artifacts: dict[str, tuple[str, int | None, str]] = field(default_factory=dict)
    clusters: list[dict[str, Any]] = field(default_factory=list)

    @property
    def written(self) -> int:
        return len(self.hi)


def make_tasks(states: list[SourceState], cpus: int) -> list[Task]:
    """Input tasks in input order: one per file, or runs of small consecutive files."""
    out: list[Task] = []
    for i, st in enumerate(states):
        src = st.source
        if not isinstance(src, FileSource):
            out.append(Task(index=len(out), state=i, source=src))
            continue
        for group in _file_groups(src, TASKS_PER_CPU * cpus):
            out.append(Task(index=len(out), state=i, source=_with_files(src, group)))
    return out


def _file_groups(src: FileSource, target: int) -> list[list[str]]:
    files = src.files()
    if len(files) <= target:
        return [[f] for f in files]
    try:
        sizes = [max(1, int(src.fs.size(f) or 1)) for f in files]
    except (OSError, TypeError):
        sizes = [1] * len(files)
    total, groups, acc = sum(sizes), [[]], 0
    for f, size in zip(files, sizes, strict=True):
        if groups[-1] and acc * target >= total * len(groups):
            groups.append([])
        groups[-1].append(f)
        acc += size
    return groups


def _with_files(src: FileSource, files: list[str]) -> FileSource:
    """The source restricted to ``files`` with every reader option kept (a copy, so the
    per-file reader state — artifacts hashed while reading, skipped files — starts empty)."""
    one = copy.copy(src)
    one._files = list(files)
    one._artifacts = None
    one._read = {}
    one.skipped = []
    return one


# --- task side ----------------------------------------------------------------------------


def _system_columns(job: Job, state: int, batch: pa.RecordBatch, ids: pa.Array
                    ) -> pa.RecordBatch:
    """The batch with system columns, in the table's schema (the local engine's builder,
    ``curata.write.with_system_columns``)."""
    uri, source_id = job.states[state]
    return write.with_system_columns(
        batch, job.table_schema, ids=ids, source_id=source_id, license=job.license, uri=uri,
        run_id=job.run_id, retrieved_at=job.retrieved_at, locator=batch.column(LOCATOR))


class _Reading:
    """One task's pass over its input: conformed batches with their content hashes."""

    def __init__(self, job: Job, task: Task) -> None:
        self.job, self.task = job, task
        self.read_rejects, self.row_rejects = RejectSink(), RejectSink()
        self.rows = self.bytes = 0

    def batches(self) -> Any:
        job, src = self.job, self.task.source
        conform = Conformer(job.content, max_record_size=job.max_record_size,
                            rejects=self.row_rejects, hint=job.hint)

        def advance(n: int) -> None:
            self.bytes += n

        for raw in prefetch(iter(src.batches(self.read_rejects, advance))):
            self.rows += raw.num_rows
            batch = conform(raw, src.name)
            if batch.num_rows:
                content = fp.content_hashes(batch)  # `_locator` starts with `_`: not content
                yield batch, content, content.record_hashes()

    def artifacts(self) -> dict[str, tuple[str, int | None, str]]:
        read = getattr(self.task.source, "_read", {})  # hashed while the reader went through
        return {p: (a.uri, a.size, a.sha256) for p, a in read.items()}

    def rejects(self) -> tuple[pa.Table | None, pa.Table | None]:
        return tuple(s.to_table() if len(s) else None  # type: ignore[return-value]
                     for s in (self.read_rejects, self.row_rejects))


def ingest_task(job: Job, task: Task, existing: IdIndex | None,
                near: dict[str, tuple[str, float]] | None = None) -> TaskResult:
    """Read, fingerprint, dedup within the task and against the dataset, write shards."""
    reading = _Reading(job, task)
    seen = IdIndex()
    out = TaskResult(index=task.index, node=node_id())
    his, los = [], []
    writer = None
    try:
        for batch, content, hashes in reading.batches():
            n = batch.num_rows
            hi, lo = id_halves(hashes)
            keep = np.ones(n, dtype=bool)
            if job.dedup != "off":
                keep = seen.new_rows(hi, lo)
                if existing is not None:
                    keep &= ~existing.contains(hi, lo)
            ids = fp.hex_strings(hashes)
            if near:
                keep &= _near_keep(job, task, batch, ids, keep, near, out.clusters)
            kept = int(keep.sum())
            out.duplicates += n - kept
            if not kept:
                continue
            rows = _system_columns(job, task.state, batch, ids)
            if kept < n:
                rows, content = rows.take(pa.array(np.flatnonzero(keep))), content.filter(keep)
            his.append(hi[keep])
            los.append(lo[keep])
            if writer is None:
                writer = ShardWriter(job.table_uri, job.table_schema,
                                     storage_options=worker_options(job.storage_options),
                                     target_file_size=job.shard_size, threads=job.threads)
            writer.put(rows, content)
        files = writer.close() if writer is not None else []
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    out.rows, out.bytes = reading.rows, reading.bytes
    out.files = [f.to_dict() for f in files]
    out.row_sum = (writer.row_sum if writer is not None else fp.RowHashSum()).to_json()
    if his:
        out.hi, out.lo = np.concatenate(his), np.concatenate(los)
    out.read_rejects, out.row_rejects = reading.rejects()
    out.artifacts = reading.artifacts()
    return out


def near_rows(task: Task, job: Job, existing: IdIndex | None
              ) -> Any:
    """``(ids, texts)`` of a task's rows that near dedup considers: conformed, new to the
    dataset, first occurrence within the task (as the local engine's first pass,
    ``run.IngestRun._near_pass``; a record in two tasks is one id to the clustering)."""
    seen = IdIndex()
    for batch, _, hashes in _Reading(job, task).batches():
        hi, lo = id_halves(hashes)
        keep = seen.new_rows(hi, lo)
        if existing is not None:
            keep &= ~existing.contains(hi, lo)
        rows = pa.array(np.flatnonzero(keep))
        yield (fp.hex_strings(hashes).take(rows).to_pylist(),
               batch.column(job.text_column).take(rows).to_pylist())


def warm_task() -> None:
    """Import what input tasks use (sent once per worker as the run starts)."""
    import pyarrow.json  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    from curata.write import shards  # noqa: F401

    from curata_ingest import run  # noqa: F401


def running_cluster() -> bool:
    """Whether Ray is joined already or ``RAY_ADDRESS`` names a cluster to join."""
    import os
    import sys

    ray = sys.modules.get("ray")
    return bool(os.environ.get("RAY_ADDRESS")) or (ray is not None and ray.is_initialized())


def _near_keep(job: Job, task: Task, batch: pa.RecordBatch, ids: pa.Array, keep: np.ndarray,
               near: dict[str, tuple[str, float]], clusters: list[dict[str, Any]]
               ) -> np.ndarray:
    """Rows not dropped as near duplicates; dropped ones are recorded as the local engine
    records them (``run.IngestRun._near``)."""
    out = np.ones(batch.num_rows, dtype=bool)
    locators = batch.column(LOCATOR)
    for i in np.flatnonzero(keep).tolist():
        key = ids[i].as_py()
        match = near.get(key)
        if match is None:
            continue
        out[i] = False
        clusters.append({"cluster_id": match[0], "_id": key, "similarity": match[1],
                         "source": task.source.name, "locator": locators[i].as_py()})
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class FixUp:
    """What a fix-up task did to one file: the files replacing it and the rows removed."""

    old: str
    new: list[dict[str, Any]]
    removed: dict[str, Any]
    rows: int


def fixup_task(job: Job, paths: list[str], hi: np.ndarray, lo: np.ndarray) -> list[FixUp]:
    """Rewrite the files among ``paths`` holding any of the ids ``(hi, lo)`` without those
    rows (duplicates of rows an earlier task kept)."""
    import pyarrow.parquet as pq

    drop = IdIndex()
    drop.add(hi, lo)
    fs, root = filesystem(job.table_uri, worker_options(job.storage_options))
    out = []
    for path in paths:
        full = join_uri(root, path)
        ids = pq.read_table(full, columns=["_id"], filesystem=fs).column(0)
        hit = drop.contains(*hex_halves(ids.combine_chunks()))
        if not hit.any():
            continue
        table = pq.read_table(full, filesystem=fs, schema=job.table_schema)
        removed = fp.accumulate(table.filter(pa.array(hit)).to_batches())
        kept = table.filter(pa.array(~hit))
        writer = ShardWriter(job.table_uri, job.table_schema,
                             storage_options=worker_options(job.storage_options),
                             target_file_size=job.shard_size, threads=1, hashing=False)
        try:
            for batch in kept.to_batches():
                writer.put(batch)
            files = writer.close()
        except BaseException:
            writer.abort()
            raise
        out.append(FixUp(old=path, new=[f.to_dict() for f in files], removed=removed.to_json(),
                         rows=int(hit.sum())))
    return out


# --- the driver ----------------------------------------------------------------------------


def cross_task_duplicates(results: list[TaskResult]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per task, the ids it kept that an earlier task (in input order) kept too.

    Each task's ids are unique already, so a repeat across tasks shows as an equal high half:
    one sort of all high halves finds the candidates (~0.3 s for 8M ids, where walking them
    through an ``IdIndex`` took 3 s), and only those are resolved exactly, in input order.
    """
    his = [r.hi for r in results]
    if sum(len(h) for h in his) < 2:
        return {}
    every = np.sort(np.concatenate(his))
    repeated = np.unique(every[1:][every[1:] == every[:-1]])
    if not len(repeated):
        return {}
    seen: set[tuple[int, int]] = set()
    drops: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for r in sorted(results, key=lambda r: r.index):
        rows = np.flatnonzero(np.isin(r.hi, repeated))
        pairs = list(zip(r.hi[rows].tolist(), r.lo[rows].tolist(), strict=True))
        dup = np.array([p in seen for p in pairs], dtype=bool)
        seen.update(pairs)
        if dup.any():
            drops[r.index] = (r.hi[rows[dup]], r.lo[rows[dup]])
    return drops


def ingest_ray(cat: Any, opts: IngestOptions, states: list[SourceState], started: float
               ) -> IngestReport:
    """Run an ingest on Ray; called by ``curata_ingest.ingest(engine="ray")``."""
    for st in states:
        _check_no_credentials(st.source)
    return _RayRun(cat, opts, states).execute(started)


def _check_no_credentials(source: Any) -> None:
    """Refuse a source whose task payload would carry a credential to the cluster."""
    secret = secret_options(getattr(source, "storage_options", None))
    url = getattr(source, "url", None)
    if secret or getattr(url, "password", None):
        what = f"storage_options {secret}" if secret else "a password in its URL"
        raise UsageError(
            f"--engine ray does not send credentials to the cluster (source {source.name!r} "
            f"has {what})",
            hint="Give the workers their credentials through their environment (Ray's "
                 "runtime_env env_vars: AWS_*, PGPASSWORD, ...) and drop them from the "
                 "source, or ingest with --engine local")


_PEEK_ROWS, _PEEK_BYTES = 10_000, 32 << 20


class _RayRun(IngestRun):
    """An ingest run whose stream is replaced by Ray tasks; bookkeeping (runs, sources,
    rejects, report, cancel) is the local engine's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.nodes: set[str] = set()
        self.written: list[str] = []  # files of this run, deleted if it fails
        self.replaced: list[str] = []  # files a fix-up rewrote, deleted once committed
        self.drops: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # task -> ids to remove
        self.tasks: list[Task] = []
        self.cpus = 1  # per task

    def _stats(self) -> dict[str, Any]:
        return {**super()._stats(), "engine": "ray", "ray_nodes": len(self.nodes)}

    def _write(self) -> Any:
        try:
            return self._run()
        except BaseException as exc:
            self.error = self.error or exc
            self._discard(self.written)
            raise

    def _schema(self) -> pa.Schema:
        """The run's content schema from the first rows of every source, as the local engine
        fixes it."""
        heads = []
        for st in self.states:
            rows = size = 0
            it = iter(st.source.batches(RejectSink()))
            while rows < _PEEK_ROWS and size < _PEEK_BYTES:
                b = next(it, None)
                if b is None:
                    break
                heads.append(b.schema)
                rows, size = rows + b.num_rows, size + b.nbytes
            close = getattr(it, "close", None)
            if close is not None:
                close()
        existing = self.existing.schema if self.existing is not None else None
        schema = target_schema(existing, heads, self.opts.schema_evolution)[0]
        if existing is not None and set(schema.names) - set(existing.names):
            # Shards are committed by a transaction, which cannot change a table's schema.
            raise UsageError("new columns (--schema-evolution merge) are added by the local "
                             "engine only: run this ingest with --engine local")
        return schema

    def _job(self, content: pa.Schema, cpus: int) -> Job:
        opts, cat = self.opts, self.cat
        existing = self.existing.schema if self.existing is not None else None
        self.table_schema = table_schema(existing, content)
        hint = ("; pass --schema-evolution merge" if opts.schema_evolution == "none"
                else "; it appeared after the schema was fixed: ingest it in its own run")
        return Job(content=content, table_schema=self.table_schema,
                   states=tuple((st.uri, st.source_id) for st in self.states),
                   license=opts.license, run_id=self.run_id, retrieved_at=self.retrieved_at,
                   table_uri=cat.table_uri(opts.dataset),
                   storage_options=public_options(cat.storage_options), dedup=opts.dedup,
                   shard_size=opts.shard_size or write.DEFAULT_TARGET_FILE_SIZE,
                   max_record_size=opts.max_record_size, hint=hint,
                   threads=cpus,
                   text_column=self.text_column)

    def _run(self) -> Any:
        # A running cluster (RAY_ADDRESS) is joined first, and its workers start importing
        # while this process reads the schema; a new local cluster is started only once the
        # run is known not to be refused.
        if running_cluster():
            ray = connect()
            warm_up(ray, warm_task, num_cpus=task_cpus(ray))
        content = self._schema()
        if self.opts.dedup == "near":
            self.text_column = _near_column(content, self.opts.text_column)
        ray = connect()
        self.cpus = task_cpus(ray)
        slots = max(1, cluster_cpus(ray) // self.cpus)
        tasks = self.tasks = make_tasks(self.states, slots)
        job_ref = ray.put(self._job(content, self.cpus))
        existing = self._existing_ids(ray)
        near = None
        if self.text_column is not None:  # decided before any row is written, as locally
            near = ray.put(near_duplicates(
                ray, near_rows, tasks, threshold=self.opts.threshold, cpus=cluster_cpus(ray),
                context=(job_ref, existing), max_retries=MAX_RETRIES))
        results = self._read_and_write(ray, job_ref, tasks, existing, near)
        self._check_ratio()  # after the rejects are in: a failed run commits nothing
        files, acc = self._fix_duplicates(ray, job_ref, results)
        if not files:
            return self.existing
        return self._commit(files, acc)

    def _read_and_write(self, ray: Any, job_ref: Any, tasks: list[Task], existing: Any,
                        near: Any) -> list[TaskResult]:
        """Run the input tasks, then find ids kept by more than one of them."""
        # SPREAD (Ray's documented strategy for data-parallel tasks): input tasks go to every
        # node, rather than packing the node the driver is on while it is not yet busy
        remote = ray.remote(ingest_task).options(num_cpus=self.cpus, max_retries=MAX_RETRIES,
                                                 scheduling_strategy="SPREAD")
        refs = [remote.remote(job_ref, t, existing, near) for t in tasks]

        def arrived(i: int, res: TaskResult) -> None:
            self.written.extend(f["path"] for f in res.files)
            self.nodes.add(res.node)
            self._absorb(tasks[i], res)

        results = gather(refs, arrived)
        if self.opts.dedup != "off":
            self.drops = cross_task_duplicates(results)
        return results

    def _absorb(self, task: Task, res: TaskResult) -> None:
        st = self.states[task.state]
        st.rows += res.rows
        st.written += res.written
        st.duplicates += res.duplicates
        self.bytes_read += res.bytes
        for sink, table in ((st.read_rejects, res.read_rejects), (st.row_rejects, res.row_rejects)):
            for r in (table.to_pylist() if table is not None else []):
                sink.add(reason=r["reason"], source=r["source"], locator=r["locator"],
                         raw=r["raw"] or b"", detail=r["detail"] or "",
                         truncated=bool(r["raw_truncated"]))
        read = getattr(st.source, "_read", None)
        if read is not None:  # hashed on the worker: `artifacts()` need not read them again
            for path, (uri, size, sha) in res.artifacts.items():
                read[path] = Artifact(uri=uri, size=size, sha256=sha)
        if self.opts.progress:
            self.opts.progress(res.bytes, res.rows)

    def _fix_duplicates(self, ray: Any, job_ref: Any, results: list[TaskResult]
                        ) -> tuple[list[dict[str, Any]], fp.RowHashSum]:
        """Every file to commit and their row-hash sum, after fix-up tasks removed the rows
        that repeat an id an earlier task kept."""
        files = {f["path"]: f for r in results for f in r.files}
        acc = fp.RowHashSum()
        for r in results:
            acc = acc + fp.RowHashSum.from_json(r.row_sum)
        self.clusters = _first_per_id([c for r in results for c in r.clusters])
        if not self.drops:
            return sorted(files.values(), key=lambda f: f["path"]), acc
        remote = ray.remote(fixup_task).options(num_cpus=self.cpus, max_retries=MAX_RETRIES)
        refs = [remote.remote(job_ref, [f["path"] for f in results[i].files], hi, lo)
                for i, (hi, lo) in sorted(self.drops.items())]
        for (i, (hi, _)), fixes in zip(sorted(self.drops.items()), gather(refs), strict=True):
            st = self.states[self.tasks[i].state]
            st.written -= len(hi)
            st.duplicates += len(hi)
            for fix in fixes:
                del files[fix.old]
                self.replaced.append(fix.old)
                self.written.extend(f["path"] for f in fix.new)
                files.update({f["path"]: f for f in fix.new})
                acc = acc - fp.RowHashSum.from_json(fix.removed)
        return sorted(files.values(), key=lambda f: f["path"]), acc

    def _existing_ids(self, ray: Any) -> Any:
        if self.opts.dedup == "off" or self.existing is None:
            return None
        index = IdIndex()
        for batch in self.existing.to_batches(columns=["_id"]):
            index.add(*hex_halves(batch.column(0)))
        index.bits = np.empty(0, np.uint8)  # tasks only ask `contains`: no filter needed
        return ray.put(index)

    def _commit(self, files: list[dict[str, Any]], acc: fp.RowHashSum) -> Any:
        """ONE Delta commit adding every shard, then the catalog record of the version."""
        cat, dataset = self.cat, self.opts.dataset
        meta = {"curata.run_id": self.run_id, "curata.user": current_user(),
                "curata.version": __version__, "curata.operation": "append",
                "curata.ingest": "1", "curata.engine": "ray"}
        # The point of no return: from the commit to the run's last record, an interrupt waits.
        self.shield.enter()
        with storage_errors(cat.table_uri(dataset)):
            commit_files(cat.store, dataset, self.table_schema,
                         [WrittenFile.from_dict(f) for f in files], meta,
                         retries=write.COMMIT_RETRIES)
        self.written = []  # committed: nothing to clean up any more
        version = write.find_commit(cat.store, dataset, self.run_id)
        write.record_appended(cat.store, dataset, version, acc, operation="append",
                              run_id=self.run_id)
        self._discard(self.replaced)  # files a fix-up rewrote: never committed
        return cat.snapshot(f"{dataset}@{version}")

    def _discard(self, paths: list[str]) -> None:
        """Delete files this run wrote but did not commit (else left for ``curata gc``)."""
        if not paths:
            return
        fs, root = filesystem(self.cat.table_uri(self.opts.dataset), self.cat.storage_options)
        for path in paths:
            with contextlib.suppress(OSError):
                fs.delete_file(join_uri(root, path))


def _first_per_id(clusters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One cluster row per dropped id: the first in input order (a later copy of the same
    record is an exact duplicate at the local engine, not recorded again)."""
    seen: set[str] = set()
    out = []
    for c in clusters:
        if c["_id"] not in seen:
            seen.add(c["_id"])
            out.append(c)
    return out


def _near_column(content: pa.Schema, preferred: str | None) -> str:
    column = pick_text_column(content, preferred)
    if column is None:
        raise UsageError(
            f"--dedup near needs a text column (string columns: none named {preferred!r})"
            if preferred else "--dedup near needs a text column and the data has no string "
                              "column")
    return column
