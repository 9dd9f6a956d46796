"""The ``Catalog``: datasets, versions, tags and the write path, over SQL + Delta tables."""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa
from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from curata._util import check_name, current_user, first_line, is_valid_name, utcnow
from curata.catalog import migrate
from curata.catalog.models import (
    AuditEntry,
    Dataset,
    IngestRun,
    SnapshotRecord,
    Tag,
)
from curata.config import Settings, redact_url, resolve
from curata.errors import (
    CatalogSchemaError,
    CatalogTooNewError,
    CatalogUnavailableError,
    DatasetNotFoundError,
    FingerprintMismatchError,
    InvalidRefError,
    SnapshotNotFoundError,
    StorageError,
    TagExistsError,
)
from curata.refs import parse_ref
from curata.snapshot import Snapshot
from curata.storage import TABLE_KINDS, delta_storage_options, endpoint_note, join_uri


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetInfo:
    name: str
    description: str
    created_at: datetime
    latest_version: int | None
    num_rows: int | None
    fingerprint: str | None
    tags: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionInfo:
    version: int
    timestamp: datetime | None
    operation: str
    fingerprint: str | None
    num_rows: int | None
    tags: list[str]
    run_id: str | None
    user: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TagInfo:
    dataset: str
    name: str
    version: int
    fingerprint: str
    note: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditInfo:
    at: datetime
    actor: str
    action: str
    dataset: str | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunInfo:
    id: str
    dataset: str
    operation: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    version: int | None
    stats: dict[str, Any]
    error: str
    user: str


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:  # WAL: readers never block writers
            cur = dbapi_conn.cursor()
            # Switching a new file to WAL takes an exclusive lock that SQLite's busy timeout
            # does not wait for: two processes opening a new catalog at once retry here.
            deadline = time.monotonic() + 60
            while True:
                try:
                    cur.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def connect(
    home: str | os.PathLike[str] | None = None,
    catalog_url: str | None = None,
    warehouse: str | None = None,
    *,
    storage_options: dict[str, str] | None = None,
    upgrade: bool | None = None,
    create: bool = False,
) -> Catalog:
    """Open the catalog (``CURATA_HOME`` / ``CURATA_CATALOG_URL`` / ``CURATA_WAREHOUSE``).

    An embedded SQLite catalog is created and upgraded automatically; a server catalog
    (PostgreSQL) at an older schema revision is refused with a ``CatalogSchemaError`` that names
    ``curata db upgrade``. ``create=True`` (``curata init``) creates the schema in an empty
    server database, and still refuses an older one.

    Example:
        >>> cat = curata.connect()
        >>> cat.datasets()
    """
    settings = resolve(home, catalog_url, warehouse, storage_options)
    if settings.is_embedded:
        _check_sqlite_file(settings)
        settings.home.mkdir(parents=True, exist_ok=True)
    engine = _engine(settings.catalog_url)
    head = migrate.head_revision()
    current = _current_revision(engine, settings)
    if current is not None and current not in migrate.known_revisions():
        raise CatalogTooNewError(redact_url(settings.catalog_url), current=current,
                                 known=migrate.known_revisions())
    if current != head:
        if upgrade if upgrade is not None else (settings.is_embedded or
                                                (create and current is None)):
            _upgrade_once(engine, settings)
        else:
            raise CatalogSchemaError(
                redact_url(settings.catalog_url), current=current, expected=head
            )
    return Catalog(settings, engine)


