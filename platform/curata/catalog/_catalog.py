"""The ``Catalog``: the facade users see (DESIGN.md §5). Each method resolves what the user
named and hands over to the module that does the work, with the ``Store`` (the SQL record
and the warehouse handle) and ``Snapshot`` values; none of them reaches back into the facade.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa

from curata import diff as diff_module
from curata import gc as gc_module
from curata import resolve, write
from curata._util import is_valid_name, utcnow
from curata.config import redact_url
from curata.snapshot import Snapshot
from curata.storage import delta_dataset
from curata.store import (
    AuditInfo,
    DatasetInfo,
    RunInfo,
    Store,
    TagInfo,
    VersionInfo,
    VersionRecord,
    open_store,
)
from curata.transforms.derivation import DeriveResult, derive
from curata.transforms.lineage_graph import LineageGraph, lineage


def connect(
    home: str | os.PathLike[str] | None = None,
    catalog_url: str | None = None,
    warehouse: str | None = None,
    *,
    storage_options: dict[str, str] | None = None,
    upgrade: bool | None = None,
    create: bool = False,
) -> Catalog:
    """Open the catalog (``CURATA_HOME`` / ``CURATA_CATALOG_URL`` / ``CURATA_WAREHOUSE``).

    An embedded SQLite catalog is created and upgraded automatically; a server catalog
    (PostgreSQL) at an older schema revision is refused with a ``CatalogSchemaError`` that names
    ``curata db upgrade``. ``create=True`` (``curata init``) creates the schema in an empty
    server database, and still refuses an older one.

    Example:
        >>> cat = curata.connect()
        >>> cat.datasets()
    """
    return Catalog(open_store(home, catalog_url, warehouse, storage_options=storage_options,
                              upgrade=upgrade, create=create))


class Catalog:
    """Datasets, their versions and tags; the write path into the warehouse."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.settings = store.settings
        self.engine = store.engine

    def __repr__(self) -> str:
        return (
            f"Catalog(catalog={redact_url(self.settings.catalog_url)!r}, "
            f"warehouse={self.settings.warehouse!r})"
        )

    @property
    def storage_options(self) -> dict[str, str] | None:
        return self.store.storage_options

    def table_uri(self, dataset: str, kind: str = "records") -> str:
        """URI of one of a dataset's Delta tables (``records``, ``rejects``, ``annotations``…)."""
        return self.store.table_uri(dataset, kind)

    def audit(self, action: str, *, dataset: str | None = None,
              details: dict[str, Any] | None = None) -> None:
        """Record who did what, when (tags, overrides, exports, label syncs…)."""
        self.store.audit(action, dataset=dataset, details=details)

    def audit_log(self, dataset: str | None = None, *, limit: int | None = None) -> list[AuditInfo]:
        """Audit entries, newest first."""
        return self.store.audit_log(dataset, limit=limit)

    # --- reading -----------------------------------------------------------------------------

    def dataset_names(self) -> list[str]:
        """Every dataset the catalog knows, with data or not (a failed first ingest leaves
        its run and rejects under a name that ``datasets()`` does not list)."""
        return self.store.dataset_names()

    def datasets(self) -> list[DatasetInfo]:
        """Datasets that hold data (at least one version), with their latest version, row
        count and tags. A run that failed or kept nothing leaves no empty dataset here."""
        out = []
        for name, description, created_at, tags in self.store.dataset_rows():
            # A name stored before names were validated whole (one ending in a newline) has
            # no table to open: skipped like any dataset without data, never fatal.
            dt = self.store.delta(name) if is_valid_name(name) else None
            if dt is None:
                continue
            rec = self.version_record(name, dt.version())
            out.append(DatasetInfo(
                name=name, description=description, created_at=created_at,
                latest_version=dt.version(), num_rows=rec.num_rows, fingerprint=rec.fingerprint,
                tags=tags))
        return out

    def versions(self, dataset: str) -> list[VersionInfo]:
        """Every version of a dataset's records table, newest first, with fingerprints and tags."""
        recs = self.store.version_records(dataset)
        tags: dict[int, list[str]] = {}
        for t in self.store.tags(dataset):
            tags.setdefault(t.version, []).append(t.name)
        dt = self.store.delta(dataset)
        if dt is None:
            return []
        out = []
        for h in dt.history():
            v = int(h["version"])
            rec = recs.get(v)
            ts = h.get("timestamp")
            out.append(VersionInfo(
                version=v,
                timestamp=datetime.fromtimestamp(ts / 1000, tz=utcnow().tzinfo) if ts else None,
                operation=str(h.get("curata.operation") or h.get("operation") or ""),
                fingerprint=rec.fingerprint if rec else None,
                num_rows=rec.num_rows if rec else None,
                tags=sorted(tags.get(v, [])),
                run_id=h.get("curata.run_id"),
                user=h.get("curata.user"),
            ))
        return out

    def tags(self, dataset: str) -> list[TagInfo]:
        return self.store.tags(dataset)

    def snapshots(self, dataset: str) -> list[Snapshot]:
        """One pinned ``Snapshot`` per version (tagged ones carry their tag), newest first."""
        tags = {t.version: t.name for t in self.tags(dataset)}
        return [self._snapshot(dataset, v.version, tags.get(v.version))
                for v in self.versions(dataset)]

    def snapshot(self, ref: str, *, expect_fingerprint: str | None = None) -> Snapshot:
        """Resolve a ref (``NAME``, ``NAME@TAG``, ``NAME@VERSION``, ``NAME@fp:PREFIX``)."""
        return resolve.snapshot(self.store, ref, expect_fingerprint=expect_fingerprint)

    def _snapshot(self, dataset: str, version: int, tag: str | None) -> Snapshot:
        return resolve.pinned(self.store, dataset, version, tag)

    def version_record(self, dataset: str, version: int) -> VersionRecord:
        """The catalog's record of a version (recorded now if a writer died before it could:
        explicitly here, never as a side effect of reading a snapshot)."""
        return resolve.version_record(self.store, dataset, version)

    # --- tags, runs ---------------------------------------------------------------------------

    def tag(self, dataset: str, tag: str, version: int | None = None, note: str = "", *,
            force: bool = False) -> Snapshot:
        """Name a version (the latest unless given). Tags are immutable unless ``force=True``,
        which is audit-logged. A tagged snapshot is pinned: ``gc`` keeps its files."""
        return resolve.tag(self.store, dataset, tag, version, note, force=force)

    def runs(self, dataset: str | None = None) -> list[RunInfo]:
        """Ingest/write runs, newest first; runs whose process died are marked ``failed``."""
        return self.store.runs(dataset)

    # --- writing (curata.write) ---------------------------------------------------------------

    def append(self, dataset: str, data: Any, *, license: str, source: str,
               source_uri: str | None = None, attribution: str | None = None,
               run_id: str | None = None, schema_evolution: Literal["none", "merge"] = "none",
               commit_metadata: dict[str, str] | None = None,
               target_file_size: int | None = None, description: str = "",
               dedup: Literal["exact", "off"] = "exact", relicense: bool = False) -> Snapshot:
        """Append rows in one Delta commit and return the new snapshot.

        Like ``ingest``, rows whose content (``_id``) is already in the dataset or earlier in
        this call are dropped (``dedup="off"`` keeps every row); when every row is a duplicate
        nothing is committed and the latest snapshot is returned.

        Args:
            dataset: dataset name (created on first append).
            data: a ``pyarrow.Table``, ``RecordBatchReader``, iterable of record batches, or a
                Polars frame (anything with the Arrow PyCapsule stream interface works too).
            license: SPDX license expression of these rows (``_license``).
            source: source name; the source id is stored in ``_source``.
            source_uri: where the data came from (``_provenance.uri``).
            schema_evolution: ``"merge"`` to allow new columns.
            relicense: the source was appended before under another license: give all its
                records this one (a new version, audit-logged) instead of refusing with
                ``SourceLicenseChangedError``.

        Example:
            >>> cat.append("reviews", table, license="CC-BY-4.0", source="upload 2026-11")
        """
        version = write.append(self.store, dataset, data, license=license, source=source,
                               source_uri=source_uri, attribution=attribution, run_id=run_id,
                               schema_evolution=schema_evolution,
                               commit_metadata=commit_metadata,
                               target_file_size=target_file_size, description=description,
                               dedup=dedup, relicense=relicense)
        return self.snapshot(dataset if version is None else f"{dataset}@{version}")

    def update_columns(self, dataset: str, data: Any, *, operation: str = "update",
                       derived_from: list[dict[str, Any]] | None = None) -> Snapshot:
        """MERGE columns into existing records by ``_id`` as a new version (labels)."""
        version = write.update_columns(self.store, dataset, data, operation=operation,
                                       derived_from=derived_from)
        return self.snapshot(f"{dataset}@{version}")

    # --- transforms (curata.transforms) ---------------------------------------------------------

    def derive(self, src_ref: str, pipeline: Any, *, into: str,
               tag: str | None = None, engine: str = "local") -> DeriveResult:
        """Stream ``src_ref`` through ``pipeline`` into a new version of ``into``.

        Cached: with the same transform fingerprint (input fingerprints, pipeline, code
        hashes, library versions) nothing is committed and ``status`` is ``unchanged``.

        Args:
            src_ref: the input snapshot ref.
            pipeline: a ``curata.transforms.Pipeline``, a list of steps, or a YAML/TOML path.
            into: the derived dataset (created on first derive).
            tag: tag the resulting version.
            engine: ``local`` (this process) or ``ray`` (tasks on the Ray cluster of
                ``RAY_ADDRESS``, or a new local one): the same rows, fingerprints and
                lineage. Steps Ray cannot run are refused before it starts (docs/scale.md).

        Returns:
            ``curata.transforms.DeriveResult`` (``status``, ``snapshot``, fingerprints).

        Example:
            >>> cat.derive("reviews@v3", "clean.yaml", into="reviews-clean", tag="v1")
        """
        return derive(self.store, self.snapshot(src_ref), pipeline, into=into, tag=tag,
                      engine=engine)

    def lineage(self, ref: str, *, direction: Literal["both", "up", "down"] = "both"
                ) -> LineageGraph:
        """Lineage graph of a snapshot: back to ingested sources, forward to derived
        datasets and exports (``curata.transforms.LineageGraph``)."""
        return lineage(self.store, self.snapshot(ref), direction=direction)

    def diff(self, a: str, b: str, *, key: Sequence[str] = ()) -> diff_module.Diff:
        """Added, removed and changed records between two refs: a multiset diff by ``_id``;
        with ``key`` (columns that name a record), a record whose content changed under the
        same key is "changed" rather than removed and added (``curata.diff.Diff``)."""
        return diff_module.diff(self.snapshot(a), self.snapshot(b), key=key)

    def rejects(self, dataset: str) -> pa.Table:
        """Quarantined input of a dataset with reason, source and locator."""
        self.store.check_dataset(dataset)
        dt = self.store.delta(dataset, kind="rejects")
        if dt is None:
            return pa.table({"reason": pa.array([], pa.string())})
        uri = self.table_uri(dataset, kind="rejects")
        return delta_dataset(dt, uri, self.storage_options).to_table()  # type: ignore[attr-defined]

    def gc(self, *, dry_run: bool = True, dataset: str | None = None,
           retention_hours: float | None = None) -> gc_module.GcReport:
        """Delete files no version worth keeping needs, once older than the retention (default
        one hour, ``CURATA_GC_RETENTION_HOURS``; never less than the oldest running write);
        never those of tagged snapshots. Rejects of runs that committed nothing go too."""
        return gc_module.gc(self.store, dry_run=dry_run, dataset=dataset,
                            retention_hours=retention_hours)


__all__ = ["AuditInfo", "Catalog", "DatasetInfo", "RunInfo", "TagInfo", "VersionInfo", "connect"]
