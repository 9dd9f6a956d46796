"""``Store``: the catalog's SQL record and the handle on the warehouse, behind typed methods.

Everything Curata knows beside the Delta logs lives here: datasets, sources with their license
and artifact hashes, runs, the record (fingerprint) of each version, the hashes of data files,
tags, lineage and the audit log. Features (write, verify, gc, diff, transforms, governance,
export) take a ``Store`` and a ``Snapshot``; only this package opens SQL sessions and knows the
ORM models. Members with tables of their own use :meth:`Store.session` and ``Base``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from curata import __version__, interrupt
from curata._util import check_name, current_user, first_line, is_valid_name, new_run_id, utcnow
from curata.config import Settings, redact_url
from curata.errors import DatasetNotFoundError, StorageError, TagExistsError
from curata.storage import TABLE_KINDS, delta_storage_options, endpoint_note, join_uri
from curata.store.models import (
    AuditEntry,
    DataFile,
    Dataset,
    IngestRun,
    Lineage,
    LineageInput,
    SnapshotRecord,
    Source,
    Tag,
)
from curata.store.records import (
    AuditInfo,
    FileRecord,
    LineageInfo,
    LineageInputInfo,
    RunInfo,
    SourceInfo,
    TagInfo,
    VersionRecord,
)


class Store:
    """The catalog database and the warehouse root of one Curata home."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return (f"Store(catalog={redact_url(self.settings.catalog_url)!r}, "
                f"warehouse={self.settings.warehouse!r})")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction on the catalog database, committed on success. For this package and
        for members with tables of their own (the extension point); features call methods."""
        with self._sessions() as s, s.begin():
            yield s

    def dispose(self) -> None:
        self.engine.dispose()

    # --- the warehouse ------------------------------------------------------------------------

    @property
    def storage_options(self) -> dict[str, str] | None:
        return delta_storage_options(self.settings.warehouse, self.settings.storage_options)

    def table_uri(self, dataset: str, kind: str = "records") -> str:
        """URI of one of a dataset's Delta tables (``records``, ``rejects``, ``annotations``…)."""
        check_name("dataset", dataset)
        if not kind.isidentifier():
            raise ValueError(f"bad table kind {kind!r}; known kinds: {TABLE_KINDS}")
        return join_uri(self.settings.warehouse, dataset, kind)

    def delta(self, dataset: str, version: int | None = None, kind: str = "records") -> Any:
        """The ``DeltaTable`` of a dataset's table at ``version`` (latest), or None if absent."""
        from deltalake import DeltaTable
        from deltalake.exceptions import DeltaError, TableNotFoundError

        uri = self.table_uri(dataset, kind)
        try:
            return DeltaTable(uri, version=version, storage_options=self.storage_options)
        except TableNotFoundError:
            return None
        except (DeltaError, OSError) as exc:  # an unreachable endpoint, no permission, ...
            note = endpoint_note(uri, self.settings.storage_options)
            raise StorageError(uri, reason=first_line(exc) + note) from None

    # --- datasets -------------------------------------------------------------------------------

    def _dataset_row(self, s: Session, name: str) -> Dataset:
        row = s.scalar(select(Dataset).where(Dataset.name == name))
        if row is None:
            raise DatasetNotFoundError(name, available=s.scalars(select(Dataset.name)).all())
        return row

    def check_dataset(self, name: str) -> None:
        """Raise ``DatasetNotFoundError`` (listing the datasets) unless ``name`` exists."""
        with self.session() as s:
            self._dataset_row(s, name)

    def ensure_dataset(self, name: str, description: str = "") -> int:
        check_name("dataset", name)
        with self.session() as s:
            row = s.scalar(select(Dataset).where(Dataset.name == name))
            if row is not None:
                return row.id
            # Two writers may create the same dataset at once: insert-if-absent, then read.
            insert_ignore(s, Dataset, [{"name": name, "description": description,
                                        "created_at": utcnow(), "created_by": current_user()}],
                          ["name"])
            return self._dataset_row(s, name).id

    def dataset_names(self) -> list[str]:
        """Every dataset with a valid name, with data or not (a name stored before names
        were validated whole, e.g. ending in a newline, has no table and is left out)."""
        with self.session() as s:
            return [n for n in s.scalars(select(Dataset.name).order_by(Dataset.name))
                    if is_valid_name(n)]

    def dataset_rows(self) -> list[tuple[str, str, datetime, list[str]]]:
        """``(name, description, created_at, tags)`` of every dataset, by name."""
        with self.session() as s:
            rows = s.scalars(select(Dataset).order_by(Dataset.name)).all()
            tags = s.execute(select(Tag.dataset_id, Tag.name)).all()
        return [(d.name, d.description, d.created_at,
                 sorted(t for i, t in tags if i == d.id)) for d in rows]

    def dataset_description(self, name: str) -> str:
        with self.session() as s:
            return self._dataset_row(s, name).description

    # --- audit ----------------------------------------------------------------------------------

    def audit(self, action: str, *, dataset: str | None = None,
              details: dict[str, Any] | None = None, session: Session | None = None) -> None:
        """Record who did what, when (tags, overrides, exports, gc, schema changes…)."""
        entry = AuditEntry(at=utcnow(), actor=current_user(), action=action, dataset=dataset,
                           details=details or {})
        if session is not None:
            session.add(entry)
            return
        with self.session() as s:
            s.add(entry)

    def audit_log(self, dataset: str | None = None, *, limit: int | None = None,
                  actions: Sequence[str] = (), since: datetime | None = None) -> list[AuditInfo]:
        """Entries newest first; ``actions`` match by prefix (``tag`` matches ``tag.force``)."""
        from sqlalchemy import or_

        q = select(AuditEntry).order_by(AuditEntry.id.desc())
        if dataset:
            q = q.where(AuditEntry.dataset == dataset)
        if actions:
            q = q.where(or_(*[AuditEntry.action == a for a in actions],
                            *[AuditEntry.action.startswith(f"{a}.") for a in actions]))
        if since is not None:
            q = q.where(AuditEntry.at >= self._as_stored(since))
        if limit:
            q = q.limit(limit)
        with self.session() as s:
            return [AuditInfo(id=e.id, at=e.at, actor=e.actor, action=e.action,
                              dataset=e.dataset, details=dict(e.details or {}))
                    for e in s.scalars(q)]

    def _as_stored(self, at: datetime) -> datetime:
        """``at`` in UTC, naive for SQLite (which stores naive UTC), aware for servers."""
        aware = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
        return aware.replace(tzinfo=None) if self.engine.dialect.name == "sqlite" else aware

    # --- runs -----------------------------------------------------------------------------------

    def start_run(self, dataset: str, *, run_id: str | None = None, operation: str = "append",
                  stats: dict[str, Any] | None = None) -> str:
        """Record a running write; it becomes committed/failed/cancelled/unchanged when it ends."""
        ds_id = self.ensure_dataset(dataset)
        run_id = run_id or new_run_id()
        with self.session() as s:
            if s.get(IngestRun, run_id) is None:
                s.add(IngestRun(id=run_id, dataset_id=ds_id, operation=operation,
                                status="running", user=current_user(),
                                host=socket.gethostname(), pid=os.getpid(),
                                tool_version=__version__, stats=stats or {}))
        return run_id

    def finish_run(self, run_id: str, *, status: str, version: int | None = None,
                   stats: dict[str, Any] | None = None, error: str = "") -> None:
        with self.session() as s:
            run = s.get(IngestRun, run_id)
            if run is None:
                return
            run.status, run.finished_at, run.version, run.error = status, utcnow(), version, error
            if stats is not None:
                run.stats = {**(run.stats or {}), **stats}

    def fail_run(self, run_id: str, exc: BaseException, *,
                 stats: dict[str, Any] | None = None) -> None:
        """End a run that raised: ``cancelled`` for a user's interrupt (Ctrl-C, SIGTERM), else
        ``failed`` with the error."""
        if interrupt.is_interrupt(exc):
            self.finish_run(run_id, status="cancelled", stats=stats,
                            error="cancelled by the user; nothing was committed")
        else:
            self.finish_run(run_id, status="failed", stats=stats,
                            error=f"{type(exc).__name__}: {exc}")

    def runs(self, dataset: str | None = None) -> list[RunInfo]:
        """Runs newest first; runs whose process died are marked ``failed`` first."""
        self.reconcile_runs()
        q = select(IngestRun, Dataset.name).join(Dataset).order_by(IngestRun.started_at.desc())
        if dataset:
            q = q.where(Dataset.name == dataset)
        with self.session() as s:
            return [RunInfo(id=r.id, dataset=name, operation=r.operation, status=r.status,
                            started_at=r.started_at, finished_at=r.finished_at,
                            version=r.version, stats=r.stats, error=r.error, user=r.user)
                    for r, name in s.execute(q).all()]

    def reconcile_runs(self) -> None:
        host = socket.gethostname()
        with self.session() as s:
            for r in s.scalars(select(IngestRun).where(IngestRun.status == "running")):
                if r.host == host and r.pid and not _pid_alive(r.pid):
                    r.status, r.finished_at = "failed", utcnow()
                    r.error = r.error or "the process died before committing"

    # --- sources --------------------------------------------------------------------------------

    def register_source(self, dataset: str, *, source_id: str, name: str, uri: str, license: str,
                        attribution: str = "", artifacts: list[Any] | None = None,
                        run_id: str | None = None) -> str:
        """Record a source (license, provenance, artifact hashes); returns its id."""
        with self.session() as s:
            d = self._dataset_row(s, dataset)
            # Concurrent ingests of one source both get here: insert-if-absent, then update.
            created = insert_ignore(s, Source, [{
                "id": source_id, "dataset_id": d.id, "name": name, "uri": uri,
                "license": license, "attribution": attribution or "",
                "artifacts": artifacts or [], "run_id": run_id, "retrieved_at": utcnow()}], ["id"])
            if not created:
                row = s.get(Source, source_id, populate_existing=True)
                assert row is not None
                row.retrieved_at, row.run_id = utcnow(), run_id
                if artifacts:
                    row.artifacts = artifacts
        return source_id

    def sources(self, ids: Iterable[str]) -> dict[str, SourceInfo]:
        """The registered sources among ``ids`` (with the status of their last run)."""
        wanted = list(ids)
        with self.session() as s:
            rows = s.execute(select(Source, Dataset.name, IngestRun.status)
                             .join(Dataset, Dataset.id == Source.dataset_id)
                             .outerjoin(IngestRun, IngestRun.id == Source.run_id)
                             .where(Source.id.in_(wanted))).all()
        return {r.id: SourceInfo(id=r.id, dataset=name, name=r.name, uri=r.uri,
                                 license=r.license, attribution=r.attribution,
                                 artifacts=list(r.artifacts or []), run_id=r.run_id,
                                 retrieved_at=r.retrieved_at, run_status=status)
                for r, name, status in rows}

    def dataset_sources(self, dataset: str) -> list[SourceInfo]:
        """Every source ever registered for ``dataset``, by name."""
        with self.session() as s:
            ids = s.scalars(select(Source.id).join(Dataset, Dataset.id == Source.dataset_id)
                            .where(Dataset.name == dataset)).all()
        return sorted(self.sources(ids).values(), key=lambda r: (r.name, r.id))

    def source(self, source_id: str) -> SourceInfo | None:
        return self.sources([source_id]).get(source_id)

    def set_source_license(self, source_id: str, license: str) -> None:
        with self.session() as s:
            row = s.get(Source, source_id)
            assert row is not None
            row.license = license

    # --- version records ------------------------------------------------------------------------

    def version_record(self, dataset: str, version: int) -> VersionRecord | None:
        with self.session() as s:
            d = self._dataset_row(s, dataset)
            rec = s.scalar(select(SnapshotRecord).where(
                SnapshotRecord.dataset_id == d.id, SnapshotRecord.version == version))
            return _record(dataset, rec) if rec is not None else None

    def version_records(self, dataset: str) -> dict[int, VersionRecord]:
        with self.session() as s:
            d = self._dataset_row(s, dataset)
            return {r.version: _record(dataset, r) for r in s.scalars(
                select(SnapshotRecord).where(SnapshotRecord.dataset_id == d.id))}

    def versions_with_fingerprint(self, dataset: str, prefix: str) -> list[int]:
        with self.session() as s:
            d = self._dataset_row(s, dataset)
            return sorted({m.version for m in s.scalars(select(SnapshotRecord).where(
                SnapshotRecord.dataset_id == d.id,
                SnapshotRecord.fingerprint.startswith(prefix)))})

    def put_version_record(self, dataset: str, version: int, *, fingerprint: str, num_rows: int,
                           row_sum: dict[str, Any], schema_json: str, fp_scheme: str,
                           operation: str, run_id: str | None,
                           derived_from: list[Any] | None = None) -> VersionRecord:
        """Record a version. The writer and a reader healing a missing record (or two healers)
        may store the same version at once; both compute the same values, the first is kept."""
        with self.session() as s:
            d = self._dataset_row(s, dataset)
            insert_ignore(s, SnapshotRecord, [{
                "dataset_id": d.id, "version": version, "fingerprint": fingerprint,
                "num_rows": num_rows, "row_sum": row_sum, "schema_json": schema_json,
                "operation": operation, "run_id": run_id, "derived_from": derived_from or [],
                "fp_scheme": fp_scheme, "created_at": utcnow()}], ["dataset_id", "version"])
            stored = s.scalar(select(SnapshotRecord).where(
                SnapshotRecord.dataset_id == d.id, SnapshotRecord.version == version))
            assert stored is not None
            return _record(dataset, stored)

    def add_derived_from(self, dataset: str, version: int, entries: Sequence[dict[str, Any]]
                         ) -> list[dict[str, Any]]:
        """Add ``derived_from`` entries to a version's record (never removing any), audited in
        the same transaction. Returns the entries that were new; ``None`` if no record."""
        with self.session() as s:
            d = self._dataset_row(s, dataset)
            row = s.scalar(select(SnapshotRecord).where(
                SnapshotRecord.dataset_id == d.id, SnapshotRecord.version == version))
            if row is None:
                raise LookupError(f"{dataset}@v{version}")
            existing = list(row.derived_from or [])
            added = [e for e in entries if e not in existing]
            if added:
                row.derived_from = existing + added  # a new list: JSON columns track assignment
                self.audit("provenance.record", dataset=dataset, session=s,
                           details={"ref": f"{dataset}@v{version}", "version": version,
                                    "entries": added})
        return added

    def versions_under_scheme_other_than(self, scheme: str) -> list[tuple[str, int]]:
        """``(dataset, version)`` of every record under another fingerprint scheme."""
        with self.session() as s:
            return [(n, v) for n, v in s.execute(
                select(Dataset.name, SnapshotRecord.version)
                .join(Dataset, Dataset.id == SnapshotRecord.dataset_id)
                .where(SnapshotRecord.fp_scheme != scheme)
                .order_by(Dataset.name, SnapshotRecord.version)).all()]

    def rescheme(self, dataset: str, version: int, *, fingerprint: str, row_sum: dict[str, Any],
                 scheme: str) -> tuple[VersionRecord, list[str]]:
        """Store a version's fingerprint under another scheme, move the tags that pin it, and
        audit both values. Returns the record before and the tags moved."""
        with self.session() as s:
            d = self._dataset_row(s, dataset)
            rec = s.scalars(select(SnapshotRecord).where(
                SnapshotRecord.dataset_id == d.id, SnapshotRecord.version == version)).one()
            before = _record(dataset, rec)
            rec.fingerprint, rec.row_sum, rec.fp_scheme = fingerprint, row_sum, scheme
            tags = s.scalars(select(Tag).where(Tag.dataset_id == d.id,
                                               Tag.version == version)).all()
            for t in tags:
                t.fingerprint = fingerprint
            moved = sorted(t.name for t in tags)
            self.audit("fingerprint.rescheme", dataset=dataset, session=s, details={
                "version": version, "from_scheme": before.fp_scheme, "to_scheme": scheme,
                "from": before.fingerprint, "to": fingerprint, "tags": moved})
        return before, moved

    # --- data files -----------------------------------------------------------------------------

    def known_files(self, dataset: str) -> set[str]:
        with self.session() as s:
            d = self._dataset_row(s, dataset)
            return set(s.scalars(select(DataFile.path).where(DataFile.dataset_id == d.id)))

    def add_files(self, dataset: str, files: Sequence[FileRecord]) -> None:
        """Record data files; concurrent writers record overlapping files: first one wins."""
        if not files:
            return
        with self.session() as s:
            d = self._dataset_row(s, dataset)
            insert_ignore(s, DataFile, [
                {"dataset_id": d.id, "path": f.path, "size": f.size, "num_rows": f.num_rows,
                 "content_hash": f.content_hash, "added_version": f.added_version}
                for f in files], ["dataset_id", "path"])

    def file_hashes(self, dataset: str) -> dict[str, str]:
        """The byte hash of every data file recorded for a dataset, by relative path."""
        with self.session() as s:
            d = self._dataset_row(s, dataset)
            return dict(s.execute(select(DataFile.path, DataFile.content_hash)
                                  .where(DataFile.dataset_id == d.id)).all())

    # --- tags -----------------------------------------------------------------------------------

    def tags(self, dataset: str) -> list[TagInfo]:
        with self.session() as s:
            d = self._dataset_row(s, dataset)
            return [TagInfo(dataset=dataset, name=t.name, version=t.version,
                            fingerprint=t.fingerprint, note=t.note, created_at=t.created_at,
                            created_by=t.created_by)
                    for t in s.scalars(select(Tag).where(Tag.dataset_id == d.id)
                                       .order_by(Tag.version))]

    def create_tag(self, dataset: str, tag: str, *, version: int, fingerprint: str,
                   note: str = "", force: bool = False) -> None:
        """Name a version. Insert first: of two racing calls exactly one creates the tag; the
        other then sees the committed row (and the immutability rule) under a row lock."""
        with self.session() as s:
            d = self._dataset_row(s, dataset)
            created = insert_ignore(s, Tag, [{
                "dataset_id": d.id, "name": tag, "version": version, "fingerprint": fingerprint,
                "note": note, "created_at": utcnow(), "created_by": current_user()}],
                ["dataset_id", "name"])
            if created:
                self.audit("tag", dataset=dataset, session=s, details={
                    "tag": tag, "version": version, "fingerprint": fingerprint})
                return
            row = s.scalars(select(Tag).where(Tag.dataset_id == d.id, Tag.name == tag)
                            .with_for_update().execution_options(populate_existing=True)).one()
            if row.version == version:
                return
            if not force:
                raise TagExistsError(dataset, tag, version=row.version, requested=version)
            self.audit("tag.force", dataset=dataset, session=s, details={
                "tag": tag, "from_version": row.version, "to_version": version,
                "fingerprint": fingerprint, "note": note})
            row.version, row.fingerprint, row.note = version, fingerprint, note
            row.created_by, row.created_at = current_user(), utcnow()

    # --- lineage --------------------------------------------------------------------------------

    def record_lineage(self, info: LineageInfo) -> None:
        with self.session() as s:
            d = self._dataset_row(s, info.dataset)
            row = Lineage(dataset_id=d.id, version=info.version,
                          transform_fingerprint=info.transform_fingerprint,
                          output_fingerprint=info.output_fingerprint, pipeline=info.pipeline,
                          code=info.code, libraries=info.libraries, stats=dict(info.stats),
                          run_id=info.run_id, created_by=current_user())
            s.add(row)
            s.flush()
            s.add_all([LineageInput(lineage_id=row.id, role=i.role, ref=i.ref,
                                    dataset=i.dataset, version=i.version,
                                    fingerprint=i.fingerprint) for i in info.inputs])

    def lineage(self, dataset: str, version: int) -> LineageInfo | None:
        with self.session() as s:
            row = s.scalar(select(Lineage).join(Dataset).where(
                Dataset.name == dataset, Lineage.version == version))
            if row is None:
                return None
            inputs = s.scalars(select(LineageInput).where(LineageInput.lineage_id == row.id))
            return _lineage(dataset, row, list(inputs))

    def derivations(self, dataset: str) -> dict[int, LineageInfo]:
        """Every derived version of ``dataset`` (without inputs), by version."""
        with self.session() as s:
            rows = s.scalars(select(Lineage).join(Dataset).where(Dataset.name == dataset)).all()
            return {r.version: _lineage(dataset, r, []) for r in rows}

    def derived_from_snapshot(self, dataset: str, version: int
                              ) -> list[tuple[str, int, str, str]]:
        """``(dataset, version, transform fingerprint, role)`` of versions derived from one."""
        with self.session() as s:
            return [tuple(r) for r in s.execute(  # type: ignore[misc]
                select(Dataset.name, Lineage.version, Lineage.transform_fingerprint,
                       LineageInput.role)
                .join(Lineage, Lineage.id == LineageInput.lineage_id)
                .join(Dataset, Dataset.id == Lineage.dataset_id)
                .where(LineageInput.dataset == dataset, LineageInput.version == version)).all()]


