"""Catalog tables of the transform engine: one lineage row per derived version, its inputs.

Registered on ``curata.catalog.models.Base``; created by ``migrations/versions/0005_lineage.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from curata._util import utcnow
from curata.catalog.models import Base


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