def _upgrade_once(engine: Engine, settings: Settings) -> None:
    """Migrate to the head revision; two processes creating one embedded catalog at once
    take turns (a file lock), and the second finds the work done."""
    if not settings.is_embedded:
        migrate.upgrade(engine, settings.catalog_url)
        return
    import fcntl

    with open(settings.home / ".catalog.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if _current_revision(engine, settings) != migrate.head_revision():
                migrate.upgrade(engine, settings.catalog_url)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _check_sqlite_file(settings: Settings) -> None:
    """An embedded catalog file that exists but is empty or not SQLite is never "repaired"
    into a new empty catalog: that forgot every version and re-ingested data already there."""
    from sqlalchemy.engine import make_url

    path = make_url(settings.catalog_url).database
    if not path or path == ":memory:" or not os.path.exists(path):
        return
    with open(path, "rb") as f:
        head = f.read(16)
    if head != b"SQLite format 3\0":
        what = "empty (0 bytes)" if not head else "not a SQLite database (truncated or overwritten?)"
        raise CatalogUnavailableError(
            path, reason=what,
            hint="Restore it from a backup; to start a new catalog, move it away (the warehouse "
            f"{settings.warehouse} keeps its data, which a new catalog does not know)")


def _current_revision(engine: Engine, settings: Settings) -> str | None:
    """The catalog's schema revision; an unreachable or unreadable database is
    ``CatalogUnavailableError`` naming it (never a driver traceback)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return migrate.current_revision(engine)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CatalogUnavailableError(redact_url(settings.catalog_url), reason=reason) from None


class Catalog:
    """Datasets, their versions and tags; the write path into the warehouse."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return (
            f"Catalog(catalog={redact_url(self.settings.catalog_url)!r}, "
            f"warehouse={self.settings.warehouse!r})"
        )

    # --- plumbing -------------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction on the catalog database (committed on success)."""
        with self._sessions() as s, s.begin():
            yield s

    @property
    def storage_options(self) -> dict[str, str] | None:
        return delta_storage_options(self.settings.warehouse, self.settings.storage_options)

    def table_uri(self, dataset: str, kind: str = "records") -> str:
        """URI of one of a dataset's Delta tables (``records``, ``rejects``, ``annotations``…)."""
        check_name("dataset", dataset)
        if not kind.isidentifier():
            raise ValueError(f"bad table kind {kind!r}; known kinds: {TABLE_KINDS}")
        return join_uri(self.settings.warehouse, dataset, kind)

    def audit(self, action: str, *, dataset: str | None = None,
              details: dict[str, Any] | None = None,
              session: Session | None = None) -> None:
        """Record who did what, when (tags, overrides, exports, gc, schema changes…)."""
        entry = AuditEntry(at=utcnow(), actor=current_user(), action=action, dataset=dataset,
                           details=details or {})
        if session is not None:
            session.add(entry)
            return
        with self.session() as s:
            s.add(entry)

    def audit_log(self, dataset: str | None = None, *, limit: int | None = None) -> list[AuditInfo]:
        with self.session() as s:
            q = select(AuditEntry).order_by(AuditEntry.id.desc())
            if dataset:
                q = q.where(AuditEntry.dataset == dataset)
            if limit:
                q = q.limit(limit)
            return [
                AuditInfo(at=e.at, actor=e.actor, action=e.action, dataset=e.dataset,
                          details=e.details)
                for e in s.scalars(q)
            ]

    def _dataset_row(self, s: Session, name: str) -> Dataset:
        row = s.scalar(select(Dataset).where(Dataset.name == name))
        if row is None:
            raise DatasetNotFoundError(name, available=s.scalars(select(Dataset.name)).all())
        return row

    def _ensure_dataset(self, name: str, description: str = "") -> int:
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

    def _delta(self, dataset: str, version: int | None = None, kind: str = "records") -> Any:
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

    # --- reading -----------------------------------------------------------------------------

    def dataset_names(self) -> list[str]:
        """Every dataset the catalog knows, with data or not (a failed first ingest leaves
        its run and rejects under a name that ``datasets()`` does not list)."""
        with self.session() as s:
            return list(s.scalars(select(Dataset.name).order_by(Dataset.name)))

    def datasets(self) -> list[DatasetInfo]:
        """Datasets that hold data (at least one version), with their latest version, row
        count and tags. A run that failed or kept nothing leaves no empty dataset here."""
        with self.session() as s:
            rows = s.scalars(select(Dataset).order_by(Dataset.name)).all()
            tags = s.execute(select(Tag.dataset_id, Tag.name)).all()
        out = []
        for d in rows:
            # A name stored before names were validated whole (one ending in a newline) has
            # no table to open: skipped like any dataset without data, never fatal.
            dt = self._delta(d.name) if is_valid_name(d.name) else None
            if dt is None:
                continue
            latest = dt.version()
            rec = self._fingerprint_record(d.name, latest) if latest is not None else None
            out.append(DatasetInfo(
                name=d.name, description=d.description, created_at=d.created_at,
                latest_version=latest, num_rows=rec.num_rows if rec else None,
                fingerprint=rec.fingerprint if rec else None,
                tags=sorted(t for i, t in tags if i == d.id),
            ))
        return out

    def versions(self, dataset: str) -> list[VersionInfo]:
        """Every version of a dataset's records table, newest first, with fingerprints and tags."""
        with self.session() as s:
            d = self._dataset_row(s, dataset)
            recs = {r.version: r for r in s.scalars(
                select(SnapshotRecord).where(SnapshotRecord.dataset_id == d.id))}
            tags: dict[int, list[str]] = {}
            for t in s.scalars(select(Tag).where(Tag.dataset_id == d.id)):
                tags.setdefault(t.version, []).append(t.name)
        dt = self._delta(dataset)
        if dt is None:
            return []
        out = []
        for h in dt.history():
            v = int(h["version"])
            rec = recs.get(v)
            ts = h.get("timestamp")
            out.append(VersionInfo(
                version=v,
                timestamp=datetime.fromtimestamp(ts / 1000, tz=utcnow().tzinfo) if ts else None,
                operation=str(h.get("curata.operation") or h.get("operation") or ""),
                fingerprint=rec.fingerprint if rec else None,
                num_rows=rec.num_rows if rec else None,
                tags=sorted(tags.get(v, [])),
                run_id=h.get("curata.run_id"),
                user=h.get("curata.user"),
            ))
        return out

    def tags(self, dataset: str) -> list[TagInfo]:
        with self.session() as s:
            d = self._dataset_row(s, dataset)
            return [
                TagInfo(dataset=dataset, name=t.name, version=t.version, fingerprint=t.fingerprint,
                        note=t.note, created_at=t.created_at, created_by=t.created_by)
                for t in s.scalars(select(Tag).where(Tag.dataset_id == d.id).order_by(Tag.version))
            ]

    def snapshots(self, dataset: str) -> list[Snapshot]:
        """One pinned ``Snapshot`` per version (tagged ones carry their tag), newest first."""
        tags = {t.version: t.name for t in self.tags(dataset)}
        return [self._snapshot(dataset, v.version, tags.get(v.version))
                for v in self.versions(dataset)]

    def snapshot(self, ref: str, *, expect_fingerprint: str | None = None) -> Snapshot:
        """Resolve a ref (``NAME``, ``NAME@TAG``, ``NAME@VERSION``, ``NAME@fp:PREFIX``)."""
        r = parse_ref(ref)
        with self.session() as s:
            d = self._dataset_row(s, r.dataset)
            tag_rows = s.scalars(select(Tag).where(Tag.dataset_id == d.id)).all()
            tag_of = {t.version: t.name for t in tag_rows}
            version, tag = self._resolve(s, d, r, ref, tag_rows)
        snap = self._snapshot(r.dataset, version, tag if tag else tag_of.get(version))
        if r.kind == "tag":
            self._check_tag_fingerprint(snap, tag_rows)
        if expect_fingerprint and not snap.fingerprint.startswith(expect_fingerprint.lower()):
            raise FingerprintMismatchError(ref, expected=expect_fingerprint,
                                           actual=snap.fingerprint)
        return snap

    def _resolve(self, s: Session, d: Dataset, r: Any, ref: str,
                 tag_rows: Sequence[Tag]) -> tuple[int, str | None]:
        dt = self._delta(r.dataset)
        latest = dt.version() if dt is not None else None
        if latest is None:
            raise SnapshotNotFoundError(ref, reason="the dataset has no data yet")
        if r.kind == "latest":
            return latest, None
        if r.kind == "version":
            if not 0 <= r.version <= latest:
                raise SnapshotNotFoundError(ref, reason=f"versions are 0..{latest}",
                                            available=[str(v) for v in range(latest + 1)][-10:])
            return r.version, None
        if r.kind == "tag":
            for t in tag_rows:
                if t.name == r.value:
                    return t.version, t.name
            raise SnapshotNotFoundError(ref, reason="no such tag",
                                        available=[t.name for t in tag_rows])
        matches = s.scalars(select(SnapshotRecord).where(
            SnapshotRecord.dataset_id == d.id,
            SnapshotRecord.fingerprint.startswith(r.value))).all()
        versions = sorted({m.version for m in matches})
        if not versions:
            raise SnapshotNotFoundError(ref, reason="no version has that fingerprint prefix")
        if len(versions) > 1:
            raise InvalidRefError(
                ref, reason=f"prefix matches versions {versions}; use more digits")
        return versions[0], None

    def _check_tag_fingerprint(self, snap: Snapshot, tag_rows: Sequence[Tag]) -> None:
        for t in tag_rows:
            if t.name == snap.tag and t.fingerprint != snap.fingerprint:
                raise FingerprintMismatchError(snap.ref, expected=t.fingerprint,
                                               actual=snap.fingerprint)

    def _snapshot(self, dataset: str, version: int, tag: str | None) -> Snapshot:
        rec = self._fingerprint_record(dataset, version)
        return Snapshot(dataset=dataset, version=version, fingerprint=rec.fingerprint,
                        num_rows=rec.num_rows, tag=tag, table_uri=self.table_uri(dataset),
                        storage_options=self.storage_options, catalog=self,
                        fingerprint_scheme=rec.fp_scheme)

    def _fingerprint_record(self, dataset: str, version: int) -> SnapshotRecord:
        """The catalog's record of a version; computed from the data if missing (self-healing
        after a writer died between its Delta commit and its catalog update)."""
        with self.session() as s:
            d = self._dataset_row(s, dataset)
            rec = s.scalar(select(SnapshotRecord).where(
                SnapshotRecord.dataset_id == d.id, SnapshotRecord.version == version))
            if rec is not None:
                return rec
        from curata.writer import record_version

        return record_version(self, dataset, version, operation="recovered")

    # --- tags, runs ---------------------------------------------------------------------------

    def tag(self, dataset: str, tag: str, version: int | None = None, note: str = "", *,
            force: bool = False) -> Snapshot:
        """Name a version (the latest unless given). Tags are immutable unless ``force=True``,
        which is audit-logged. A tagged snapshot is pinned: ``gc`` keeps its files."""
        check_name("tag", tag)
        if tag.isdigit():
            raise InvalidRefError(f"{dataset}@{tag}", reason="tags are never all digits")
        snap = self.snapshot(dataset if version is None else f"{dataset}@{version}")
        with self.session() as s:
            d = self._dataset_row(s, dataset)
            # Insert first: of two racing `tag` calls exactly one creates the tag; the other
            # then sees the committed row (and the immutability rule) under a row lock.
            created = insert_ignore(s, Tag, [{
                "dataset_id": d.id, "name": tag, "version": snap.version,
                "fingerprint": snap.fingerprint, "note": note, "created_at": utcnow(),
                "created_by": current_user()}], ["dataset_id", "name"])
            if created:
                self.audit("tag", dataset=dataset, session=s, details={
                    "tag": tag, "version": snap.version, "fingerprint": snap.fingerprint})
            else:
                row = s.scalars(select(Tag).where(Tag.dataset_id == d.id, Tag.name == tag)
                                .with_for_update().execution_options(populate_existing=True)
                                ).one()
                if row.version != snap.version and not force:
                    raise TagExistsError(dataset, tag, version=row.version,
                                         requested=snap.version)
                if row.version != snap.version:
                    self.audit("tag.force", dataset=dataset, session=s, details={
                        "tag": tag, "from_version": row.version, "to_version": snap.version,
                        "fingerprint": snap.fingerprint, "note": note})
                    row.version, row.fingerprint, row.note = snap.version, snap.fingerprint, note
                    row.created_by, row.created_at = current_user(), utcnow()
        return self._snapshot(dataset, snap.version, tag)

    def runs(self, dataset: str | None = None) -> list[RunInfo]:
        """Ingest/write runs, newest first; runs whose process died are marked ``failed``."""
        self._reconcile_runs()
        with self.session() as s:
            q = select(IngestRun, Dataset.name).join(Dataset).order_by(IngestRun.started_at.desc())
            if dataset:
                q = q.where(Dataset.name == dataset)
            return [
                RunInfo(id=r.id, dataset=name, operation=r.operation, status=r.status,
                        started_at=r.started_at, finished_at=r.finished_at, version=r.version,
                        stats=r.stats, error=r.error, user=r.user)
                for r, name in s.execute(q).all()
            ]

    def _reconcile_runs(self) -> None:
        host = socket.gethostname()
        with self.session() as s:
            for r in s.scalars(select(IngestRun).where(IngestRun.status == "running")):
                if r.host == host and r.pid and not _pid_alive(r.pid):
                    r.status, r.finished_at = "failed", utcnow()
                    r.error = r.error or "the process died before committing"

    # --- writing (see curata.writer) ----------------------------------------------------------

    def append(self, dataset: str, data: Any, *, license: str, source: str,
               source_uri: str | None = None, attribution: str | None = None,
               run_id: str | None = None, schema_evolution: Literal["none", "merge"] = "none",
               commit_metadata: dict[str, str] | None = None,
               target_file_size: int | None = None, description: str = "",
               dedup: Literal["exact", "off"] = "exact", relicense: bool = False) -> Snapshot:
        """Append rows in one Delta commit and return the new snapshot.

        Like ``ingest``, rows whose content (``_id``) is already in the dataset or earlier in
        this call are dropped (``dedup="off"`` keeps every row); when every row is a duplicate
        nothing is committed and the latest snapshot is returned.

        Args:
            dataset: dataset name (created on first append).
            data: a ``pyarrow.Table``, ``RecordBatchReader``, iterable of record batches, or a
                Polars frame (anything with the Arrow PyCapsule stream interface works too).
            license: SPDX license expression of these rows (``_license``).
            source: source name; the source id is stored in ``_source``.
            source_uri: where the data came from (``_provenance.uri``).
            schema_evolution: ``"merge"`` to allow new columns.
            relicense: the source was appended before under another license: give all its
                records this one (a new version, audit-logged) instead of refusing with
                ``SourceLicenseChangedError``.

        Example:
            >>> cat.append("reviews", table, license="CC-BY-4.0", source="upload 2026-11")
        """
        from curata.writer import append

        return append(self, dataset, data, license=license, source=source,
                      source_uri=source_uri, attribution=attribution, run_id=run_id,
                      schema_evolution=schema_evolution, commit_metadata=commit_metadata,
                      target_file_size=target_file_size, description=description,
                      dedup=dedup, relicense=relicense)

    def update_columns(self, dataset: str, data: Any, *, operation: str = "update",
                       derived_from: list[dict[str, Any]] | None = None) -> Snapshot:
        """MERGE columns into existing records by ``_id`` as a new version (labels)."""
        from curata.writer import update_columns

        return update_columns(self, dataset, data, operation=operation,
                              derived_from=derived_from)

    # --- transforms (curata.transforms) ---------------------------------------------------------

    def derive(self, src_ref: str, pipeline: Any, *, into: str, tag: str | None = None) -> Any:
        """Stream ``src_ref`` through ``pipeline`` into a new version of ``into``.

        Cached: with the same transform fingerprint (input fingerprints, pipeline, code
        hashes, library versions) nothing is committed and ``status`` is ``unchanged``.

        Args:
            src_ref: the input snapshot ref.
            pipeline: a ``curata.transforms.Pipeline``, a list of steps, or a YAML/TOML path.
            into: the derived dataset (created on first derive).
            tag: tag the resulting version.

        Returns:
            ``curata.transforms.DeriveResult`` (``status``, ``snapshot``, fingerprints).

        Example:
            >>> cat.derive("reviews@v3", "clean.yaml", into="reviews-clean", tag="v1")
        """
        from curata.transforms import derive

        return derive(self, src_ref, pipeline, into=into, tag=tag)

    def lineage(self, ref: str, *, direction: Literal["both", "up", "down"] = "both") -> Any:
        """Lineage graph of a snapshot: back to ingested sources, forward to derived
        datasets and exports (``curata.transforms.LineageGraph``)."""
        from curata.transforms import lineage

        return lineage(self, ref, direction=direction)

    def diff(self, a: str, b: str, *, key: Sequence[str] = ()) -> Any:
        """Added, removed and changed records between two refs: a multiset diff by ``_id``;
        with ``key`` (columns that name a record), a record whose content changed under the
        same key is "changed" rather than removed and added (``curata.diff.Diff``)."""
        from curata.diff import diff

        return diff(self.snapshot(a), self.snapshot(b), key=key)

    def rejects(self, dataset: str) -> pa.Table:
        """Quarantined input of a dataset with reason, source and locator."""
        with self.session() as s:
            self._dataset_row(s, dataset)
        dt = self._delta(dataset, kind="rejects")
        if dt is None:
            return pa.table({"reason": pa.array([], pa.string())})
        from curata.storage import delta_dataset

        return delta_dataset(dt, self.table_uri(dataset, kind="rejects"), self.storage_options).to_table()

    def gc(self, *, dry_run: bool = True, dataset: str | None = None,
           retention_hours: float | None = None) -> Any:
        """Delete files no version worth keeping needs, once older than the retention (default
        one hour, ``CURATA_GC_RETENTION_HOURS``; never less than the oldest running write);
        never those of tagged snapshots. Rejects of runs that committed nothing go too."""
        from curata.gc import gc

        return gc(self, dry_run=dry_run, dataset=dataset, retention_hours=retention_hours)


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


__all__ = ["Catalog", "DatasetInfo", "VersionInfo", "TagInfo", "RunInfo", "AuditInfo", "connect",
           "insert_ignore"]
