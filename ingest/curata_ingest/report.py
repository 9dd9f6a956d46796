"""What an ingest returns (and what ``ingest --json`` prints)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["committed", "unchanged", "failed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceReport:
    """Counts for one source of a run; ``rows_read == rows_written + duplicates + rejected``."""

    name: str
    uri: str
    format: str
    source_id: str
    rows_read: int
    rows_written: int
    duplicates: int
    rejected: int
    artifacts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestReport:
    """The outcome of one ingest run.

    Attributes:
        status: ``committed`` (one new version), ``unchanged`` (nothing new: sources had the
            same artifact hashes, or every row was a duplicate) or ``failed``.
        duplicates: exact plus near duplicates dropped (``near_duplicates`` of them near).
        license_flagged: the license is ``unknown`` — allowed only when given explicitly.
    """

    status: Status
    dataset: str
    version: int | None
    fingerprint: str | None
    run_id: str
    license: str
    license_flagged: bool
    rows_read: int
    rows_written: int
    duplicates: int
    near_duplicates: int
    rejected: int
    reject_reasons: dict[str, int]
    bytes_read: int
    seconds: float
    sources: list[SourceReport]
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
