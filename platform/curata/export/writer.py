"""``export_webdataset``: write a pinned snapshot as reproducible WebDataset shards.

Shards are written under hidden temporary names (``.NAME-000000.tar.<token>.partial``); only
when every shard is complete are they renamed, followed by the ``wids`` index and
``ATTRIBUTION.md``, and ``manifest.json`` last. A killed export therefore leaves no manifest
and no file with a final shard name from this run.

With ``engine="ray"`` the shards are written by Ray Data tasks (``curata.export.ray``); options,
census, license gate, sidecars and publication stay here, so both engines write the same bytes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from curata import interrupt
from curata.config import resolve
from curata.export.errors import ExportOptionError
from curata.export.gate import check_licenses
from curata.export.manifest import (
    ATTRIBUTION,
    MANIFEST,
    ExportManifest,
    ShardInfo,
    attribution_markdown,
    dumps,
    manifest_document,
    wids_index,
)
from curata.export.options import ExportOptions, build_options
from curata.export.publish import (
    Staging,
    check_folder,
    previous_files,
    read_manifest,
    unchanged_manifest,
)
from curata.export.ray import check_ray_export, write_shards_ray
from curata.export.samples import Field, plan_fields
from curata.export.selection import Census, Selection
from curata.export.shardset import ShardSet
from curata.export.sources import record_export, source_details
from curata.storage import fsspec_options

_NAME_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
ENGINES = ("local", "ray")


def export_webdataset(
    snapshot: Any,
    out: str,
    *,
    shard_size: str | int | None = None,
    shard_count: int | None = None,
    columns: Sequence[str] | None = None,
    filter: Any = None,
    shuffle: bool = False,
    seed: int = 0,
    split_by: str | None = None,
    purpose: str | None = None,
    allow_license: Sequence[str] | str = (),
    reason: str | None = None,
    storage_options: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
    engine: str = "local",
) -> ExportManifest:
    """Write ``snapshot`` as WebDataset shards into the folder or URI ``out``.

    Args:
        snapshot: a :class:`curata.Snapshot` (pinned; the export reads exactly its version).
        out: local folder or fsspec URI (``s3://bucket/prefix``); created if missing. The
            export replaces only files of its own names there (shards, ``wids`` indexes,
            ``ATTRIBUTION.md``, ``manifest.json``) and removes only those an earlier export's
            manifest lists.
        shard_size: target shard size (``"256MB"`` by default); a shard closes before a sample
            would push it past this size.
        shard_count: instead of a size, exactly this many shards (per split), rows spread evenly.
        columns: content columns to export (default: all non-system columns).
        filter: rows to keep: SQL text (``"label = 1"``), a ``polars.Expr`` or a
            ``pyarrow.compute.Expression``.
        shuffle: order rows by a permutation that depends only on ``seed`` and the record ids.
        seed: the shuffle seed.
        split_by: write one shard set per value of this column (``NAME-<value>-000000.tar``).
        purpose: ``commercial``, ``research`` or ``internal``: refuse records whose license
            forbids that use (:class:`curata.errors.LicenseViolationError`).
        allow_license: license ids or expressions to allow anyway; needs ``reason``. Recorded
            in the audit log and the manifest.
        reason: why the override is justified.
        storage_options: fsspec options for ``out``.
        progress: called with the number of samples written after each batch (with Ray, after
            each task).
        engine: ``local`` (this process) or ``ray``: the driver plans which rows go to which
            shard and Ray Data tasks on the cluster that ``ray.init()`` finds (``RAY_ADDRESS``)
            read, encode and write the shards; same bytes as ``local`` (see
            ``curata.export.ray``). Needs ``pip install 'curata-ingest[ray]'``.

    Returns:
        The manifest; ``status`` is ``"unchanged"`` when ``out`` already holds this export.

    Raises:
        ExportFolderError: ``out`` holds a manifest listing a name the exporter never writes
            (``../x``, an absolute path), or a symlink or folder under one of its names;
            raised before anything is deleted or written.

    Example:
        >>> snap = curata.load("reviews@v3")
        >>> m = snap.export_webdataset("shards/", shard_size="64MB", purpose="research")
        >>> m.num_samples, m.shards[0].name
        (120000, 'reviews-000000.tar')
    """
    if engine not in ENGINES:
        raise ExportOptionError("engine", engine, valid=list(ENGINES))
    if not str(out).strip():  # "" is not "the current folder"
        raise ExportOptionError("out", str(out), reason="is empty: name a folder or URI")
    if storage_options is None:  # an object-store `out`: the endpoint of CURATA_STORAGE_OPTIONS

        storage_options = fsspec_options(str(out), resolve().storage_options,
                                         secrets=engine != "ray")
    if engine == "ray":  # before any work: Ray installed, no credentials to ship

        check_ray_export(storage_options)
    options = build_options(
        name=_NAME_SAFE.sub("_", snapshot.dataset), shard_size=shard_size,
        shard_count=shard_count, columns=columns, filter=filter, shuffle=shuffle, seed=seed,
        split_by=split_by, purpose=purpose, allow_license=allow_license, reason=reason,
    )
    import fsspec  # ~0.1 s: loaded by the commands that touch export folders only

    fs, root = fsspec.core.url_to_fs(str(out), **(storage_options or {}))
    check_folder(fs, root)  # before anything is read, deleted or written
    existing = read_manifest(fs, root)
    stale = previous_files(existing, folder=str(out))
    same = unchanged_manifest(existing, fs, root, out=str(out), snapshot=snapshot,
                              options=options)
    if same is not None:
        return same
    fields = plan_fields(snapshot.schema, options.columns)
    selection = Selection(snapshot, options, filter, [f.column for f in fields])
    census = selection.census()
    overrides = check_licenses(snapshot, census, options)
    staging = Staging(fs, root, token=uuid.uuid4().hex[:12])
    shield = interrupt.Shield()
    try:
        if engine == "ray":
            shards = write_shards_ray(snapshot, selection, fields, options, census, staging,
                                      storage_options=storage_options, filter=filter,
                                      progress=progress)
        else:
            shards = _write_shards(selection, fields, options, census, staging, progress)
        manifest = _manifest(snapshot, options, fields, census, shards, overrides,
                             out=str(out), manifest_uri=staging.uri(MANIFEST))
        _stage_sidecars(staging, manifest, snapshot)
        shield.enter()  # publishing renames every file into place: it completes whole
        staging.publish(dumps(manifest_document(manifest)), stale=stale)
    except BaseException:
        shield.exit()
        staging.discard()
        raise
    try:
        record_export(snapshot, manifest, engine=engine)
    finally:
        shield.exit()
    return manifest


def _by_split(batch: pa.RecordBatch, splits: list[str]) -> list[tuple[str, pa.RecordBatch]]:
    first = splits[0]
    if all(s == first for s in splits):
        return [(first, batch)]
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(splits):
        groups.setdefault(s, []).append(i)
    return [(s, batch.take(pa.array(idx))) for s, idx in groups.items()]


def _write_shards(
    selection: Selection, fields: Sequence[Field], options: ExportOptions, census: Census,
    staging: Staging, progress: Callable[[int], None] | None,
) -> tuple[ShardInfo, ...]:
    shards = ShardSet(options=options, census=census, staging=staging)
    written = 0
    try:
        for batch, splits in selection.rows():
            for split, part in _by_split(batch, splits):
                shards.add(split, part, fields)
            written += batch.num_rows
            if progress is not None:
                progress(written)
        return shards.close()
    except BaseException:
        shards.abort()
        raise


def _manifest(
    snapshot: Any, options: ExportOptions, fields: Sequence[Field], census: Census,
    shards: tuple[ShardInfo, ...], overrides: tuple[dict[str, Any], ...], *, out: str,
    manifest_uri: str,
) -> ExportManifest:
    splits = sorted({s.split for s in shards})
    wids = {s: (f"{options.name}-{s}.wids.json" if s else f"{options.name}.wids.json")
            for s in splits}
    return ExportManifest(
        status="written", out=out, manifest_uri=manifest_uri, ref=snapshot.ref,
        dataset=snapshot.dataset, version=int(snapshot.version),
        fingerprint=snapshot.fingerprint, num_samples=sum(s.samples for s in shards),
        num_bytes=sum(s.bytes for s in shards), shards=shards, options=options.to_dict(),
        fields=tuple(f.to_dict() for f in fields),
        licenses={str(k): v for k, v in sorted(census.licenses.items(), key=_by_count)},
        sources={str(k): v for k, v in sorted(census.sources.items(), key=_by_count)},
        overrides=overrides, wids_indexes=wids,
    )


def _by_count(item: tuple[Any, int]) -> tuple[int, str]:
    return (-item[1], str(item[0]))


def _stage_sidecars(staging: Staging, manifest: ExportManifest, snapshot: Any) -> None:
    import json

    for split, fname in manifest.wids_indexes.items():
        shards = [s for s in manifest.shards if s.split == split]
        doc = wids_index(fname.removesuffix(".wids.json"), shards)
        staging.write(fname, (json.dumps(doc, indent=2) + "\n").encode())
    details = source_details(snapshot, list(manifest.sources))
    staging.write(ATTRIBUTION, attribution_markdown(manifest, details).encode("utf-8"))

