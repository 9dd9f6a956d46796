"""``Catalog.gc``: vacuum files no kept version needs; tagged snapshots are never touched."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from curata._util import is_valid_name

if TYPE_CHECKING:
    from curata.catalog import Catalog


@dataclass(frozen=True, slots=True, kw_only=True)
class GcReport:
    dry_run: bool
    files: dict[str, list[str]] = field(default_factory=dict)  # dataset -> removed (or removable)
    kept_versions: dict[str, list[int]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.files.values())

    def to_dict(self) -> dict[str, object]:
        return {"dry_run": self.dry_run, "count": self.count, "files": self.files,
                "kept_versions": self.kept_versions}


def gc(cat: Catalog, *, dry_run: bool = True, dataset: str | None = None) -> GcReport:
    """Remove unreferenced files: those of old untagged versions and of interrupted writes.

    Kept: the latest version of each table and every tagged version of ``records``
    (Delta ``vacuum`` with ``keep_versions``), with zero retention.
    """
    # Names stored before they were validated whole have no table (see Catalog.datasets).
    names = [dataset] if dataset else [d.name for d in cat.datasets() if is_valid_name(d.name)]
    files: dict[str, list[str]] = {}
    kept: dict[str, list[int]] = {}
    for name in names:
        tagged = sorted({t.version for t in cat.tags(name)})
        for kind in ("records", "rejects", "annotations"):
            dt = cat._delta(name, kind=kind)
            if dt is None:
                continue
            keep = [*tagged, dt.version()] if kind == "records" else [dt.version()]
            removed = dt.vacuum(retention_hours=0, dry_run=dry_run,
                                enforce_retention_duration=False, keep_versions=sorted(set(keep)),
                                full=True)  # full: also files no commit ever referenced
            if removed:
                files[f"{name}/{kind}"] = sorted(removed)
            if kind == "records":
                kept[name] = sorted(set(keep))
    report = GcReport(dry_run=dry_run, files=files, kept_versions=kept)
    if not dry_run:
        cat.audit("gc", dataset=dataset, details={"removed": report.count,
                                                  "kept_versions": kept})
    return report
