"""Catalog tables of the labeling member: label schemas, Label Studio projects, sync cursors.

Registered on the catalog's ``Base`` (``curata.store.models.EXTENSION_MODULES`` imports this
module); created by the Alembic revision ``0003_labeling``. These classes stay inside
``curata_labeling``; the public functions return frozen dataclasses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from curata._util import utcnow
from curata.store import Base
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


class LabelSchemaVersion(Base):
    """One version of a labeling config (Label Studio XML), identified by its canonical hash."""

    __tablename__ = "label_schemas"
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_label_schemas_name_version"),
        UniqueConstraint("name", "config_hash", name="uq_label_schemas_name_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    config_hash: Mapped[str] = mapped_column(String(64))
    config_xml: Mapped[str] = mapped_column(Text)
    controls: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    migration: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128), default="")


class LabelProject(Base):
    """A Label Studio project linked to a dataset and a schema."""

    __tablename__ = "label_projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    dataset: Mapped[str] = mapped_column(String(128), index=True)
    ls_url: Mapped[str] = mapped_column(String(512))
    ls_project_id: Mapped[int] = mapped_column(Integer)
    schema_name: Mapped[str] = mapped_column(String(128))
    schema_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LabelSyncCursor(Base):
    """Where the last successful pull of a project stopped (``updated_at`` high-water mark)."""

    __tablename__ = "label_sync_cursors"

    project_id: Mapped[int] = mapped_column(ForeignKey("label_projects.id"), primary_key=True)
    high_water_mark: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_pull_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
