"""Gather the catalog facts about one snapshot that the BOM writers and the datasheet state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from curata.governance.audit import audit_entries
from curata.governance.facts import (
    FieldFacts,
    FileFacts,
    SnapshotFacts,
    SourceFacts,
    hash_files,
)
from curata.governance.provenance import provenance_chain
from curata.governance.report import SourceRow, license_mix, source_rows

if TYPE_CHECKING:
    from curata.snapshot import Snapshot
    from curata.store import Store


def collect_facts(
    store: Store,
    snap: Snapshot,
    *,
    files: Sequence[FileFacts] | None = None,
    with_files: bool = True,
) -> SnapshotFacts:
    """Everything the catalog knows about a snapshot, for a BOM or datasheet.

    Args:
        store: the catalog's store (sources, runs, tags).
        snap: the pinned snapshot.
        files: data files to list instead of the snapshot's Parquet files (export shards).
        with_files: hash the snapshot's Parquet files (sha256; reads every byte once).

    Example:
        >>> facts = collect_facts(cat.store, cat.snapshot("reviews@v3"))  # doctest: +SKIP
    """
    mix = license_mix(snap)
    rows = source_rows(store, sorted({s for _, s, _ in mix if s is not None}))
    record = _snapshot_record(store, snap)
    counts: dict[str, int] = defaultdict(int)
    for lic, _, n in mix:
        counts[lic or "unknown"] += n
    if files is None:
        files = _snapshot_files(snap) if with_files else ()
    return SnapshotFacts(
        dataset=snap.dataset,
        ref=snap.ref,
        version=snap.version,
        tag=snap.tag,
        fingerprint=snap.fingerprint,
        num_rows=snap.num_rows,
        created_at=_utc(record.get("created_at")),
        fields=_fields(snap.schema),
        sources=_sources(mix, rows),
        license_counts=dict(counts),
        files=tuple(files),
        derived_from=provenance_chain(store, snap),
        audit=tuple(audit_entries(store, snap.dataset)),
        table_uri=snap.table_uri,
        description=record.get("description") or None,
        creators=_creators(store, snap),
        label_columns=_label_columns(store, snap),
        rejects=_rejects(store, snap.dataset),
    )


def _utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _fields(schema: pa.Schema) -> tuple[FieldFacts, ...]:
    return tuple(FieldFacts(name=f.name, type=str(f.type)) for f in schema)


def _snapshot_record(store: Store, snap: Snapshot) -> dict[str, Any]:
    rec = store.version_record(snap.dataset, snap.version)
    if rec is None:
        return {}
    return {"created_at": rec.created_at,
            "description": store.dataset_description(snap.dataset)}


def _sources(
    mix: Sequence[tuple[str | None, str | None, int]], rows: dict[str, SourceRow]
) -> tuple[SourceFacts, ...]:
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for lic, src, n in mix:
        per[src or "unknown"][lic or "unknown"] += n
    out = []
    for sid, licenses in per.items():
        row = rows.get(sid)
        top = max(licenses, key=lambda k: licenses[k])
        out.append(
            SourceFacts(
                id=sid,
                name=row.name if row else sid,
                uri=row.uri if row else None,
                license=row.license if row else top,
                attribution=row.attribution if row else None,
                records=sum(licenses.values()),
                licenses=dict(licenses),
            )
        )
    return tuple(sorted(out, key=lambda s: (-s.records, s.id)))


def _snapshot_files(snap: Snapshot) -> tuple[FileFacts, ...]:
    paths = [f["path"] for f in snap.files()]
    return hash_files(snap.table_uri, paths, snap.storage_options)


def _creators(store: Store, snap: Snapshot) -> tuple[str, ...]:
    """Who made this snapshot: the writers of its versions and whoever tagged it."""
    people = [
        r.user
        for r in store.runs(snap.dataset)
        if r.user and r.version is not None and r.version <= snap.version
    ]
    people += [
        t.created_by for t in store.tags(snap.dataset) if t.version == snap.version and t.created_by
    ]
    return tuple(dict.fromkeys(sorted(people)))


def _label_columns(store: Store, snap: Snapshot) -> tuple[str, ...]:
    """Columns that label writes added (named in their ``derived_from`` details)."""
    cols: list[str] = []
    for entry in provenance_chain(store, snap, max_depth=1):
        named = entry.details.get("columns") or entry.details.get("label_columns") or []
        if isinstance(named, str):
            named = [named]
        cols += [str(c) for c in named]
    return tuple(dict.fromkeys(cols))


def _rejects(store: Store, dataset: str) -> int | None:
    """Rows quarantined at ingest, from the rejects table's file statistics (no data read)."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        dt = DeltaTable(store.table_uri(dataset, "rejects"), storage_options=store.storage_options)
    except TableNotFoundError:
        return 0
    actions = pa.table(dt.get_add_actions(flatten=True))
    if "num_records" not in actions.column_names:
        return None
    return int(sum(n or 0 for n in actions.column("num_records").to_pylist()))
