"""``derive(..., engine="ray")``: the local engine's derivation, computed by Ray tasks over
the source snapshot's Parquet files.

The source version's files are cut into parts (runs of consecutive files in the order the
local engine reads them, about equal bytes, a few per task slot). Every step kind the Ray
engine runs is either **row-wise** (``filter``, ``select``, ``rename``, ``apply``,
``split``, ``sample``, ``join``, ``language``, ``quality``, ``pii``, ``decontaminate``: a
row's output depends on that row alone, so each task runs them on its own batches) or
**global** (``dedup``, text ``near_dedup``: which copy survives depends on every row). A
global step is decided by the driver from what the tasks return, then replayed in the tasks
as a filter (:class:`Decided`):

1. per global step, in pipeline order, **key tasks** run the steps before it (earlier global
   steps as decided) on their part and return a few bytes per row:

   * ``dedup``: per ``_id`` the smallest full-row hash (16 + 16 bytes) and whether the part
     holds other rows under that id. The driver keeps, per id, the row of smallest hash in
     the first part holding it (the local engine's rule: smallest hash, first occurrence);
   * ``near_dedup``: the clusters of :func:`curata.engines.near.near_duplicates` (the local
     engine's ``NearDuplicateIndex`` decisions in ``_id`` order, without one process holding
     every signature), plus the ids of each part when an id may repeat across parts (the
     local engine emits the first occurrence of a kept id only);

2. **write tasks** run the whole pipeline, add the system columns and the row-hash sum
   exactly as the local stream does (``curata.transforms.derive_stream``) and write Parquet
   shards into the target table's folder (``curata.write.shards.ShardWriter``);
3. the **driver** commits every shard in ONE Delta overwrite transaction (shielded from
   Ctrl-C) and ``curata.transforms.derivation`` records version, fingerprint, lineage and
   run as for the local engine. A failure commits nothing and deletes the shards written.

What a step reads besides its batches (a joined snapshot, decontamination n-gram indexes) is
built once on the driver (``Step.preload``) and shared with the tasks through the object
store. ``apply`` functions travel by value (cloudpickle), so workers need not import the
modules that registered them; a function that does not pickle is refused up front, as is
any step kind that is not known to be row-wise or one of the global steps above (image
``near_dedup``, custom ``Step`` subclasses): :func:`check` raises ``UsageError`` before the
cluster starts. Row-wise means per row: an ``apply`` function or ``filter`` expression whose
result for a row depends on the other rows of its batch (a rank, a mean) gives other results
than the local engine, whose batches are cut elsewhere.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote

import numpy as np
import pyarrow as pa

from curata import fingerprint as fp
from curata import interrupt, write
from curata._util import utcnow
from curata.dedup import IdIndex, hex_halves, id_halves
from curata.engines.near import near_duplicates
from curata.engines.ray import cluster_cpus, connect, gather, node_id, require_ray, task_cpus
from curata.errors import CurataError, UsageError
from curata.quality.decontaminate import Decontaminate
from curata.quality.steps import Language, Pii, Quality
from curata.storage import filesystem, join_uri, public_options, storage_errors, worker_options
from curata.store import Store
from curata.transforms import derive_stream as stream
from curata.transforms.dedup import Dedup, NearDedup
from curata.transforms.errors import PipelineError, StepFailedError
from curata.transforms.pipeline import Pipeline
from curata.transforms.registry import register
from curata.transforms.steps import (
    Apply,
    Context,
    Filter,
    Join,
    Rename,
    Sample,
    Select,
    Split,
    Step,
    Upstream,
)
from curata.write.shards import ShardWriter, WrittenFile, commit_files

if TYPE_CHECKING:
    import polars as pl

    from curata.snapshot import Snapshot

#: Steps whose output for a row depends on that row alone: each task runs them on its part.
ROW_WISE: tuple[type[Step], ...] = (Filter, Select, Rename, Apply, Split, Sample, Join,
                                    Language, Quality, Pii, Decontaminate)
#: Steps decided by the driver from keys the tasks return.
GLOBAL: tuple[type[Step], ...] = (Dedup, NearDedup)
#: Parts per task slot (runs of consecutive files; a file is never split).
PARTS_PER_SLOT = 4
#: Retries of a task whose worker or node died (Ray's own retry of system failures).
MAX_RETRIES = 3
#: How long a failed derive waits for its other write tasks to stop and clean up.
SETTLE_SECONDS = 30.0


# --- refusing up front ----------------------------------------------------------------------


def check(pipe: Pipeline) -> None:
    """Refuse, before any cluster starts, a pipeline the Ray engine cannot run as the local
    engine would: Ray missing, a step kind that is neither row-wise nor a global step it
    decides, an ``apply`` function that cannot be sent to the workers.

    Raises:
        UsageError: naming the step and ``--engine local``.
    """
    require_ray()
    for i, step in enumerate(pipe.steps):
        if type(step) not in ROW_WISE + GLOBAL:
            why = ("image near-duplicate clustering (method phash) needs every perceptual hash "
                   "in one process" if step.name == "near_dedup:phash" else
                   "the Ray engine runs only the built-in step kinds it knows to be row-wise, "
                   "dedup and text near_dedup")
            raise UsageError(f"step {i} ({step.name}) cannot run on the Ray engine: {why}",
                             hint="run this derive with --engine local")
    ship(pipe)


def ship(pipe: Pipeline) -> bytes:
    """The pipeline's steps and the functions its ``apply`` steps name, pickled for the
    workers; the functions' own modules by value (the workers may not have them)."""
    import ray.cloudpickle as cloudpickle

    functions = {s.fn: s.function for s in pipe.steps
                 if isinstance(s, Apply) and isinstance(s.fn, str)}
    callables = [(i, s) for i, s in enumerate(pipe.steps) if isinstance(s, Apply)]
    modules = {getattr(s.function, "__module__", None) for _, s in callables}
    by_value = [sys.modules[m] for m in sorted(m for m in modules if m) if m in sys.modules
                and m != "__main__" and m.split(".")[0] != "curata"
                and m not in cloudpickle.list_registry_pickle_by_value()]
    for module in by_value:
        cloudpickle.register_pickle_by_value(module)
    try:
        for i, s in callables:
            try:
                cloudpickle.dumps(s.function)
            except Exception as exc:
                raise UsageError(f"step {i} ({s.name}): its function cannot be sent to Ray "
                                 f"workers ({type(exc).__name__}: {exc})",
                                 hint="make it picklable, or run this derive with "
                                      "--engine local") from None
        return cloudpickle.dumps((list(pipe.steps), functions))
    finally:
        for module in by_value:
            cloudpickle.unregister_pickle_by_value(module)


