"""``Catalog.derive``: stream a snapshot through a pipeline into a new version of a dataset.

Each version of a derived dataset is the full output of one derivation (a Delta overwrite:
earlier versions stay readable by ref, and tagged ones are pinned against gc). Re-deriving
with the same transform fingerprint commits nothing (``unchanged``); asking again for the
output of an older version restores it without recomputing (``restored``).

Two engines compute a new version: ``local`` (this process, ``curata.transforms.derive_stream``)
and ``ray`` (tasks over the source's Parquet files, ``curata.engines.derive_ray``). Both give
the same rows, snapshot fingerprint, transform fingerprint and lineage; the cache and the
records around them (this module) are one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from curata import __version__, interrupt, resolve, write
from curata import fingerprint as fp
from curata._util import check_name, current_user
from curata.engines import derive_ray
from curata.errors import UsageError
from curata.quality.images import write_clusters
from curata.snapshot import Snapshot
from curata.store import LineageInfo, LineageInputInfo, Store
from curata.transforms import derive_stream as stream
from curata.transforms import fingerprint as tfp
from curata.transforms.derive_stream import OPERATION
from curata.transforms.errors import DeriveTargetError
from curata.transforms.pipeline import Pipeline, as_pipeline
from curata.transforms.steps import Context

if TYPE_CHECKING:
    import polars as pl

#: The engines that compute a derivation.
ENGINES = ("local", "ray")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveResult:
    """What ``derive`` did.

    Attributes:
        status: ``committed`` (a new version), ``unchanged`` (the latest version already is
            this derivation; nothing committed) or ``restored`` (an older version was, and it
            was restored as the latest without recomputing).
        snapshot: the derived snapshot.
        transform_fingerprint: hash of inputs, pipeline, code and library versions.
        inputs: the pinned input snapshots (``role``, ``ref``, ``dataset``, ``version``,
            ``fingerprint``).
        stats: ``rows_in``, ``rows_out`` and rows out of each step (``"i:kind"``).
    """

    status: Literal["committed", "unchanged", "restored"]
    snapshot: Any
    transform_fingerprint: str
    inputs: list[dict[str, Any]]
    stats: dict[str, Any]


def _input(role: str, snap: Any) -> dict[str, Any]:
    return {"role": role, "ref": snap.ref, "dataset": snap.dataset, "version": snap.version,
            "fingerprint": snap.fingerprint}


def derive(store: Store, src: Snapshot, pipeline: Any, *, into: str, tag: str | None = None,
           batch_size: int = 131_072, engine: str = "local") -> DeriveResult:
    """Derive ``into`` from the pinned ``src`` through ``pipeline`` (see ``Catalog.derive``).

    ``engine``: ``local`` (this process) or ``ray`` (tasks on the cluster ``RAY_ADDRESS``
    names, or a new local one; the same result). A pipeline the Ray engine cannot run is
    refused with ``UsageError`` before anything starts.
    """
    check_name("dataset", into)
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}", hint="use --engine local or ray")
    pipe = as_pipeline(pipeline)
    if src.dataset == into:
        raise DeriveTargetError(into, reason="a dataset cannot be derived from itself")
    if engine == "ray":
        derive_ray.check(pipe)
    ctx = Context(store=store,
                  snapshots={r: resolve.snapshot(store, r) for r in pipe.input_refs()})
    inputs = [_input("source", src)] + [_input("join", ctx.snapshots[r])
                                         for r in pipe.input_refs()]
    ident = tfp.identity(pipe, inputs)
    latest, matches = _previous(store, into, ident.fingerprint)
    if latest is not None and latest in matches:
        return _finish(store, into, latest, "unchanged", ident, tag, stats=matches[latest],
                       engine=engine)
    # Raised once only the commit is left: the commit, its records, the tag and the audit
    # entry then complete whole even if the user interrupts (``curata.interrupt``).
    shield = interrupt.Shield()
    try:
        if matches:
            shield.enter()  # a restore is one short commit
            restored = _restore(store, into, max(matches), ident)
            if restored is not None:
                return _finish(store, into, restored, "restored", ident, tag,
                               stats=matches[max(matches)], engine=engine)
            shield.exit()
        version, stats = _compute(store, src, pipe, ctx, into, ident, batch_size, shield,
                                  engine)
        return _finish(store, into, version, "committed", ident, tag, stats=stats,
                       engine=engine)
    finally:
        shield.exit()


def _previous(store: Store, into: str, transform_fp: str) -> tuple[int | None, dict[int, dict]]:
    """The latest version of ``into`` and its versions derived with this fingerprint.

    Raises:
        DeriveTargetError: ``into`` holds data that no derivation produced.
    """
    dt = store.delta(into)
    if dt is None:
        return None, {}
    latest = dt.version()
    derived = store.derivations(into)
    if latest not in derived:
        raise DeriveTargetError(into, reason=f"its version {latest} was not produced by "
                                             "`derive`; derive would replace that data")
    return latest, {v: info.stats for v, info in derived.items()
                    if info.transform_fingerprint == transform_fp}


def _finish(store: Store, into: str, version: int, status: str, ident: Any, tag: str | None,
            *, stats: dict[str, Any], engine: str) -> DeriveResult:
    snap = (resolve.tag(store, into, tag, version=version) if tag
            else resolve.snapshot(store, f"{into}@{version}"))
    store.audit("derive", dataset=into, details={
        "status": status, "version": version, "fingerprint": snap.fingerprint,
        "transform_fingerprint": ident.fingerprint, "engine": engine,
        "inputs": [{k: i[k] for k in ("ref", "fingerprint")} for i in ident.inputs]})
    return DeriveResult(status=status, snapshot=snap,  # type: ignore[arg-type]
                        transform_fingerprint=ident.fingerprint, inputs=ident.inputs,
                        stats=stats)


# --- computing ----------------------------------------------------------------------------------


def _frames(src: Any, pipe: Pipeline, ctx: Context, batch_size: int,
            stats: dict[str, int]) -> Iterator[pl.DataFrame]:
    def source() -> Iterator[pl.DataFrame]:
        # Polars' streaming Delta scan of the pinned version: bounded memory, and faster
        # than a pyarrow dataset scan of the same files.
        import polars as pl

        stats["rows_in"] = 0
        lf = pl.scan_delta(src.table_uri, version=src.version,
                           storage_options=src.storage_options)
        for df in lf.collect_batches(chunk_size=batch_size):
            stats["rows_in"] += df.height
            yield df

    return pipe.run(source, ctx, stats)


def _compute(store: Store, src: Any, pipe: Pipeline, ctx: Context, into: str, ident: Any,
             batch_size: int, shield: interrupt.Shield, engine: str
             ) -> tuple[int, dict[str, Any]]:
    run_id = store.start_run(into, operation=OPERATION)
    stats: dict[str, Any] = {}
    try:
        if engine == "ray":
            version, acc = derive_ray.compute(store, src, pipe, ctx, into, run_id=run_id,
                                              batch_size=batch_size, stats=stats,
                                              shield=shield)
        else:
            version, acc = _compute_local(store, src, pipe, ctx, into, run_id=run_id,
                                          batch_size=batch_size, stats=stats, shield=shield)
        stats["rows_out"] = acc.count
        derived_from = [_derivation(i, ident) for i in ident.inputs]
        write.store_version(store, into, version, acc, operation=OPERATION,
                            run_id=run_id, derived_from=derived_from)
        _record_clusters(store, into, ctx, run_id, stats)
        _record_lineage(store, into, version, ident, stats, run_id)
    except BaseException as exc:
        store.fail_run(run_id, exc)
        raise
    store.finish_run(run_id, status="committed", version=version, stats=stats)
    return version, stats


def _compute_local(store: Store, src: Any, pipe: Pipeline, ctx: Context, into: str, *,
                   run_id: str, batch_size: int, stats: dict[str, Any],
                   shield: interrupt.Shield) -> tuple[int, fp.RowHashSum]:
    """The local engine: the whole stream in this process, one ``write_deltalake``."""
    schema_box: list[pa.Schema] = []
    prep = stream.prepare(into, run_id)
    batches = stream.arrow_batches(_frames(src, pipe, ctx, batch_size, stats), schema_box)
    version = stream.overwrite(store, into, prep, batches, schema_box, run_id=run_id,
                               low_cardinality=stream.low_cardinality(pipe), shield=shield)
    return version, prep.acc


def _restore(store: Store, into: str, version: int, ident: Any) -> int | None:
    """Make ``version`` the latest again (Delta restore), reusing its recorded fingerprint.

    Returns ``None`` when its files are gone (vacuumed): the caller recomputes.
    """
    from deltalake import CommitProperties

    rec = store.version_record(into, version)
    # A record under an older fingerprint scheme cannot be reused: recompute instead.
    row_sum = dict(rec.row_sum) if rec and rec.fp_scheme == fp.FINGERPRINT_VERSION else None
    if row_sum is None:
        return None
    run_id = store.start_run(into, operation=OPERATION + ".restore")
    meta = {"curata.run_id": run_id, "curata.user": current_user(),
            "curata.version": __version__, "curata.operation": OPERATION + ".restore"}
    try:
        store.delta(into).restore(version, commit_properties=CommitProperties(
            custom_metadata=meta, max_commit_retries=write.COMMIT_RETRIES))
    except Exception as exc:  # files vacuumed: fall back to recomputing, which is recorded
        store.fail_run(run_id, exc)
        return None
    new = write.find_commit(store, into, run_id)
    write.store_version(store, into, new, fp.RowHashSum.from_json(row_sum),
                        operation=OPERATION + ".restore", run_id=run_id,
                        derived_from=[_derivation(i, ident) for i in ident.inputs])
    _record_lineage(store, into, new, ident, {"restored_from": version}, run_id)
    store.finish_run(run_id, status="committed", version=new)
    return new


def _record_clusters(store: Store, into: str, ctx: Context, run_id: str,
                     stats: dict[str, Any]) -> None:
    """Near-duplicate clusters found by image ``near_dedup`` steps (curata.quality)."""
    if any(isinstance(k, tuple) for k in ctx.cache):
        stats["near_duplicates"] = write_clusters(store, into, ctx, run_id=run_id)


# --- lineage records ----------------------------------------------------------------------------


def _derivation(inp: dict[str, Any], ident: Any) -> dict[str, Any]:
    """A ``snapshots.derived_from`` entry in the shape governance's BOM reads."""
    return {"ref": inp["ref"], "fingerprint": inp["fingerprint"],
            "kind": "derive" if inp["role"] == "source" else "join",
            "details": {"transform_fingerprint": ident.fingerprint, "role": inp["role"],
                        "steps": [s["kind"] for s in ident.pipeline]}}


def _record_lineage(store: Store, into: str, version: int, ident: Any, stats: dict[str, Any],
                    run_id: str) -> None:
    rec = resolve.version_record(store, into, version)
    store.record_lineage(LineageInfo(
        dataset=into, version=version, transform_fingerprint=ident.fingerprint,
        output_fingerprint=rec.fingerprint, pipeline={"steps": ident.pipeline}, code=ident.code,
        libraries=ident.libraries, stats=dict(stats), run_id=run_id,
        inputs=[LineageInputInfo(role=i["role"], ref=i["ref"], dataset=i["dataset"],
                                 version=i["version"], fingerprint=i["fingerprint"])
                for i in ident.inputs]))
