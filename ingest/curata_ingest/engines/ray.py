"""The Ray Data ingest engine: the heavy per-file work runs as Ray tasks, one commit at the end.

Stages (each a Ray Data operator, so they run wherever the cluster has CPUs):

1. **read + fingerprint**: one task per input file (or per non-file source) reads it with the
   same source reader as the local engine, conforms rows to the run's schema (rejects kept)
   and computes the record fingerprint ``_id``. It also emits one ``meta`` row carrying its
   counters and rejects.
2. **dedup + write**: rows are grouped by a hash bucket of ``_id``; each bucket drops ids
   seen earlier (in the dataset, or earlier in input order: the local engine keeps the first
   occurrence, so this one does too), adds the system columns and writes Parquet shards
   straight into the dataset's ``records`` table folder (local or object storage).
3. **commit** (driver): one Delta commit adds every shard; the catalog records the version's
   fingerprint from the row-hash sums the tasks returned, exactly as ``Catalog.append`` does.

The snapshot fingerprint equals the local engine's on the same input, run id and retrieval
time. ``--dedup near`` needs one global MinHash index and stays on the local engine.

No task payload carries a credential: the warehouse's options travel without their secret
entries (``curata.storage.public_options``; each worker adds its own ``CURATA_STORAGE_OPTIONS``
and reads ``AWS_*`` & co. from its environment, see docs/scale.md), and a source that would
ship one (secret ``storage_options``, a password in a SQL URL) is refused before the run.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from curata import fingerprint as fp
from curata.dedup import IdIndex, hex_halves, id_halves
from curata.errors import UsageError
from curata.storage import public_options, secret_options, worker_options
from curata.writer import (
    COMMIT_RETRIES,
    DEFAULT_TARGET_FILE_SIZE,
    PROVENANCE_TYPE,
    _Prepared,
    find_commit,
    record_appended,
)

from curata_ingest.conform import Conformer, target_schema
from curata_ingest.sources import LOCATOR, RejectSink
from curata_ingest.sources._base import FileSource

if TYPE_CHECKING:
    from curata_ingest.pipeline import _Options, _SourceState
    from curata_ingest.report import IngestReport

# Bookkeeping columns between the stages (never written to the table).
KIND, TASK, ORD, STATE = "_r_kind", "_r_task", "_r_ord", "_r_state"
BUCKET, META = "_r_bucket", "_r_meta"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Task:
    """One unit of read work: a whole source, or one file of a file source."""

    state: int
    source: Any


def _tasks(states: list[_SourceState]) -> list[_Task]:
    out = []
    for i, st in enumerate(states):
        src = st.source
        if isinstance(src, FileSource):
            for path in src.files():
                one = type(src)(src.spec, files=[path], name=src.name,
                                storage_options=src.storage_options)
                out.append(_Task(state=i, source=one))
        else:
            out.append(_Task(state=i, source=src))
    return out


def _ipc(table: pa.Table | None) -> bytes:
    if table is None or not table.num_rows:
        return b""
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue()


def _from_ipc(data: bytes) -> pa.Table | None:
    return pa.ipc.open_stream(data).read_all() if data else None


class _Reader:
    """Stage 1 (a Ray map_batches function): read one task's input, conform, fingerprint."""

    def __init__(self, tasks: list[_Task], schema: pa.Schema, buckets: int,
                 max_record_size: int | None, hint: str) -> None:
        self.tasks, self.schema, self.buckets = tasks, schema, buckets
        self.max_record_size, self.hint = max_record_size, hint

    def out_schema(self) -> pa.Schema:
        fields = [pa.field(KIND, pa.string()), pa.field(TASK, pa.int64()),
                  pa.field(ORD, pa.int64()), pa.field(STATE, pa.int64()),
                  pa.field(BUCKET, pa.int64()), pa.field(META, pa.binary()),
                  pa.field("_id", pa.string())]
        return pa.schema([*fields, *self.schema, pa.field(LOCATOR, pa.string())])

    def __call__(self, batch: pa.Table) -> pa.Table:
        parts = [self._read(int(t)) for t in batch.column("task").to_pylist()]
        return pa.concat_tables([p for part in parts for p in part])

    def _read(self, t: int) -> list[pa.Table]:
        task = self.tasks[t]
        read_rejects, row_rejects = RejectSink(), RejectSink()
        conform = Conformer(self.schema, max_record_size=self.max_record_size,
                            rejects=row_rejects, hint=self.hint)
        counters = {"rows": 0, "bytes": 0}

        def advance(n: int) -> None:
            counters["bytes"] += n

        out, ordinal = [], 0
        for raw in task.source.batches(read_rejects, advance):
            counters["rows"] += raw.num_rows
            batch = conform(raw, task.source.name)
            if batch.num_rows:
                out.append(self._rows(batch, t, task.state, ordinal))
                ordinal += batch.num_rows
        meta = json.dumps({"task": t, "state": task.state, **counters}).encode()
        rejects = [_ipc(pa.concat_tables(list(s.tables()))) if len(s) else b""
                   for s in (read_rejects, row_rejects)]
        payload = b"\0".join([meta, base64.b64encode(rejects[0]), base64.b64encode(rejects[1])])
        out.append(self._meta(payload, t, task.state))
        return out

    def _rows(self, batch: pa.RecordBatch, t: int, state: int, start: int) -> pa.Table:
        n = batch.num_rows
        hashes = fp.row_hashes(batch.drop_columns([LOCATOR]))
        hi, _ = id_halves(hashes)
        cols = {KIND: pa.array(["row"] * n), TASK: pa.array(np.full(n, t, np.int64)),
                ORD: pa.array(np.arange(start, start + n, dtype=np.int64)),
                STATE: pa.array(np.full(n, state, np.int64)),
                BUCKET: pa.array((hi % np.uint64(self.buckets)).astype(np.int64)),
                META: pa.nulls(n, pa.binary()), "_id": fp.hex_strings(hashes)}
        cols.update({name: batch.column(name) for name in batch.schema.names})
        return pa.Table.from_pydict(cols, schema=self.out_schema())

    def _meta(self, payload: bytes, t: int, state: int) -> pa.Table:
        row = {f.name: pa.nulls(1, f.type) for f in self.out_schema()}
        row.update({KIND: pa.array(["meta"]), TASK: pa.array([t], pa.int64()),
                    STATE: pa.array([state], pa.int64()), META: pa.array([payload], pa.binary()),
                    BUCKET: pa.array([-1], pa.int64())})
        return pa.Table.from_pydict(row, schema=self.out_schema())


