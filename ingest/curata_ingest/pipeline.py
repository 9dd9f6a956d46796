"""The ingest pipeline: sources → conform → dedup → system columns → ONE Delta commit.

Everything streams: sources yield bounded batches, the catalog's ``append`` writes them to
Parquet shards as they come and commits once at the end. A process killed anywhere before
that commit leaves the previous version untouched (the run is then shown as ``failed`` and its
orphan files are collected by ``gc``); a run above ``max_reject_ratio`` raises before the
commit, so nothing is committed either.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import curata
from curata.errors import (
    UsageError,
)
from curata.write import (
    DEFAULT_TARGET_FILE_SIZE,
    check_source_license,
    make_source_id,
)

from curata_ingest.conform import SchemaEvolution
from curata_ingest.engines.ray import ingest_ray
from curata_ingest.licenses import UNKNOWN, check_license
from curata_ingest.report import IngestReport, SourceReport, skip_summary
from curata_ingest.run import (
    DedupMode,
    IngestOptions,
    IngestRun,
    ProgressFn,
    SourceState,
    artifact_dicts,
    latest_snapshot,
)
from curata_ingest.sources import RejectSink, Source, open_sources

DEFAULT_MAX_REJECT_RATIO = 0.5


def ingest(
    sources: str | Source | Sequence[str | Source],
    *,
    dataset: str,
    license: str,
    attribution: str | None = None,
    source_url: str | None = None,
    source_name: str | None = None,
    format: str | None = None,
    dedup: DedupMode = "exact",
    threshold: float = 0.9,
    text_column: str | None = None,
    schema_evolution: SchemaEvolution = "none",
    max_record_size: int | None = None,
    max_reject_ratio: float | None = DEFAULT_MAX_REJECT_RATIO,
    shard_size: int = DEFAULT_TARGET_FILE_SIZE,
    force: bool = False,
    catalog: curata.Catalog | None = None,
    storage_options: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
    engine: Literal["local", "ray"] = "local",
    run_id: str | None = None,
    retrieved_at: datetime | None = None,
    relicense: bool = False,
    path_column: str | None = None,
    follow_symlinks: str = "inside",
    delimiter: str | None = None,
    encoding: str | None = None,
    max_depth: int | None = None,
) -> IngestReport:
    """Stream sources into ``dataset`` as one new version.

    Args:
        sources: paths, globs, folders, fsspec URIs, ``URL#table=…`` SQL specs, ``hf:…`` specs
            or :class:`~curata_ingest.sources.Source` objects.
        dataset: target dataset (created on first ingest).
        license: SPDX expression for every row (``LicenseRef-…`` ok; ``unknown`` is flagged).
        dedup: ``exact`` (by ``_id``, within the run and against the dataset), ``near``
            (exact, then MinHash LSH on a text column at ``threshold``) or ``off``.
        schema_evolution: ``merge`` lets new columns into an existing dataset; with ``none``
            rows carrying them are rejected.
        max_record_size: records with more bytes are rejected, before they are read whole
            where the format allows (a JSON line, a file, a tar member; default 256 MiB).
        max_depth: JSON records nested deeper are rejected (default 32, at most 48: deeper
            types make Parquet files Arrow cannot read back).
        max_reject_ratio: fail (commit nothing) when more than this share of rows is
            rejected; by default half (a run that keeps nothing, or mostly nothing, read its
            input wrongly: another --format, --delimiter or --encoding); ``1`` or ``None``
            keeps whatever parses.
        shard_size: target Parquet file size in bytes.
        force: re-read sources whose artifacts are unchanged since the last committed run.
        engine: ``local`` (this process) or ``ray`` (Ray Data tasks on the cluster that
            ``ray.init()`` finds; same snapshot fingerprint, see ``curata_ingest.engines``).
        run_id, retrieved_at: pin the run id and retrieval time written to ``_provenance``
            (default: a new id and now; neither is part of the snapshot fingerprint).
        path_column: for sources of one record per file (text, imagefolder), store each
            file's path relative to the ingested folder in this content column (by default a
            path is provenance only, so identical files under two names are duplicates).
        delimiter: CSV field delimiter (default: sniffed among ``,`` ``;`` tab ``|``).
        encoding: text encoding of CSV and text files (default UTF-8; a field or file that is
            not valid in it is a reject, never a silent switch to bytes).
        follow_symlinks: ``inside`` (default) follows symbolic links that resolve inside
            the ingested folder and skips (and counts) the others; ``all`` follows every link.
        relicense: a source ingested before under another license gets this one on all its
            records (a new version, audit-logged) instead of a ``SourceLicenseChangedError``.

    Returns:
        An :class:`IngestReport` (``status`` committed or unchanged).

    Raises:
        LicenseError, SourceError, RejectRatioError, SchemaMismatchError,
        SourceLicenseChangedError: nothing committed.

    Example:
        >>> report = ingest(["reviews/*.jsonl"], dataset="reviews", license="CC-BY-4.0")
        >>> report.status, report.rows_written
    """
    started = time.perf_counter()
    opts = _options(
        dataset,
        license,
        attribution,
        dedup,
        threshold,
        text_column,
        schema_evolution,
        max_record_size,
        max_reject_ratio,
        shard_size,
        progress,
    )
    cat = catalog if catalog is not None else curata.connect()
    resolved = _resolve(sources, format=format, name=source_name, storage_options=storage_options,
                        path_column=path_column, follow_symlinks=follow_symlinks,
                        reader_options={"delimiter": delimiter, "encoding": encoding},
                        limits={"max_record_size": max_record_size, "max_depth": max_depth})
    cat.runs(dataset)  # marks runs whose process died as failed before we look at history
    states = _states(resolved, opts, source_url)
    for st in states:  # before the unchanged check: a license change is never "unchanged"
        check_source_license(cat.store, dataset, source_id=st.source_id, name=st.source.name,
                             license=opts.license, relicense=relicense)
    if not force and _unchanged(cat, opts, states):
        return _unchanged_report(cat, opts, states, started)
    opts.extra.update(run_id=run_id, retrieved_at=retrieved_at)
    if engine == "ray":
        return ingest_ray(cat, opts, states, started)
    if engine != "local":
        raise UsageError(f"Unknown engine {engine!r} (valid: local, ray)")
    with tempfile.TemporaryDirectory(prefix="curata-ingest-") as spill:
        opts.spill_dir = spill
        for st in states:
            st.read_rejects.spill_dir = st.row_rejects.spill_dir = spill
        return IngestRun(cat, opts, states).execute(started)


def _options(
    dataset: str,
    license: str,
    attribution: str | None,
    dedup: str,
    threshold: float,
    text_column: str | None,
    schema_evolution: str,
    max_record_size: int | None,
    max_reject_ratio: float | None,
    shard_size: int,
    progress: ProgressFn | None,
) -> IngestOptions:
    if dedup not in ("exact", "near", "off"):
        raise UsageError(f"Unknown dedup mode {dedup!r} (valid: exact, near, off)")
    if schema_evolution not in ("none", "merge"):
        raise UsageError(f"Unknown schema evolution {schema_evolution!r} (valid: none, merge)")
    if not 0 < threshold <= 1:
        raise UsageError(f"--threshold must be in (0, 1], got {threshold}")
    if max_reject_ratio is not None and not 0 <= max_reject_ratio <= 1:
        raise UsageError(f"--max-reject-ratio must be in [0, 1], got {max_reject_ratio}")
    if shard_size <= 0 or (max_record_size is not None and max_record_size <= 0):
        raise UsageError("--shard-size and --max-record-size must be positive")
    return IngestOptions(
        dataset=dataset,
        license=check_license(license),
        attribution=attribution or "",
        dedup=dedup,  # type: ignore[arg-type]
        threshold=threshold,
        text_column=text_column,
        schema_evolution=schema_evolution,  # type: ignore[arg-type]
        max_record_size=max_record_size,
        max_reject_ratio=max_reject_ratio,
        shard_size=shard_size,
        progress=progress,
    )


def _resolve(
    sources: str | Source | Sequence[str | Source],
    *,
    format: str | None,
    name: str | None,
    storage_options: dict[str, Any] | None,
    path_column: str | None = None,
    follow_symlinks: str = "inside",
    reader_options: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
) -> list[Source]:
    items = [sources] if isinstance(sources, (str, Source)) else list(sources)
    if not items:
        raise UsageError("No sources given")
    out: list[Source] = []
    for item in items:
        if isinstance(item, Source):
            out.append(item)
        else:
            out.extend(
                open_sources([str(item)], format=format, name=name, storage_options=storage_options,
                             path_column=path_column, follow_symlinks=follow_symlinks,
                             reader_options=reader_options, **(limits or {}))
            )
    return out


def _states(sources: list[Source], opts: IngestOptions, source_url: str | None) -> list[SourceState]:
    states = []
    for src in sources:
        uri = source_url or src.location
        states.append(
            SourceState(
                source=src,
                uri=uri,
                read_rejects=RejectSink(),
                row_rejects=RejectSink(),
                source_id=make_source_id(opts.dataset, src.name),
            )
        )
    return states


def _unchanged(cat: curata.Catalog, opts: IngestOptions, states: list[SourceState]) -> bool:
    """True when every source was committed before with exactly these artifact hashes."""
    known = cat.store.sources(st.source_id for st in states)
    for st in states:
        # The catalog first: a source never committed needs no hashing up front (its
        # artifacts are hashed as the run reads them).
        row = known.get(st.source_id)
        if row is None or not row.artifacts or row.run_id is None:
            return False
        if row.run_status not in ("committed", "unchanged"):
            return False
        artifacts = artifact_dicts(st.source)
        if not artifacts or any(not a["sha256"] for a in artifacts):
            return False
        if row.artifacts != artifacts:
            return False
    return True




def _unchanged_report(
    cat: curata.Catalog, opts: IngestOptions, states: list[SourceState], started: float
) -> IngestReport:
    run_id = cat.store.start_run(opts.dataset, operation="ingest")
    snap = latest_snapshot(cat, opts.dataset)
    cat.store.finish_run(
        run_id,
        status="unchanged",
        version=snap.version if snap else None,
        stats={"reason": "artifacts unchanged"},
    )
    sources = [
        SourceReport(
            name=st.source.name,
            uri=st.uri,
            format=st.source.format,
            source_id=st.source_id,
            rows_read=0,
            rows_written=0,
            duplicates=0,
            rejected=0,
            artifacts=artifact_dicts(st.source),
            skipped=len(st.source.skipped),
        )
        for st in states
    ]
    return IngestReport(
        status="unchanged",
        dataset=opts.dataset,
        version=snap.version if snap else None,
        fingerprint=snap.fingerprint if snap else None,
        run_id=run_id,
        license=opts.license,
        license_flagged=opts.license == UNKNOWN,
        rows_read=0,
        rows_written=0,
        duplicates=0,
        near_duplicates=0,
        rejected=0,
        reject_reasons={},
        bytes_read=0,
        seconds=round(time.perf_counter() - started, 3),
        sources=sources,
        **skip_summary([k for st in states for k in st.source.skipped]),
    )



__all__ = ["DedupMode", "IngestReport", "SourceReport", "ingest"]
