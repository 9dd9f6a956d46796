"""Catalog facts about one snapshot, the single input of every BOM writer and the datasheet.

Collecting (:func:`curata.governance.collect.collect_facts`) is kept apart from rendering so
the writers are pure functions of these values: the same facts always give the same document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from curata.storage import filesystem

_CHUNK = 8 << 20  # hash files in 8 MiB reads: flat memory for files of any size


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldFacts:
    """One column of the snapshot's schema.

    Attributes:
        name: the column name (system columns start with ``_``).
        type: the Arrow type, as Arrow prints it.
    """

    name: str
    type: str

    @property
    def system(self) -> bool:
        return self.name.startswith("_")


@dataclass(frozen=True, slots=True, kw_only=True)
class FileFacts:
    """One data file of the snapshot (a Parquet file of the Delta table, or an export shard).

    Attributes:
        path: the path relative to the table root (what a BOM lists).
        uri: the absolute URI or local path.
        size: bytes.
        sha256: hex digest of the file's bytes.
        encoding_format: MIME type.
    """

    path: str
    uri: str
    size: int
    sha256: str
    encoding_format: str = "application/x-parquet"


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceFacts:
    """One source of records and what its records carry.

    Attributes:
        id: the ``_source`` value.
        name: a display name (the source's name in the catalog, else its id).
        uri: where it was read from, if known.
        license: the license expression recorded for the source (most common among its rows).
        attribution: who must be credited, as recorded at ingest (``None`` if never given).
        records: rows of the snapshot from this source.
        licenses: license expression -> rows, for this source.
    """

    id: str
    name: str
    uri: str | None
    license: str
    attribution: str | None
    records: int
    licenses: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class DerivedFrom:
    """One thing a snapshot derives from (the catalog's ``snapshots.derived_from`` entries).

    Attributes:
        ref: a snapshot ref (``reviews@v2``) or another identifier (a label project).
        fingerprint: the snapshot fingerprint, when ``ref`` is a snapshot.
        kind: what the derivation was (``labels``, ``filter``, ``merge``, ``label-project``...).
        details: free-form facts (label project id, schema version, adjudication method, ...).
        depth: 1 for a direct parent, 2 for a grandparent, ... (the provenance chain).
        parent: the ref this entry was recorded on.
    """

    ref: str
    fingerprint: str | None = None
    kind: str = "derived"
    details: Mapping[str, Any] = field(default_factory=dict)
    depth: int = 1
    parent: str | None = None

    @classmethod
    def from_json(
        cls, entry: Mapping[str, Any] | str, *, depth: int = 1, parent: str | None = None
    ) -> DerivedFrom:
        """Build from one ``derived_from`` JSON entry; a bare string is a ref."""
        if isinstance(entry, str):
            return cls(ref=entry, depth=depth, parent=parent)
        return cls(
            ref=str(entry.get("ref") or entry.get("id") or "unknown"),
            fingerprint=entry.get("fingerprint"),
            kind=str(entry.get("kind") or "derived"),
            details=dict(entry.get("details") or {}),
            depth=depth,
            parent=parent,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One row of the catalog's audit log.

    Attributes:
        id: row id (monotonic).
        at: when it happened (UTC).
        actor: who did it.
        action: what was done (``tag``, ``license-override``, ``export``, ``gc``, ...).
        dataset: which dataset, if any.
        details: what exactly (refs, versions, reasons).
    """

    id: int
    at: datetime
    actor: str
    action: str
    dataset: str | None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "dataset": self.dataset,
            "details": dict(self.details),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotFacts:
    """Everything the catalog knows about one snapshot that a BOM or datasheet states.

    Attributes:
        dataset: the dataset name.
        ref: the ref as resolved (``reviews@v3``).
        version: the Delta table version.
        tag: the tag naming it, if any.
        fingerprint: the snapshot fingerprint.
        num_rows: rows in the snapshot.
        created_at: when the version was committed, if known.
        fields: the schema.
        sources: where the rows came from, most rows first.
        license_counts: license expression -> rows.
        files: the data files with sha256.
        derived_from: the provenance chain, direct parents first.
        audit: audit-log entries for the dataset, oldest first.
        table_uri: the Delta table the snapshot pins.
        description: the dataset description, if the catalog holds one.
        creators: who created the snapshot (actors of its commits/tags).
        label_columns: columns holding adjudicated labels, if known.
        rejects: rows quarantined at ingest for this dataset, if known.
    """

    dataset: str
    ref: str
    version: int
    tag: str | None
    fingerprint: str
    num_rows: int
    created_at: datetime | None
    fields: tuple[FieldFacts, ...]
    sources: tuple[SourceFacts, ...]
    license_counts: Mapping[str, int]
    files: tuple[FileFacts, ...] = ()
    derived_from: tuple[DerivedFrom, ...] = ()
    audit: tuple[AuditEntry, ...] = ()
    table_uri: str = ""
    description: str | None = None
    creators: tuple[str, ...] = ()
    label_columns: tuple[str, ...] = ()
    rejects: int | None = None

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def content_fields(self) -> tuple[FieldFacts, ...]:
        return tuple(f for f in self.fields if not f.system)


def sha256_file(uri: str, storage_options: Mapping[str, Any] | None = None) -> tuple[str, int]:
    """Stream a file through SHA-256.

    Returns:
        ``(hex digest, size in bytes)``.
    """
    fs, path = filesystem(uri, dict(storage_options or {}) or None)
    digest = hashlib.sha256()
    size = 0
    with fs.open_input_stream(path) as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def hash_files(
    root: str, paths: Iterable[str], storage_options: Mapping[str, Any] | None = None
) -> tuple[FileFacts, ...]:
    """Hash each data file under ``root`` (sorted by path, so documents are reproducible)."""
    out = []
    for rel in sorted(paths):
        uri = rel if "://" in rel or rel.startswith("/") else f"{root.rstrip('/')}/{rel}"
        sha, size = sha256_file(uri, storage_options)
        out.append(FileFacts(path=rel, uri=uri, size=size, sha256=sha))
    return tuple(out)
