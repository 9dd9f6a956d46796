"""``Catalog.gc``: vacuum files no kept version needs; tagged snapshots are never touched."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from curata._util import is_valid_name
from curata.errors import UsageError
from curata.storage import TABLE_KINDS

if TYPE_CHECKING:
    from curata.store import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class GcReport:
    dry_run: bool
    files: dict[str, list[str]] = field(default_factory=dict)  # dataset -> removed (or removable)
    kept_versions: dict[str, list[int]] = field(default_factory=dict)
    retention_hours: float = 0.0
    rejects_reclaimed: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.files.values())

    def to_dict(self) -> dict[str, object]:
        return {"dry_run": self.dry_run, "count": self.count, "files": self.files,
                "kept_versions": self.kept_versions, "retention_hours": self.retention_hours,
                "rejects_reclaimed": self.rejects_reclaimed}


DEFAULT_RETENTION_HOURS = 1.0
# Files a running write has made are younger than the write; this much more is kept, for the
# clock skew between the machine that writes and the one that collects.
_MARGIN_HOURS = 0.25


def effective_retention(store: Store, requested: float | None = None) -> float:
    """How old an unreferenced file must be before ``gc`` removes it.

    ``requested``, else ``CURATA_GC_RETENTION_HOURS``, else one hour (Delta's vacuum keeps a
    week); never less than the age of the oldest running write (plus a margin), since its
    staged files are referenced by no commit yet. ``curata gc`` during an ingest once deleted
    the ingest's files, which then committed a version pointing at nothing.
    """
    hours = requested if requested is not None else float(
        os.environ.get("CURATA_GC_RETENTION_HOURS", DEFAULT_RETENTION_HOURS))
    if hours < 0:
        raise UsageError(f"--retention-hours must be >= 0, got {hours}")
    running = [r.started_at for r in store.runs() if r.status == "running"]
    if running:
        oldest = min(t if t.tzinfo else t.replace(tzinfo=UTC) for t in running)
        age = (datetime.now(UTC) - oldest).total_seconds() / 3600
        hours = max(hours, age + _MARGIN_HOURS)
    return hours


def gc(store: Store, *, dry_run: bool = True, dataset: str | None = None,
       retention_hours: float | None = None) -> GcReport:
    """Remove unreferenced files: those of old untagged versions and of interrupted writes,
    once older than the retention (:func:`effective_retention`); and the rejects of runs that
    committed nothing.

    Kept: the latest version of each table and every tagged version of ``records``
    (Delta ``vacuum`` with ``keep_versions``), and every file a running write may still need.
    """
    hours = effective_retention(store, retention_hours)
    # Names stored before they were validated whole have no table (see Catalog.datasets).
    names = [dataset] if dataset else [n for n in store.dataset_names() if is_valid_name(n)]
    files: dict[str, list[str]] = {}
    kept: dict[str, list[int]] = {}
    reclaimed: dict[str, int] = {}
    for name in names:
        if not dry_run and (n := _reclaim_rejects(store, name)):
            reclaimed[name] = n
        tagged = sorted({t.version for t in store.tags(name)})
        for kind in TABLE_KINDS:
            dt = store.delta(name, kind=kind)
            if dt is None:
                continue
            keep = [*tagged, dt.version()] if kind == "records" else [dt.version()]
            # delta-rs counts whole hours: rounded up, never down
            removed = dt.vacuum(retention_hours=math.ceil(hours), dry_run=dry_run,
                                enforce_retention_duration=False, keep_versions=sorted(set(keep)),
                                full=True)  # full: also files no commit ever referenced
            if removed:
                files[f"{name}/{kind}"] = sorted(removed)
            if kind == "records":
                kept[name] = sorted(set(keep))
    report = GcReport(dry_run=dry_run, files=files, kept_versions=kept,
                      retention_hours=hours, rejects_reclaimed=reclaimed)
    if not dry_run:
        store.audit("gc", dataset=dataset, details={
            "removed": report.count, "kept_versions": kept, "retention_hours": hours,
            "rejects_reclaimed": reclaimed})
    return report


def _reclaim_rejects(store: Store, dataset: str) -> int:
    """Delete the rejects of the dataset's runs that committed nothing (failed, cancelled or
    unchanged): they were kept for inspection until now. Returns how many rows went."""
    dt = store.delta(dataset, kind="rejects")
    if dt is None:
        return 0
    done = [r.id for r in store.runs(dataset) if r.status in ("failed", "cancelled", "unchanged")]
    if not done:
        return 0
    # Run ids are hex (Curata's) or validated names: no quote can end the SQL literal.
    ids = ", ".join("'" + i.replace("'", "''") + "'" for i in done)
    result = dt.delete(predicate=f"run_id IN ({ids})")
    return int(result.get("num_deleted_rows", 0))
