"""Refs to pinned ``Snapshot`` values, and tags (DESIGN.md §5): what ``Catalog.snapshot`` and
``Catalog.tag`` do, as functions of a ``Store`` so that features (derive, lineage, governance)
resolve the other snapshots they name without a ``Catalog``.

A version whose catalog record is missing (a writer died between its Delta commit and its
catalog update) is recorded here, explicitly, by :func:`version_record`; ``Snapshot`` reads
never write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from curata import write
from curata._util import check_name
from curata.errors import FingerprintMismatchError, InvalidRefError, SnapshotNotFoundError
from curata.refs import Ref, parse_ref
from curata.snapshot import Snapshot
from curata.store import Store, TagInfo, VersionRecord


def snapshot(store: Store, ref: str, *, expect_fingerprint: str | None = None) -> Snapshot:
    """Resolve a ref (``NAME``, ``NAME@TAG``, ``NAME@VERSION``, ``NAME@fp:PREFIX``)."""
    r = parse_ref(ref)
    tag_rows = store.tags(r.dataset)  # raises DatasetNotFoundError, listing datasets
    tag_of = {t.version: t.name for t in tag_rows}
    version, tag, dt = _resolve(store, r, ref, tag_rows)
    if dt.version() != version:
        dt.load_as_version(version)
    snap = pinned(store, r.dataset, version, tag if tag else tag_of.get(version), dt)
    if r.kind == "tag":
        for t in tag_rows:
            if t.name == snap.tag and t.fingerprint != snap.fingerprint:
                raise FingerprintMismatchError(snap.ref, expected=t.fingerprint,
                                               actual=snap.fingerprint)
    if expect_fingerprint and not snap.fingerprint.startswith(expect_fingerprint.lower()):
        raise FingerprintMismatchError(ref, expected=expect_fingerprint,
                                       actual=snap.fingerprint)
    return snap


def _resolve(store: Store, r: Ref, ref: str, tag_rows: Sequence[TagInfo]
             ) -> tuple[int, str | None, Any]:
    """The version and tag ``r`` names, and the Delta table the latest version was read from
    (the snapshot keeps it: its log is read once)."""
    dt = store.delta(r.dataset)
    latest = dt.version() if dt is not None else None
    if latest is None:
        raise SnapshotNotFoundError(ref, reason="the dataset has no data yet")
    if r.kind == "latest":
        return latest, None, dt
    if r.kind == "version":
        if not 0 <= r.version <= latest:
            raise SnapshotNotFoundError(ref, reason=f"versions are 0..{latest}",
                                        available=[str(v) for v in range(latest + 1)][-10:])
        return r.version, None, dt
    if r.kind == "tag":
        for t in tag_rows:
            if t.name == r.value:
                return t.version, t.name, dt
        raise SnapshotNotFoundError(ref, reason="no such tag",
                                    available=[t.name for t in tag_rows])
    versions = store.versions_with_fingerprint(r.dataset, r.value)
    if not versions:
        raise SnapshotNotFoundError(ref, reason="no version has that fingerprint prefix")
    if len(versions) > 1:
        raise InvalidRefError(
            ref, reason=f"prefix matches versions {versions}; use more digits")
    return versions[0], None, dt


def pinned(store: Store, dataset: str, version: int, tag: str | None,
           table: Any = None) -> Snapshot:
    """The ``Snapshot`` of a known version (``table``: its Delta table, if loaded already)."""
    rec = version_record(store, dataset, version)
    return Snapshot(dataset=dataset, version=version, fingerprint=rec.fingerprint,
                    num_rows=rec.num_rows, tag=tag, table_uri=store.table_uri(dataset),
                    storage_options=store.storage_options, store=store,
                    fingerprint_scheme=rec.fp_scheme, table_handle=table)


def version_record(store: Store, dataset: str, version: int) -> VersionRecord:
    """The catalog's record of a version. Missing (a writer died between its Delta commit
    and its catalog update), it is computed from the data and stored now."""
    rec = store.version_record(dataset, version)
    if rec is not None:
        return rec
    return write.record_version(store, dataset, version, operation="recovered")


def tag(store: Store, dataset: str, name: str, version: int | None = None, note: str = "", *,
        force: bool = False) -> Snapshot:
    """Name a version (the latest unless given). Tags are immutable unless ``force=True``,
    which is audit-logged. A tagged snapshot is pinned: ``gc`` keeps its files."""
    check_name("tag", name)
    if name.isdigit():
        raise InvalidRefError(f"{dataset}@{name}", reason="tags are never all digits")
    snap = snapshot(store, dataset if version is None else f"{dataset}@{version}")
    store.create_tag(dataset, name, version=snap.version, fingerprint=snap.fingerprint,
                     note=note, force=force)
    return pinned(store, dataset, snap.version, name)


__all__ = ["pinned", "snapshot", "tag", "version_record"]