# --- what tasks share ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """What every task of one derive shares (put in the object store once)."""

    steps: bytes  # ship(pipe)
    source_uri: str
    source_schema: pa.Schema  # the source version's schema (older files read with nulls)
    source_options: dict[str, Any] | None  # public_options: never a credential
    into: str
    target_uri: str
    target_options: dict[str, Any] | None
    run_id: str
    retrieved_at: datetime
    batch_size: int
    shard_size: int
    low_cardinality: frozenset[str]
    threads: int = 1


@dataclass(frozen=True, slots=True)
class Part:
    """Consecutive files of the source version (paths as the Delta log spells them)."""

    index: int
    files: tuple[str, ...]


def make_parts(files: Sequence[Mapping[str, Any]], target: int) -> list[Part]:
    """At most ``target`` runs of consecutive files of about equal bytes, in file order."""
    if len(files) <= target:
        return [Part(i, (f["path"],)) for i, f in enumerate(files)]
    sizes = [max(1, int(f.get("size") or 1)) for f in files]
    total, groups, acc = sum(sizes), [[]], 0
    for f, size in zip(files, sizes, strict=True):
        if groups[-1] and acc * target >= total * len(groups):
            groups.append([])
        groups[-1].append(f["path"])
        acc += size
    return [Part(i, tuple(g)) for i, g in enumerate(groups)]


