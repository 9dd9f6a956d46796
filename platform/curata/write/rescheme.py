"""Re-fingerprint versions recorded under an older fingerprint scheme (``curata db upgrade``).

A scheme change (``curata.fingerprint.SCHEMES``) never rewrites a record behind the user's
back: old records keep verifying under the scheme they name. ``curata db upgrade`` calls
:func:`refingerprint` after the schema migrations; it rescans each such version's files, stores
the fingerprint under the current scheme, moves the tags that pin the version to the new value
and writes one ``fingerprint.rescheme`` audit entry per version with the old and new values, so
a script holding an old fingerprint can map it. Versions whose files are gone (vacuumed) stay
under their old scheme and are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa
from sqlalchemy import select

from curata import fingerprint as fp
from curata.catalog.models import Dataset, SnapshotRecord, Tag


@dataclass(frozen=True, slots=True, kw_only=True)
class Refingerprinted:
    dataset: str
    version: int
    scheme_from: str
    scheme_to: str
    fingerprint_from: str
    fingerprint_to: str | None  # None: the version's files could not be read (kept as it was)
    problem: str = ""


def refingerprint(cat: Any) -> list[Refingerprinted]:
    """Re-fingerprint every version recorded under an older scheme; returns what changed."""
    with cat.session() as s:
        old = s.execute(
            select(Dataset.name, SnapshotRecord.version)
            .join(Dataset, Dataset.id == SnapshotRecord.dataset_id)
            .where(SnapshotRecord.fp_scheme != fp.FINGERPRINT_VERSION)
            .order_by(Dataset.name, SnapshotRecord.version)).all()
    return [_one(cat, name, version) for name, version in old]


def _one(cat: Any, dataset: str, version: int) -> Refingerprinted:
    from curata.verify import scan_files

    with cat.session() as s:
        rec = _record(s, dataset, version)
        before = Refingerprinted(dataset=dataset, version=version, scheme_from=rec.fp_scheme,
                                 scheme_to=fp.FINGERPRINT_VERSION,
                                 fingerprint_from=rec.fingerprint, fingerprint_to=None)
    dt = cat._delta(dataset, version)
    scan = scan_files(cat.table_uri(dataset), dt, cat.storage_options)
    if scan.problems:
        return replace(before, problem="; ".join(scan.problems[:3]))
    new = fp.combine(pa.schema(dt.schema().to_arrow()), scan.total)
    with cat.session() as s:
        rec = _record(s, dataset, version)
        rec.fingerprint, rec.row_sum = new, scan.total.to_json()
        rec.fp_scheme = fp.FINGERPRINT_VERSION
        tags = s.scalars(select(Tag).where(Tag.dataset_id == rec.dataset_id,
                                           Tag.version == version)).all()
        for t in tags:
            t.fingerprint = new
        cat.audit("fingerprint.rescheme", dataset=dataset, session=s, details={
            "version": version, "from_scheme": before.scheme_from,
            "to_scheme": fp.FINGERPRINT_VERSION, "from": before.fingerprint_from, "to": new,
            "tags": sorted(t.name for t in tags)})
    return replace(before, fingerprint_to=new)


def _record(s: Any, dataset: str, version: int) -> SnapshotRecord:
    return s.scalars(select(SnapshotRecord).join(Dataset, Dataset.id == SnapshotRecord.dataset_id)
                     .where(Dataset.name == dataset, SnapshotRecord.version == version)).one()

