"""Provenance: what a snapshot derives from, recorded at write time and followed at read time.

Writers that derive a snapshot (label pulls, adjudication, filters, merges) pass
``derived_from=[derivation(parent, "labels", label_project=..., schema_version=...,
adjudication=...)]`` to ``Catalog.update_columns`` (stored in the catalog's
``snapshots.derived_from``); :func:`provenance_chain` follows those entries back through every
ancestor this catalog knows, and the BOM writers list the chain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from curata import resolve
from curata.errors import CurataError, SnapshotNotFoundError, UsageError
from curata.governance.facts import DerivedFrom

if TYPE_CHECKING:
    from curata.snapshot import Snapshot
    from curata.store import Store

#: How far back :func:`provenance_chain` follows parents (guards against cycles too).
MAX_DEPTH = 16


def derivation(parent: Snapshot | str, kind: str, **details: Any) -> dict[str, Any]:
    """One ``derived_from`` entry in the shape the catalog stores and the BOM reads.

    Args:
        parent: the snapshot derived from (its ref and fingerprint are recorded), or a plain
            identifier such as ``"label-studio:project/12"``.
        kind: what was done: ``labels``, ``adjudication``, ``filter``, ``merge``, ...
        **details: JSON-ready facts: label project, schema version, adjudication method, ...

    Example:
        >>> cat.update_columns("reviews", labels, operation="labels", derived_from=[
        ...     derivation(snap, "labels", label_project=12, schema_version=3,
        ...                adjudication="majority")])  # doctest: +SKIP
    """
    if isinstance(parent, str):
        return {"ref": parent, "fingerprint": None, "kind": kind, "details": details}
    return {"ref": parent.ref, "fingerprint": parent.fingerprint, "kind": kind, "details": details}


def record_derivation(
    store: Store, snap: Snapshot, entries: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, Any], ...]:
    """Add ``derived_from`` entries to a snapshot's catalog record, audit-logged.

    For snapshots written without them, e.g. a derived dataset created with
    ``Catalog.append``. Entries already recorded are not repeated; nothing is ever removed,
    and the data (hence the fingerprint) is untouched.

    Args:
        store: the catalog's store (``Catalog.store``).
        snap: the snapshot that derives from something.
        entries: entries as built by :func:`derivation` (each needs a ``ref`` and a ``kind``).

    Returns:
        The entries that were added.

    Raises:
        UsageError: an entry without a ``ref`` or ``kind``.
        SnapshotNotFoundError: the catalog has no record of that version.
    """
    new = [_checked(e) for e in entries]
    try:
        added = store.add_derived_from(snap.dataset, snap.version, new)
    except LookupError:
        raise SnapshotNotFoundError(snap.ref, reason="no catalog record of this version") from None
    return tuple(added)


def _checked(entry: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(entry, Mapping) or not entry.get("ref") or not entry.get("kind"):
        raise UsageError(
            f"Invalid derived_from entry {entry!r}: it needs a 'ref' and a 'kind'",
            hint="Build entries with curata.governance.derivation(parent, kind, **details)",
        )
    return json.loads(json.dumps(dict(entry), default=str))  # what the JSON column will hold


def recorded_derivations(store: Store, dataset: str, version: int) -> list[Any]:
    """The raw ``derived_from`` list the catalog holds for one version (empty if none)."""
    rec = store.version_record(dataset, version)
    return list(rec.derived_from) if rec is not None else []


def provenance_chain(store: Store, snap: Snapshot, *, max_depth: int = MAX_DEPTH):
    """Every ancestor of ``snap``: direct parents (depth 1) first, then theirs.

    Entries whose ref resolves in this catalog are followed to their own ``derived_from``;
    others (label projects, external datasets) end their branch. Each ancestor appears once.

    Returns:
        A tuple of :class:`~curata.governance.facts.DerivedFrom`.
    """
    chain: list[DerivedFrom] = []
    seen = {(snap.dataset, snap.version)}
    frontier = [(snap.ref, snap.dataset, snap.version)]
    for depth in range(1, max_depth + 1):
        next_frontier = []
        for parent_ref, dataset, version in frontier:
            for raw in recorded_derivations(store, dataset, version):
                entry = DerivedFrom.from_json(raw, depth=depth, parent=parent_ref)
                chain.append(entry)
                resolved = _resolve(store, entry)
                if resolved is not None and (resolved.dataset, resolved.version) not in seen:
                    seen.add((resolved.dataset, resolved.version))
                    next_frontier.append((entry.ref, resolved.dataset, resolved.version))
        if not next_frontier:
            break
        frontier = next_frontier
    return tuple(chain)


def _resolve(store: Store, entry: DerivedFrom) -> Snapshot | None:
    if "@" not in entry.ref or "://" in entry.ref:
        return None
    try:
        # Pin by fingerprint when recorded: a moved tag must not rewrite history.
        if entry.fingerprint:
            dataset = entry.ref.split("@", 1)[0]
            return resolve.snapshot(store, f"{dataset}@fp:{entry.fingerprint}")
        return resolve.snapshot(store, entry.ref)
    except CurataError:
        return None  # an ancestor outside this catalog (or since removed) ends the branch
