"""What the store returns: frozen values, never ORM rows (they stay inside ``curata.store``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
    id: int = 0


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


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionRecord:
    """The catalog's record of one version of a ``records`` table: its fingerprint (under the
    scheme it names), row count and the row-hash sum it was computed from."""

    dataset: str
    version: int
    fingerprint: str
    num_rows: int
    row_sum: dict[str, Any]
    schema_json: str
    fp_scheme: str
    operation: str
    run_id: str | None
    derived_from: list[Any]
    created_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceInfo:
    """A registered source: its license, where it came from and its artifact hashes."""

    id: str
    dataset: str
    name: str
    uri: str
    license: str
    attribution: str
    artifacts: list[Any]
    run_id: str | None
    retrieved_at: datetime | None
    run_status: str | None = None  # of the run that last registered it


@dataclass(frozen=True, slots=True, kw_only=True)
class LineageInputInfo:
    role: str
    ref: str
    dataset: str
    version: int
    fingerprint: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LineageInfo:
    """How one version was derived (``curata derive``)."""

    dataset: str
    version: int
    transform_fingerprint: str
    output_fingerprint: str
    pipeline: dict[str, Any]
    code: dict[str, Any]
    libraries: dict[str, Any]
    stats: dict[str, Any]
    run_id: str | None
    inputs: list[LineageInputInfo] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class FileRecord:
    """A data file of a ``records`` table with the hash of its bytes when first committed."""

    path: str
    size: int
    num_rows: int
    content_hash: str
    added_version: int