# --- task side ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Decided(Step):
    """A global step as the driver decided it, for one part: rows whose id is in ``table``
    are dropped (``win`` false) or, with ``by_row``, kept only as the row whose full-row hash
    is ``rh``/``rl`` (``win`` true); then the first occurrence of each id is kept."""

    step_name: str
    table: Any  # polars.DataFrame: hi, lo (the id's halves), win[, rh, rl]; or None
    by_row: bool = False
    kind: ClassVar[str] = "decided"
    changes_content: ClassVar[bool] = False

    @property
    def name(self) -> str:
        return self.step_name

    def spec(self) -> dict[str, Any]:  # pragma: no cover - never fingerprinted
        raise NotImplementedError("a decided step exists only inside a Ray task")

    def run(self, upstream: Upstream, ctx: Context) -> Iterator[pl.DataFrame]:
        import polars as pl

        seen = IdIndex(filter_bits=20)
        for df in upstream():
            if not df.height:
                yield df
                continue
            hi, lo = id_keys(df)
            keep = np.ones(df.height, dtype=bool)
            if self.table is not None and self.table.height:
                keys = pl.DataFrame({"hi": hi, "lo": lo})
                if self.by_row:
                    rh, rl = id_halves(fp.row_hashes(df.to_arrow()))
                    keys = keys.with_columns(pl.Series("rh0", rh), pl.Series("rl0", rl))
                found = keys.join(self.table, on=["hi", "lo"], how="left",
                                  maintain_order="left")
                ok = found.get_column("win").is_null()
                if self.by_row:
                    ok = ok | (found.get_column("win").fill_null(False)
                               & (found.get_column("rh") == found.get_column("rh0"))
                               & (found.get_column("rl") == found.get_column("rl0")))
                keep = ok.to_numpy().astype(bool, copy=True)
            rows = np.flatnonzero(keep)
            first = seen.new_rows(hi[rows], lo[rows])
            keep[rows[~first]] = False
            yield df if keep.all() else df.filter(pl.Series(keep, dtype=pl.Boolean))


def id_keys(df: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The (hi, lo) uint64 halves of the frame's ``_id`` values (32 hex characters)."""
    import polars as pl

    raw = df.get_column("_id").str.decode("hex").to_arrow(compat_level=pl.CompatLevel.oldest())
    return id_halves(raw.cast(pa.binary()).cast(pa.binary(16)))


def _steps(job: Job) -> list[Step]:
    """The pipeline's steps, unpickled; the ``apply`` functions registered in this worker."""
    import ray.cloudpickle as cloudpickle

    steps, functions = cloudpickle.loads(job.steps)
    for name, fn in functions.items():
        register(name)(fn)
    return steps


def _source(job: Job, part: Part, stats: dict[str, Any] | None) -> Upstream:
    """The part's rows as Polars frames, read with the version's schema (as the local
    engine's Delta scan: a column added after a file was written reads as null)."""
    def frames() -> Iterator[pl.DataFrame]:
        import polars as pl
        import pyarrow.dataset as pads

        if stats is not None:
            stats["rows_in"] = 0
        fs, root = filesystem(job.source_uri, worker_options(job.source_options))
        for path in part.files:
            ds = pads.dataset(join_uri(root, unquote(path)), schema=job.source_schema,
                              format="parquet", filesystem=fs)
            for batch in ds.to_batches(batch_size=job.batch_size):
                df = pl.from_arrow(batch)
                assert isinstance(df, pl.DataFrame)
                if stats is not None:
                    stats["rows_in"] += df.height
                yield df

    return frames


def frames(job: Job, part: Part, upto: int | None, preloaded: Mapping[int, Any],
           decisions: Mapping[int, Sequence[Any]], stats: dict[str, Any] | None = None
           ) -> Iterator[pl.DataFrame]:
    """The part's frames out of the first ``upto`` steps (all: ``None``), global steps
    replaced by the driver's decisions for this part."""
    steps = _steps(job)
    ctx = Context()
    for i, value in preloaded.items():
        steps[i].adopt(ctx, value)
    run: list[Step] = []
    for i, step in enumerate(steps[:upto]):
        if i in decisions:
            table = decisions[i][part.index]
            run.append(Decided(step.name, table, by_row=isinstance(step, Dedup)))
        else:
            run.append(step)
    return Pipeline(run).run(_source(job, part, stats), ctx, stats)


@dataclass(slots=True, kw_only=True)
class Keys:
    """What a key task returns for one part: ids (two uint64 halves each) and, for
    ``dedup``, each id's smallest full-row hash and whether the part holds another row."""

    index: int
    hi: np.ndarray
    lo: np.ndarray
    rh: np.ndarray | None = None
    rl: np.ndarray | None = None
    multi: np.ndarray | None = None


def key_task(job: Job, part: Part, upto: int, by_row: bool, preloaded: Mapping[int, Any],
             decisions: Mapping[int, Sequence[Any]]) -> Keys:
    """The distinct ids of the part at step ``upto`` (with ``by_row``: with their smallest
    full-row hash, as ``dedup`` chooses)."""
    his, los, rhs, rls = [], [], [], []
    for df in frames(job, part, upto, preloaded, decisions):
        if not df.height:
            continue
        hi, lo = id_keys(df)
        his.append(hi)
        los.append(lo)
        if by_row:
            rh, rl = id_halves(fp.row_hashes(df.to_arrow()))
            rhs.append(rh)
            rls.append(rl)
    empty = np.empty(0, np.uint64)
    hi = np.concatenate(his) if his else empty
    lo = np.concatenate(los) if los else empty
    if not by_row:
        order = np.lexsort((lo, hi))
        hi, lo = hi[order], lo[order]
        first = _starts(hi, lo)
        return Keys(index=part.index, hi=hi[first], lo=lo[first])
    rh = np.concatenate(rhs) if rhs else empty
    rl = np.concatenate(rls) if rls else empty
    order = np.lexsort((rl, rh, lo, hi))
    hi, lo, rh, rl = hi[order], lo[order], rh[order], rl[order]
    first = _starts(hi, lo)
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], len(hi)) - 1
    multi = (rh[starts] != rh[ends]) | (rl[starts] != rl[ends])
    return Keys(index=part.index, hi=hi[starts], lo=lo[starts], rh=rh[starts], rl=rl[starts],
                multi=multi)


