"""`curata init|datasets|versions|show|tag|verify|diff|gc|runs`: the catalog commands."""

from __future__ import annotations

from typing import Annotated

import curata
import typer

from curata_ingest.cli._output import JsonOpt, console, print_json, table


def _short(fp: str | None) -> str:
    return (fp or "")[:16]


def init(json: JsonOpt = False) -> None:
    """Create the catalog (an embedded one under CURATA_HOME, or the schema of an empty
    CURATA_CATALOG_URL database) and the warehouse."""
    cat = curata.connect(create=True)
    info = {"catalog": repr(cat), "home": str(cat.settings.home),
            "warehouse": cat.settings.warehouse}
    if json:
        print_json(info)
    else:
        console.print(f"Curata catalog ready: {cat!r}\nNext: `ingest PATH --dataset NAME "
                      "--license SPDX` to load data.")


def datasets(json: JsonOpt = False) -> None:
    """List datasets with their latest version, rows and tags."""
    ds = curata.connect().datasets()
    if json:
        print_json({"datasets": ds})
        return
    table("Datasets", ["name", "latest", "rows", "fingerprint", "tags"],
          [[d.name, d.latest_version, d.num_rows, _short(d.fingerprint), ", ".join(d.tags)]
           for d in ds])


def versions(dataset: Annotated[str, typer.Argument(help="Dataset name.")],
             json: JsonOpt = False) -> None:
    """List every version of a dataset, newest first, with fingerprints and tags."""
    vs = curata.connect().versions(dataset)
    if json:
        print_json({"dataset": dataset, "versions": vs})
        return
    table(f"Versions of {dataset}", ["version", "when", "operation", "rows", "fingerprint",
                                     "tags", "user"],
          [[v.version, v.timestamp, v.operation, v.num_rows, _short(v.fingerprint),
            ", ".join(v.tags), v.user] for v in vs])


def show(ref: Annotated[str, typer.Argument(help="NAME, NAME@TAG, NAME@VERSION or NAME@fp:PREFIX.")],
         rows: Annotated[int, typer.Option(help="How many records to print.")] = 5,
         json: JsonOpt = False) -> None:
    """Show one snapshot: fingerprint, schema, license mix and the first records."""
    snap = curata.connect().snapshot(ref)
    head = snap.to_arrow().slice(0, rows).to_pylist()
    info = {"ref": snap.ref, "dataset": snap.dataset, "version": snap.version, "tag": snap.tag,
            "fingerprint": snap.fingerprint, "num_rows": snap.num_rows,
            "schema": {f.name: str(f.type) for f in snap.schema},
            "licenses": snap.licenses(), "head": head}
    if json:
        print_json(info)
        return
    console.print(f"[bold]{snap.ref}[/]  version {snap.version}  rows {snap.num_rows}\n"
                  f"fingerprint {snap.fingerprint}")
    table("Schema", ["column", "type"], list(info["schema"].items()))
    table("Licenses", ["license", "source", "records"],
          [[x["license"], x["source"], x["records"]] for x in info["licenses"]])
    table("First records", ["_id", "content"],
          [[r["_id"], {k: v for k, v in r.items() if not k.startswith("_")}] for r in head])
    console.print(f"Load it in Python: curata.load({snap.ref!r}, "
                  f"expect_fingerprint={snap.fingerprint[:16]!r})", markup=False)


def tag(dataset: Annotated[str, typer.Argument(help="Dataset name.")],
        name: Annotated[str, typer.Argument(help="Tag name (not all digits).")],
        version: Annotated[int | None, typer.Option(help="Version to tag (default: latest).")] = None,
        note: Annotated[str, typer.Option(help="Why this snapshot matters.")] = "",
        force: Annotated[bool, typer.Option(help="Move an existing tag (audit-logged).")] = False,
        json: JsonOpt = False) -> None:
    """Pin a version under a name; tagged snapshots are immutable and survive gc."""
    snap = curata.connect().tag(dataset, name, version=version, note=note, force=force)
    if json:
        print_json({"ref": snap.ref, "version": snap.version, "fingerprint": snap.fingerprint,
                    "num_rows": snap.num_rows})
    else:
        console.print(f"Tagged {snap.ref} -> version {snap.version} "
                      f"(fingerprint {snap.fingerprint})")


def verify(ref: Annotated[str, typer.Argument(help="Snapshot ref.")], json: JsonOpt = False) -> None:
    """Recompute a snapshot's fingerprint from its files; exit 4 if anything is wrong."""
    report = curata.connect().snapshot(ref).verify()
    if json:
        print_json(report.to_dict())
    elif report.ok:
        console.print(f"OK {report.ref}: {report.num_rows} rows in {report.files_checked} files, "
                      f"fingerprint {report.actual}")
    else:
        console.print(f"[bold red]FAILED[/] {report.ref}")
        for p in report.problems:
            console.print(f"  - {p}", markup=False)
    if not report.ok:
        raise typer.Exit(4)


def diff(a: Annotated[str, typer.Argument(help="Older ref.")],
         b: Annotated[str, typer.Argument(help="Newer ref.")],
         limit: Annotated[int, typer.Option(help="Records to show per kind.")] = 5,
         key: Annotated[list[str] | None, typer.Option(
             "--key", help="Column(s) naming a record: same key, new content = changed.")] = None,
         json: JsonOpt = False) -> None:
    """Records added, removed and changed between two snapshots (a multiset diff by _id)."""
    d = curata.connect().diff(a, b, key=key or ())
    if json:
        print_json(d.to_dict(limit=limit))
        return
    c = d.counts
    console.print(f"{d.a} -> {d.b}: +{c['added']} added, -{c['removed']} removed, "
                  f"~{c['changed']} changed")
    for kind in ("added", "removed", "changed"):
        rows = getattr(d, kind).slice(0, limit).to_pylist()
        if rows:
            table(kind, ["_id", "content"], [[r["_id"], {k: v for k, v in r.items()
                                                         if not k.startswith("_")}] for r in rows])


def gc(dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would go.")] = False,
       dataset: Annotated[str | None, typer.Option(help="Only this dataset.")] = None,
       retention_hours: Annotated[float | None, typer.Option(
           help="Keep unreferenced files younger than this (default 1, or "
                "CURATA_GC_RETENTION_HOURS; never less than the oldest running write).")] = None,
       json: JsonOpt = False) -> None:
    """Delete files no kept version needs (never those of tagged snapshots or of writes still
    running), and the rejects of runs that committed nothing."""
    report = curata.connect().gc(dry_run=dry_run, dataset=dataset,
                                 retention_hours=retention_hours)
    if json:
        print_json(report.to_dict())
        return
    verb = "Would remove" if dry_run else "Removed"
    console.print(f"{verb} {report.count} files; kept versions {report.kept_versions}")


def runs(dataset: Annotated[str | None, typer.Argument(help="Dataset (default: all).")] = None,
         json: JsonOpt = False) -> None:
    """History of ingest and write runs (interrupted ones show as failed)."""
    rs = curata.connect().runs(dataset)
    if json:
        print_json({"runs": rs})
        return
    table("Runs", ["run", "dataset", "operation", "status", "started", "version", "stats"],
          [[r.id[:12], r.dataset, r.operation, r.status, r.started_at, r.version, r.stats]
           for r in rs])


def register(app: typer.Typer) -> None:
    for fn in (init, datasets, versions, show, tag, verify, diff, gc, runs):
        app.command()(fn)
