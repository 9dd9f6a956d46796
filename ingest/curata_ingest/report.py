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
    skipped: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestReport:
    """The outcome of one ingest run.

    Attributes:
        status: ``committed`` (one new version), ``unchanged`` (nothing new: sources had the
            same artifact hashes, or every row was a duplicate) or ``failed``.
        duplicates: exact plus near duplicates dropped (``near_duplicates`` of them near).
        license_flagged: the license is ``unknown`` — allowed only when given explicitly.
        skipped: input files the sources did not take (``skip_reasons`` by reason: another
            format, hidden, a symbolic link leading outside the folder, ...), each listed in
            ``skipped_files`` with its path and reason.
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
    skipped: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)
    skipped_files: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def skip_summary(skipped: list[Any]) -> dict[str, Any]:
    """``skipped``, ``skip_reasons`` and ``skipped_files`` of a report, from ``Skipped`` items."""
    reasons: dict[str, int] = {}
    for s in skipped:
        reasons[s.reason] = reasons.get(s.reason, 0) + 1
    return {"skipped": len(skipped), "skip_reasons": dict(sorted(reasons.items())),
            "skipped_files": [{"path": s.path, "reason": s.reason, "detail": s.detail}
                              for s in skipped]}
