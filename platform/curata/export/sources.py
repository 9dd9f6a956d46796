"""What the export needs from the catalog: source details and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from curata.export.manifest import ExportManifest


def source_details(snapshot: Any, source_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Catalog fields (name, uri, license, attribution) of the given sources, by id.

    A snapshot without a catalog (e.g. built in memory) has no details; the attribution file
    then lists sources by id and record counts only.
    """
    store = getattr(snapshot, "store", None)
    if store is None or not source_ids:
        return {}
    return {sid: {"name": r.name, "uri": r.uri, "license": r.license,
                  "attribution": r.attribution or ""}
            for sid, r in store.sources(source_ids).items()}


def record_export(snapshot: Any, manifest: ExportManifest, *, engine: str = "local") -> None:
    """Audit-log the export (with the engine that wrote it) and every license override."""
    store = getattr(snapshot, "store", None)
    if store is None:
        return
    base = {"ref": manifest.ref, "fingerprint": manifest.fingerprint, "out": manifest.out,
            "format": "webdataset"}
    for override in manifest.overrides:
        store.audit("license_override", dataset=manifest.dataset,
                      details={**base, **override})
    store.audit("export", dataset=manifest.dataset,
                  details={**base, "samples": manifest.num_samples, "bytes": manifest.num_bytes,
                           "shards": len(manifest.shards), "options": manifest.options,
                           "engine": engine})