def _record(dataset: str, r: SnapshotRecord) -> VersionRecord:
    return VersionRecord(dataset=dataset, version=r.version, fingerprint=r.fingerprint,
                         num_rows=r.num_rows, row_sum=dict(r.row_sum or {}),
                         schema_json=r.schema_json, fp_scheme=r.fp_scheme,
                         operation=r.operation, run_id=r.run_id,
                         derived_from=list(r.derived_from or []), created_at=r.created_at)


def _lineage(dataset: str, row: Lineage, inputs: list[LineageInput]) -> LineageInfo:
    return LineageInfo(
        dataset=dataset, version=row.version, transform_fingerprint=row.transform_fingerprint,
        output_fingerprint=row.output_fingerprint, pipeline=dict(row.pipeline or {}),
        code=dict(row.code or {}), libraries=dict(row.libraries or {}),
        stats=dict(row.stats or {}), run_id=row.run_id,
        inputs=[LineageInputInfo(role=i.role, ref=i.ref, dataset=i.dataset, version=i.version,
                                 fingerprint=i.fingerprint) for i in inputs])


def insert_ignore(s: Session, model: type[Any], rows: list[dict[str, Any]],
                  keys: list[str]) -> int:
    """Insert ``rows`` unless a row with the same unique ``keys`` exists; returns how many
    were inserted.

    A get-then-insert loses the race when two processes (a team catalog on PostgreSQL, several
    ingest workers) add the same source, dataset, version record or file at once: the loser's
    transaction fails with an ``IntegrityError`` after its Delta commit already landed. ``ON
    CONFLICT DO NOTHING`` lets both succeed with one row.
    """
    if not rows:
        return 0
    name = s.get_bind().dialect.name
    if name in ("postgresql", "sqlite"):
        mod = __import__(f"sqlalchemy.dialects.{name}", fromlist=["insert"])
        # Count the rows RETURNING gives back, never `rowcount`: for a multi-row
        # INSERT … ON CONFLICT the PostgreSQL driver may report -1 (truthy), which once made a
        # refused `tag` look created.
        stmt = (mod.insert(model).values(rows).on_conflict_do_nothing(index_elements=keys)
                .returning(*[model.__table__.c[k] for k in keys]))
        return len(s.execute(stmt).all())
    inserted = 0
    for row in rows:  # other databases: one savepoint per row
        try:
            with s.begin_nested():
                s.add(model(**row))
            inserted += 1
        except IntegrityError:
            pass
    return inserted


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True