def _starts(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Mask of the first row of each run of equal ids in (hi, lo)-sorted arrays."""
    out = np.ones(len(hi), dtype=bool)
    out[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
    return out


def near_rows(part: Part, job: Job, upto: int, column: str, preloaded: Mapping[int, Any],
              decisions: Mapping[int, Sequence[Any]]) -> Iterator[tuple[list[str], list[Any]]]:
    """``(ids, texts)`` of the part at the ``near_dedup`` step ``upto`` (what its local
    first pass reads; ``curata.engines.near`` skips empty and null texts)."""
    import polars as pl

    for df in frames(job, part, upto, preloaded, decisions):
        if column not in df.columns:
            raise PipelineError(f"no column {column!r}", kind="near_dedup", valid=df.columns)
        yield (df.get_column("_id").to_list(),
               df.get_column(column).cast(pl.String).to_list())


@dataclass(slots=True, kw_only=True)
class Written:
    """What a write task hands back: its shards, their row-hash sum, its schemas, counts."""

    index: int
    node: str
    files: list[dict[str, Any]] = field(default_factory=list)
    row_sum: dict[str, Any] = field(default_factory=dict)
    schema: pa.Schema | None = None  # of the shards (that of its first non-empty batch)
    first: pa.Schema | None = None  # of its first frame, empty or not
    stats: dict[str, Any] = field(default_factory=dict)


def write_task(job: Job, part: Part, preloaded: Mapping[int, Any],
               decisions: Mapping[int, Sequence[Any]]) -> Written:
    """The whole pipeline over the part, written as shards of the target table."""
    stats: dict[str, Any] = {}
    schema_box: list[pa.Schema] = []
    prep = stream.prepare(job.into, job.run_id, job.retrieved_at)
    batches = stream.prepared(
        prep, stream.arrow_batches(frames(job, part, None, preloaded, decisions, stats),
                                   schema_box), job.into, job.low_cardinality)
    writer = None
    try:
        for batch in stream.prefetch(batches):
            if writer is None:
                writer = ShardWriter(job.target_uri, prep.schema,
                                     storage_options=worker_options(job.target_options),
                                     target_file_size=job.shard_size, threads=job.threads,
                                     hashing=False)
            writer.put(batch)
        files = writer.close() if writer is not None else []
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    return Written(index=part.index, node=node_id(), files=[f.to_dict() for f in files],
                   row_sum=prep.acc.to_json(), schema=prep.schema,
                   first=schema_box[0] if schema_box else None, stats=stats)


def conform_task(job: Job, paths: list[str], schema: pa.Schema
                 ) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """Rewrite shards in ``schema`` (a part whose first batch had other types than the first
    part's; the local engine conforms every batch to its first one): the new files, and the
    row-hash sums of the rows before and after."""
    import pyarrow.parquet as pq

    fs, root = filesystem(job.target_uri, worker_options(job.target_options))
    writer = ShardWriter(job.target_uri, schema,
                         storage_options=worker_options(job.target_options),
                         target_file_size=job.shard_size, threads=1, hashing=False)
    before, after = fp.RowHashSum(), fp.RowHashSum()
    try:
        for path in paths:
            for batch in pq.read_table(join_uri(root, path), filesystem=fs).to_batches():
                before = before + fp.row_sum(batch)
                out = write.conform(batch, schema, job.into)
                after = after + fp.row_sum(out)
                writer.put(out)
        files = writer.close()
    except BaseException:
        writer.abort()
        raise
    return [f.to_dict() for f in files], before.to_json(), after.to_json()


# --- the driver -----------------------------------------------------------------------------


def decide_dedup(keys: list[Keys]) -> list[Any]:
    """Per part, the table of :class:`Decided` for a ``dedup``: ids held by more than one
    part, or by rows of different content within one, with whether this part keeps the id
    and the full-row hash of the row it keeps (the smallest; the first part holding it)."""
    import polars as pl

    part = np.concatenate([np.full(len(k.hi), k.index, np.int64) for k in keys])
    hi = np.concatenate([k.hi for k in keys])
    lo = np.concatenate([k.lo for k in keys])
    rh = np.concatenate([k.rh for k in keys])  # type: ignore[misc]
    rl = np.concatenate([k.rl for k in keys])  # type: ignore[misc]
    multi = np.concatenate([k.multi for k in keys])  # type: ignore[misc]
    order = np.lexsort((part, rl, rh, lo, hi))
    part, hi, lo, rh, rl, multi = (a[order] for a in (part, hi, lo, rh, rl, multi))
    first = _starts(hi, lo)
    group = np.cumsum(first) - 1
    sizes = np.bincount(group)
    contested = ((sizes > 1) | multi[first])[group]
    rows = np.flatnonzero(contested)
    win = first[rows]
    win_rh = rh[np.flatnonzero(first)][group[rows]]
    win_rl = rl[np.flatnonzero(first)][group[rows]]
    out = []
    for k in keys:
        mine = part[rows] == k.index
        out.append(pl.DataFrame({
            "hi": hi[rows][mine], "lo": lo[rows][mine], "win": win[mine],
            "rh": win_rh[mine], "rl": win_rl[mine]}) if mine.any() else None)
    return out


def decide_near(dropped: Mapping[str, Any], keys: list[Keys] | None, parts: int) -> list[Any]:
    """Per part, the table of :class:`Decided` for a ``near_dedup``: the near duplicates,
    and (with ``keys``) the ids an earlier part holds too."""
    import polars as pl

    d_hi, d_lo = (hex_halves(pa.array(list(dropped), pa.string())) if dropped
                  else (np.empty(0, np.uint64), np.empty(0, np.uint64)))
    if keys is None:  # ids are unique here: one table of the near duplicates for every part
        shared = pl.DataFrame({"hi": d_hi, "lo": d_lo, "win": np.zeros(len(d_hi), bool)})
        return [shared] * parts
    gone = IdIndex(filter_bits=20)
    gone.add(d_hi, d_lo)
    part = np.concatenate([np.full(len(k.hi), k.index, np.int64) for k in keys])
    hi = np.concatenate([k.hi for k in keys])
    lo = np.concatenate([k.lo for k in keys])
    order = np.lexsort((part, lo, hi))
    part, hi, lo = part[order], hi[order], lo[order]
    drop = ~_starts(hi, lo) | gone.contains(hi, lo)
    out = []
    for k in keys:
        mine = drop & (part == k.index)
        out.append(pl.DataFrame({"hi": hi[mine], "lo": lo[mine],
                                 "win": np.zeros(int(mine.sum()), bool)})
                   if mine.any() else None)
    return out


def _ids_unique_before(steps: Sequence[Step], index: int) -> bool:
    """Whether ids are unique at step ``index``: an earlier global step, and only steps that
    keep ids (no content change) after it."""
    for step in reversed(steps[:index]):
        if isinstance(step, GLOBAL):
            return True
        if step.changes_content:
            return False
    return False


def compute(store: Store, src: Snapshot, pipe: Pipeline, ctx: Context, into: str, *,
            run_id: str, batch_size: int, stats: dict[str, Any], shield: interrupt.Shield
            ) -> tuple[int, fp.RowHashSum]:
    """Compute and commit the derived version on Ray; returns it and its row-hash sum
    (``curata.transforms.derivation`` records it). ``stats``: the local engine's counts."""
    blob = ship(pipe)
    _check_source(src)
    preloaded = {i: v for i, s in enumerate(pipe.steps) if (v := s.preload(ctx)) is not None}
    ray = connect()
    try:
        return _Run(ray, store, src, pipe, into, run_id).execute(blob, preloaded, batch_size,
                                                                  stats, shield)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, CurataError):  # raised by a step in a task: the same error
            raise cause from None
        raise


def _check_source(src: Snapshot) -> None:
    """Tasks read the version's Parquet files themselves: refuse a table whose files alone do
    not describe it (written by another Delta engine with partitions, deletion vectors or
    column mapping; Curata writes none of these)."""
    dt = src.delta_table()
    features = {"deletionVectors", "columnMapping"} & set(dt.protocol().reader_features or ())
    if features or dt.metadata().partition_columns:
        what = sorted(features) or ["partition columns"]
        raise UsageError(f"{src.ref} uses {', '.join(what)}, which the Ray engine does not "
                         "read", hint="run this derive with --engine local")


class _Run:
    def __init__(self, ray: Any, store: Store, src: Snapshot, pipe: Pipeline, into: str,
                 run_id: str) -> None:
        self.ray, self.store, self.src, self.pipe = ray, store, src, pipe
        self.into, self.run_id = into, run_id
        self.cpus = task_cpus(ray)
        self.written: list[str] = []  # shards of this run, deleted unless committed
        self.replaced: list[str] = []  # shards rewritten by conform tasks, never committed
        self.opts = {"num_cpus": self.cpus, "max_retries": MAX_RETRIES}

    def execute(self, blob: bytes, preloaded: dict[int, Any], batch_size: int,
                stats: dict[str, Any], shield: interrupt.Shield) -> tuple[int, fp.RowHashSum]:
        ray, src = self.ray, self.src
        slots = max(1, cluster_cpus(ray) // self.cpus)
        parts = make_parts(src.files(), PARTS_PER_SLOT * slots)
        job = Job(steps=blob, source_uri=src.table_uri, source_schema=src.schema,
                  source_options=public_options(src.storage_options), into=self.into,
                  target_uri=self.store.table_uri(self.into),
                  target_options=public_options(self.store.storage_options),
                  run_id=self.run_id, retrieved_at=utcnow(), batch_size=batch_size,
                  shard_size=write.DEFAULT_TARGET_FILE_SIZE,
                  low_cardinality=stream.low_cardinality(self.pipe), threads=self.cpus)
        job_ref, pre_ref = ray.put(job), ray.put(preloaded)
        try:
            decisions = self._decide(job_ref, pre_ref, parts) if parts else {}
            results = self._write(job_ref, pre_ref, ray.put(decisions), parts)
            files, schema, acc = self._conform(job_ref, results)
            _merge_stats(stats, results)
            if not files:  # no row survived: an empty version, as the local engine commits
                first = [r.first for r in results if r.first is not None]
                version = stream.overwrite(
                    self.store, self.into, stream.prepare(self.into, self.run_id), iter(()),
                    first[:1], run_id=self.run_id, shield=shield, engine="ray")
                return version, fp.RowHashSum()
            shield.enter()  # the point of no return: the commit and its records
            with storage_errors(self.store.table_uri(self.into)):
                commit_files(self.store, self.into, schema,
                             [WrittenFile.from_dict(f) for f in files],
                             stream.commit_meta(self.run_id, engine="ray"),
                             retries=write.COMMIT_RETRIES, mode="overwrite")
            self.written = self.replaced  # committed: only the rewritten shards are left
            return write.find_commit(self.store, self.into, self.run_id), acc
        finally:
            self._discard(self.written)

    def _decide(self, job_ref: Any, pre_ref: Any, parts: list[Part]) -> dict[int, list[Any]]:
        """Each global step's decision, in pipeline order (later ones see earlier ones)."""
        ray, steps = self.ray, self.pipe.steps
        decisions: dict[int, list[Any]] = {}
        for g, step in enumerate(steps):
            if not isinstance(step, GLOBAL):
                continue
            dec_ref = ray.put(decisions)
            key = ray.remote(key_task).options(**self.opts)
            if isinstance(step, Dedup):
                keys = gather([key.remote(job_ref, p, g, True, pre_ref, dec_ref) for p in parts])
                decisions = {**decisions, g: decide_dedup(keys)}
                continue
            assert isinstance(step, NearDedup)
            keys = None
            if not _ids_unique_before(steps, g):
                keys = gather([key.remote(job_ref, p, g, False, pre_ref, dec_ref)
                               for p in parts])
            dropped = near_duplicates(
                ray, near_rows, parts, threshold=step.threshold, num_perm=step.num_perm,
                seed=step.seed, cpus=cluster_cpus(ray),
                context=(job_ref, g, step.column, pre_ref, dec_ref), max_retries=MAX_RETRIES)
            decisions = {**decisions, g: decide_near(dropped, keys, len(parts))}
        return decisions

    def _write(self, job_ref: Any, pre_ref: Any, dec_ref: Any, parts: list[Part]
               ) -> list[Written]:
        remote = self.ray.remote(write_task).options(**self.opts)

        def arrived(_: int, res: Written) -> None:
            self.written.extend(f["path"] for f in res.files)

        # On a failure the other write tasks are interrupted gently: each deletes what it
        # wrote, and the shards of tasks that still finish are deleted by ``execute``.
        return gather([remote.remote(job_ref, p, pre_ref, dec_ref) for p in parts], arrived,
                      settle=SETTLE_SECONDS)

    def _conform(self, job_ref: Any, results: list[Written]
                 ) -> tuple[list[dict[str, Any]], pa.Schema | None, fp.RowHashSum]:
        """Every shard to commit in the schema of the first part's first batch (as the
        local engine conforms its stream), and their row-hash sum."""
        firsts = [r.first for r in results if r.first is not None]
        for other in firsts[1:]:
            if other.names != firsts[0].names:
                raise StepFailedError("pipeline", reason=f"batches disagree on columns: "
                                                         f"{firsts[0].names} then {other.names}")
        acc = fp.RowHashSum()
        for r in results:
            acc = acc + fp.RowHashSum.from_json(r.row_sum)
        schemas = [r.schema for r in results if r.schema is not None]
        if not schemas:
            return [], None, acc
        target = schemas[0]
        files = [f for r in results for f in r.files]
        odd = [r for r in results
               if r.schema is not None and not r.schema.equals(target, check_metadata=False)]
        if odd:
            remote = self.ray.remote(conform_task).options(**self.opts)
            fixed = gather([remote.remote(job_ref, [f["path"] for f in r.files], target)
                            for r in odd])
            self.replaced = [f["path"] for r in odd for f in r.files]
            files = [f for f in files if f["path"] not in set(self.replaced)]
            for new, before, after in fixed:
                self.written.extend(f["path"] for f in new)
                files.extend(new)
                acc = acc - fp.RowHashSum.from_json(before) + fp.RowHashSum.from_json(after)
        return sorted(files, key=lambda f: f["path"]), target, acc

    def _discard(self, paths: list[str]) -> None:
        """Delete shards this run wrote but did not commit (else left for ``curata gc``)."""
        if not paths:
            return
        fs, root = filesystem(self.store.table_uri(self.into), self.store.storage_options)
        for path in paths:
            with contextlib.suppress(OSError):
                fs.delete_file(join_uri(root, path))


def _merge_stats(stats: dict[str, Any], results: list[Written]) -> None:
    """The tasks' counts summed: ``rows_in`` and rows out of each step, as locally."""
    for r in results:
        for key, n in r.stats.items():
            stats[key] = stats.get(key, 0) + n

