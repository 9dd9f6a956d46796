"""SQLAlchemy models of the catalog: what the Delta log does not hold (DESIGN.md §3).

Private to ``curata.store``: every other module reads and writes the record through
``curata.store.Store``, whose methods return frozen dataclasses. Members with tables of their own
(``curata_labeling``) define them on ``Base`` (re-exported as ``curata.store.Base``, the
extension point) and open transactions with ``Store.session()``. The schema changes only through
Alembic revisions in ``migrations/versions``.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from curata._util import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Members that add their own tables register them on this Base; Alembic's env imports them.
EXTENSION_MODULES = ("curata_ingest.models", "curata_labeling.models")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def load_extensions() -> None:
    """Import the models of installed members so their tables join ``Base.metadata``."""
    for name in EXTENSION_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise


def _ts() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), default=utcnow)


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = _ts()
    created_by: Mapped[str] = mapped_column(String(128), default="")


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    name: Mapped[str] = mapped_column(String(512))
    uri: Mapped[str] = mapped_column(Text, default="")
    license: Mapped[str] = mapped_column(String(512))
    attribution: Mapped[str] = mapped_column(Text, default="")
    retrieved_at: Mapped[datetime] = _ts()
    artifacts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class IngestRun(Base):
    __tablename__ = "ingest_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    operation: Mapped[str] = mapped_column(String(32), default="append")
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = _ts()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    version: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    user: Mapped[str] = mapped_column(String(128), default="")
    host: Mapped[str] = mapped_column(String(256), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    tool_version: Mapped[str] = mapped_column(String(32), default="")


class SnapshotRecord(Base):
    """One Delta version of a dataset's ``records`` table with its fingerprint."""

    __tablename__ = "snapshots"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    version: Mapped[int] = mapped_column(BigInteger)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    num_rows: Mapped[int] = mapped_column(BigInteger)
    row_sum: Mapped[dict[str, Any]] = mapped_column(JSON)
    schema_json: Mapped[str] = mapped_column(Text)
    # The fingerprint scheme (curata.fingerprint.SCHEMES) the fingerprint and row_sum use.
    fp_scheme: Mapped[str] = mapped_column(String(32))
    operation: Mapped[str] = mapped_column(String(32), default="")
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    derived_from: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = _ts()


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(BigInteger)
    fingerprint: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = _ts()
    created_by: Mapped[str] = mapped_column(String(128), default="")


class DataFile(Base):
    """A Parquet file of a ``records`` table, with the hash of its bytes for ``verify``."""

    __tablename__ = "data_files"
    __table_args__ = (UniqueConstraint("dataset_id", "path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    path: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(BigInteger)
    num_rows: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str] = mapped_column(String(32))
    added_version: Mapped[int] = mapped_column(BigInteger)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = _ts()
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64), index=True)
    dataset: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Lineage(Base):
    """How one version of a dataset was derived: pipeline, code, libraries, fingerprint."""

    __tablename__ = "lineage"
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    version: Mapped[int] = mapped_column(BigInteger)
    transform_fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    output_fingerprint: Mapped[str] = mapped_column(String(64))
    pipeline: Mapped[dict[str, Any]] = mapped_column(JSON)
    code: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    libraries: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128), default="")


class LineageInput(Base):
    """One input snapshot of a derived version (the source, or a joined snapshot)."""

    __tablename__ = "lineage_inputs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lineage_id: Mapped[int] = mapped_column(ForeignKey("lineage.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(300))
    dataset: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(BigInteger)
    fingerprint: Mapped[str] = mapped_column(String(64))
