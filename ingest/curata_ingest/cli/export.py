"""``curata export``: write a pinned snapshot as WebDataset shards (thin over curata.export)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import curata
import typer
from curata.export import ExportManifest, export_webdataset

from curata_ingest.cli._output import JsonOpt, QuietOpt, console, print_json, show_progress


class ExportFormat(StrEnum):
    webdataset = "webdataset"


class Engine(StrEnum):
    local = "local"
    ray = "ray"


class Purpose(StrEnum):
    commercial = "commercial"
    research = "research"
    internal = "internal"


def export(
    ref: Annotated[str, typer.Argument(help="Snapshot ref: DATASET, DATASET@TAG, @VERSION.")],
    out: Annotated[str, typer.Option("--out", help="Folder or URI (s3://…) for the shards.")],
    format: Annotated[
        ExportFormat, typer.Option("--format", help="Export format.")
    ] = ExportFormat.webdataset,
    shard_size: Annotated[
        str | None, typer.Option(help="Target shard size, e.g. 256MB (default) or 1GiB.")
    ] = None,
    shard_count: Annotated[
        int | None, typer.Option(help="Exactly this many shards (per split) instead of a size.")
    ] = None,
    columns: Annotated[
        list[str] | None,
        typer.Option("--columns", help="Content columns to export (repeat or comma-separate)."),
    ] = None,
    filter: Annotated[
        str | None, typer.Option("--filter", help="SQL condition on rows, e.g. \"label = 1\".")
    ] = None,
    shuffle: Annotated[
        bool, typer.Option(help="Shuffle rows (deterministic from --seed).")
    ] = False,
    seed: Annotated[int, typer.Option(help="Shuffle seed.")] = 0,
    split_by: Annotated[
        str | None, typer.Option(help="One shard set per value of this column.")
    ] = None,
    purpose: Annotated[
        Purpose | None,
        typer.Option(help="Refuse records whose license forbids this use."),
    ] = None,
    allow_license: Annotated[
        list[str] | None,
        typer.Option("--allow-license", help="License cleared anyway (repeatable; audit-logged)."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help="Why the --allow-license override is justified.")
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(help="local: this process. ray: Ray Data tasks write the shards on the "
                          "cluster of RAY_ADDRESS (or a local one); same bytes."),
    ] = Engine.local,
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Export a snapshot as reproducible WebDataset shards with a manifest and attribution."""
    snap = curata.connect().snapshot(ref)
    cols = [c.strip() for item in columns or () for c in item.split(",") if c.strip()] or None
    options: dict[str, Any] = dict(
        shard_size=shard_size, shard_count=shard_count, columns=cols, filter=filter,
        shuffle=shuffle, seed=seed, split_by=split_by,
        purpose=purpose.value if purpose else None, allow_license=allow_license or (),
        reason=reason, engine=engine.value,
    )
    if show_progress(quiet or json):
        manifest = _with_progress(snap, out, options)
    else:
        manifest = export_webdataset(snap, out, **options)
    if json:
        print_json(manifest.to_dict())
    elif not quiet:
        _report(manifest)


def _with_progress(snap: curata.Snapshot, out: str, options: dict[str, Any]) -> ExportManifest:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"export {snap.ref}", total=snap.num_rows)
        return export_webdataset(snap, out, progress=lambda n: bar.update(task, completed=n),
                                 **options)


def _report(m: ExportManifest) -> None:
    verb = "Unchanged" if m.status == "unchanged" else "Wrote"
    console.print(f"{verb}: {m.num_samples:,} samples of {m.ref} in {len(m.shards)} shards "
                  f"({m.num_bytes / 1e6:,.1f} MB) at {m.out}")
    console.print(f"manifest {m.manifest_uri} · fingerprint {m.fingerprint[:16]}…")
    for o in m.overrides:
        console.print(f"license override: {o['license']} ({o['records']} records) for "
                      f"{o['purpose']} use — {o['reason']} (audit-logged)")


def register(app: typer.Typer) -> None:
    """Add ``curata export`` to the main app."""
    app.command("export")(export)