class _Writer:
    """Stage 2 (a Ray map_groups function): dedup one ``_id`` bucket and write its shards."""

    def __init__(self, *, ctx: dict[str, Any], existing: Any) -> None:
        self.ctx, self.existing = ctx, existing

    def __call__(self, group: pa.Table) -> pa.Table:
        import ray

        ctx = self.ctx
        group = group.sort_by([(TASK, "ascending"), (ORD, "ascending")])
        hashes = hex_halves(group.column("_id"))
        index = IdIndex()
        if self.existing is not None:
            index.add(*ray.get(self.existing))
        keep = (index.new_rows(*hashes) if ctx["dedup"] != "off"
                else np.ones(group.num_rows, dtype=bool))
        states = group.column(STATE).to_numpy()
        dups = np.bincount(states[~keep], minlength=len(ctx["states"])).tolist()
        kept = group.filter(pa.array(keep))
        files = self._write(self._with_system_columns(kept)) if kept.num_rows else []
        return pa.table({"files": [json.dumps(files)], "duplicates": [json.dumps(dups)],
                         "written": [json.dumps(np.bincount(
                             kept.column(STATE).to_numpy(),
                             minlength=len(ctx["states"])).tolist())]})

    def _with_system_columns(self, t: pa.Table) -> pa.Table:
        ctx = self.ctx
        idx = t.column(STATE).to_numpy()
        uris = np.array([s["uri"] for s in ctx["states"]], dtype=object)[idx]
        sids = np.array([s["source_id"] for s in ctx["states"]], dtype=object)[idx]
        n = t.num_rows
        provenance = pa.StructArray.from_arrays(
            [pa.array(uris.tolist(), pa.string()), t.column(LOCATOR).combine_chunks(),
             pa.array([ctx["run_id"]] * n, pa.string()),
             pa.array([ctx["retrieved_at"]] * n, pa.timestamp("us", tz="UTC"))],
            fields=list(PROVENANCE_TYPE))
        cols = {"_id": t.column("_id"), "_source": pa.array(sids.tolist(), pa.string()),
                "_license": pa.array([ctx["license"]] * n, pa.string()),
                "_provenance": provenance}
        cols.update({f.name: t.column(f.name) for f in ctx["schema"]})
        return pa.table(cols)

    def _write(self, table: pa.Table) -> list[dict[str, Any]]:
        """Write Parquet shards as ``Catalog.append`` would; return them with their row sums."""
        from curata.shards import ShardWriter

        ctx = self.ctx
        prep = _Prepared(dataset=ctx["dataset"], source_id="", license=ctx["license"], uri="",
                         run_id=ctx["run_id"], retrieved_at=ctx["retrieved_at"],
                         table_schema=ctx["table_schema"], merge=ctx["merge"])
        options = worker_options(ctx["storage_options"])  # this worker's own credentials
        writer = None
        try:
            for batch in prep.batches(table):  # prep sums the row hashes as it conforms
                if writer is None:
                    writer = ShardWriter(ctx["table_uri"], batch.schema, storage_options=options,
                                         target_file_size=ctx["shard_size"], threads=1,
                                         hashing=False)
                writer.put(batch)
            files = writer.close() if writer is not None else []
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        if not files:
            return []
        schema = base64.b64encode(prep.schema.serialize().to_pybytes()).decode()
        out = [{**f.to_dict(), "schema": schema} for f in files]
        out[0]["sum"] = prep.acc.to_json()  # the task's rows, counted once
        return out


# --- the driver --------------------------------------------------------------------------


def ingest_ray(cat: Any, opts: _Options, states: list[_SourceState], started: float
               ) -> IngestReport:
    """Run an ingest with Ray Data; called by ``curata_ingest.ingest(engine="ray")``."""

    if opts.dedup == "near":
        raise UsageError("--dedup near runs on the local engine only (one global MinHash "
                         "index); use --engine local, or --dedup exact with --engine ray")
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


def _ray() -> Any:
    try:
        import ray
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise UsageError("--engine ray needs Ray: pip install 'curata-ingest[ray]'") from exc
    if not ray.is_initialized():  # RAY_ADDRESS or a local cluster, as `ray.init()` decides
        ray.init(log_to_driver=False, configure_logging=False)
    return ray


def _lazy_run_base() -> type:
    from curata_ingest.pipeline import _Run

    return _Run


_PEEK_ROWS, _PEEK_BYTES = 10_000, 32 << 20


class _RayRun(_lazy_run_base()):  # type: ignore[misc]
    """An ingest run whose stream is replaced by Ray Data stages; bookkeeping is shared."""

    def execute(self, started: float) -> IngestReport:
        from curata.writer import finish_run, register_source, start_run

        opts = self.opts
        self.run_id = start_run(self.cat, opts.dataset, operation="ingest",
                                run_id=opts.extra.get("run_id"),
                                stats={"sources": [st.uri for st in self.states],
                                       "engine": "ray"})
        for st in self.states:
            register_source(self.cat, opts.dataset, name=st.source.name, uri=st.uri,
                            license=opts.license, attribution=opts.attribution,
                            run_id=self.run_id, source_id=st.source_id)
        try:
            snap = self._run()
        except BaseException as exc:
            self._write_side_tables()
            finish_run(self.cat, self.run_id, status="failed", stats=self._stats(),
                       error=f"{type(exc).__name__}: {exc}")
            raise
        return self._finish(snap, started)

    def _schema(self) -> pa.Schema:
        """The run's schema from the first rows of every source, as the local engine fixes it."""
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

    def _run(self) -> Any:
        schema = self._schema()  # first: a refused run needs no cluster
        ray = _ray()
        tasks = _tasks(self.states)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        buckets = max(1, min(256, 2 * cpus))
        hint = ("; pass --schema-evolution merge" if self.opts.schema_evolution == "none"
                else "; it appeared after the schema was fixed: ingest it in its own run")
        reader = _Reader(tasks, schema, buckets, self.opts.max_record_size, hint)
        read = (ray.data.from_items([{"task": i} for i in range(len(tasks))],
                                    override_num_blocks=max(1, len(tasks)))
                .map_batches(_fn(reader), batch_size=1, batch_format="pyarrow").materialize())
        self._absorb_meta(read.map_batches(_only("meta"), batch_format="pyarrow").take_all())
        self._check_ratio()  # before anything is written: a failed run leaves no shards
        ctx = self._context(schema)
        existing = self._existing_ids(ray)
        results = (read.map_batches(_only("row"), batch_format="pyarrow")
                   .groupby(BUCKET, num_partitions=buckets)
                   .map_groups(_fn(_Writer(ctx=ctx, existing=existing)), batch_format="pyarrow")
                   .take_all())
        files = self._absorb_written(results)
        if not files:
            return self.existing
        return self._commit(files)

    def _absorb_meta(self, metas: list[dict[str, Any]]) -> None:
        for m in sorted(metas, key=lambda r: r[TASK]):
            head, read_rej, row_rej = bytes(m[META]).split(b"\0")
            info = json.loads(head)
            st = self.states[info["state"]]
            st.rows += info["rows"]
            self.bytes_read += info["bytes"]
            for sink, data in ((st.read_rejects, read_rej), (st.row_rejects, row_rej)):
                table = _from_ipc(base64.b64decode(data))
                for r in (table.to_pylist() if table is not None else []):
                    sink.add(reason=r["reason"], source=r["source"], locator=r["locator"],
                             raw=r["raw"] or b"", detail=r["detail"] or "",
                             truncated=bool(r["raw_truncated"]))

    def _absorb_written(self, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        files: list[dict[str, Any]] = []
        for r in results:
            files.extend(json.loads(r["files"]))
            for st, d, w in zip(self.states, json.loads(r["duplicates"]),
                                json.loads(r["written"]), strict=True):
                st.duplicates += d
                st.written += w
        return sorted(files, key=lambda f: f["path"])

    def _context(self, schema: pa.Schema) -> dict[str, Any]:
        opts, cat = self.opts, self.cat
        table_schema = None
        if self.existing is not None:
            table_schema = pa.schema(cat._delta(opts.dataset).schema().to_arrow())
        return {"dataset": opts.dataset, "license": opts.license, "run_id": self.run_id,
                "retrieved_at": self.retrieved_at, "schema": schema,
                "states": [{"uri": st.uri, "source_id": st.source_id} for st in self.states],
                "table_schema": table_schema, "merge": opts.schema_evolution == "merge",
                "table_uri": cat.table_uri(opts.dataset),
                "storage_options": public_options(cat.storage_options), "dedup": opts.dedup,
                "shard_size": opts.shard_size or DEFAULT_TARGET_FILE_SIZE}

    def _existing_ids(self, ray: Any) -> Any:
        if self.opts.dedup == "off" or self.existing is None:
            return None
        his, los = [], []
        for batch in self.existing.to_batches(columns=["_id"]):
            hi, lo = hex_halves(batch.column(0))
            his.append(hi)
            los.append(lo)
        return ray.put((np.concatenate(his), np.concatenate(los)))

    def _commit(self, files: list[dict[str, Any]]) -> Any:
        """ONE Delta commit adding every shard, then the catalog record of the version."""
        from curata import __version__
        from curata._util import current_user
        from curata.shards import WrittenFile, commit_files

        cat, dataset = self.cat, self.opts.dataset
        schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(files[0]["schema"])))
        meta = {"curata.run_id": self.run_id, "curata.user": current_user(),
                "curata.version": __version__, "curata.operation": "append",
                "curata.ingest": "1", "curata.engine": "ray"}
        commit_files(cat, dataset, schema, [WrittenFile.from_dict(f) for f in files], meta,
                     retries=COMMIT_RETRIES)
        version = find_commit(cat, dataset, self.run_id)
        acc = fp.RowHashSum()
        for f in files:
            if "sum" in f:
                acc = acc + fp.RowHashSum.from_json(f["sum"])
        record_appended(cat, dataset, version, acc, operation="append", run_id=self.run_id)
        return cat.snapshot(f"{dataset}@{version}")


def _fn(obj: Any) -> Any:
    """A plain function around a callable object (Ray treats callable classes as actors)."""

    def call(table: pa.Table) -> pa.Table:
        return obj(table)

    return call


def _only(kind: str) -> Any:
    def select(t: pa.Table) -> pa.Table:
        import pyarrow.compute as pc

        return t.filter(pc.equal(t.column(KIND), kind))

    return select
