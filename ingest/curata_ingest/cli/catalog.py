"""`curata init|datasets|versions|show|tag|verify|diff|gc|runs`: the catalog commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import curata
import typer
from curata.errors import VerifyError

from curata_ingest.cli import _preview
from curata_ingest.cli._output import (
    JsonOpt,
    QuietOpt,
    console,
    entries,
    line,
    print_json,
    styled,
    summarize,
    table,
    when,
)
from curata_ingest.cli._params import dataset_name, tag_name

if TYPE_CHECKING:
    from curata.catalog import RunInfo


def _short(fp: str | None) -> str:
    return (fp or "")[:16]


def init(json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Create the catalog (an embedded one under CURATA_HOME, or the schema of an empty
    CURATA_CATALOG_URL database) and the warehouse."""
    cat = curata.connect(create=True)
    info = {"catalog": repr(cat), "home": str(cat.settings.home),
            "warehouse": cat.settings.warehouse}
    if json:
        print_json(info)
    elif not quiet:
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
          [[v.version, when(v.timestamp), v.operation, v.num_rows, _short(v.fingerprint),
            ", ".join(v.tags), v.user] for v in vs])


def show(ref: Annotated[str, typer.Argument(help="NAME, NAME@TAG, NAME@VERSION or NAME@fp:PREFIX.")],
         rows: Annotated[int, typer.Option(help="How many records to print.")] = 5,
         max_chars: Annotated[int, typer.Option(
             help="Cut longer text values to this many characters (the length is shown).")] = 100,
         json: JsonOpt = False) -> None:
    """Show one snapshot: fingerprint, schema, license mix and a preview of the first records.

    Reads only the first records (from the first files of the version) and the license
    columns; long text is cut and binaries are described (`<png 48x48, 2.1 KB>`).
    """
    snap = curata.connect().snapshot(ref)
    head = _preview.records(snap.head(max(rows, 0)), max(max_chars, 1))
    info = {"ref": snap.ref, "dataset": snap.dataset, "version": snap.version, "tag": snap.tag,
            "fingerprint": snap.fingerprint, "num_rows": snap.num_rows,
            "schema": {f.name: str(f.type) for f in snap.schema},
            "licenses": snap.licenses()}
    if json:
        print_json({**info, **_json_head(head, max_chars)})
        return
    console.print(styled("[bold]{ref}[/]  version {v}  rows {n}", ref=snap.ref, v=snap.version,
                         n=f"{snap.num_rows:,}"))
    line(f"fingerprint {snap.fingerprint}")
    table("Schema", ["column", "type"], list(info["schema"].items()))
    table("Licenses", ["license", "source", "records"],
          [[x["license"], x["source"], x["records"]] for x in info["licenses"]])
    _print_records(f"First {len(head)} of {snap.num_rows:,} records", head, max_chars)
    line(f"Load it in Python: curata.load({snap.ref!r}, "
         f"expect_fingerprint={snap.fingerprint[:16]!r})")


def _json_head(head: list[dict[str, object]], max_chars: int) -> dict[str, object]:
    """``head`` with cut values, and where each cut was (row, column, full length)."""
    rows, cuts = [], []
    for i, record in enumerate(head):
        out = {}
        for column, value in record.items():
            out[column], length = _preview.json_value(value, max_chars)
            if length is not None:
                cuts.append({"row": i, "column": column, "length": length})
        rows.append(out)
    return {"head": rows, "truncated": cuts}


def _print_records(title: str, head: list[dict[str, object]], max_chars: int) -> None:
    """Each record as `column  value` lines: readable at any width, whatever the columns."""
    from rich.table import Table

    t = Table(title=title, show_header=False, show_lines=True)
    t.add_column("column", style="bold", no_wrap=True)
    t.add_column("value", overflow="fold")
    for record in head:
        names = sorted(record, key=lambda c: (c != "_id", c.startswith("_"), c))
        lines = [(c, _preview.text(record[c], max_chars)) for c in names
                 if c == "_id" or not c.startswith("_")]
        t.add_row("\n".join(c for c, _ in lines), "\n".join(v for _, v in lines))
    console.print(t)


def tag(dataset: Annotated[str, typer.Argument(help="Dataset name.", callback=dataset_name)],
        name: Annotated[str, typer.Argument(help="Tag name (not all digits).",
                                            callback=tag_name)],
        version: Annotated[int | None, typer.Option(help="Version to tag (default: latest).")] = None,
        note: Annotated[str, typer.Option(help="Why this snapshot matters.")] = "",
        force: Annotated[bool, typer.Option(help="Move an existing tag (audit-logged).")] = False,
        json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Pin a version under a name; tagged snapshots are immutable and survive gc."""
    snap = curata.connect().tag(dataset, name, version=version, note=note, force=force)
    if json:
        print_json({"ref": snap.ref, "version": snap.version, "fingerprint": snap.fingerprint,
                    "num_rows": snap.num_rows})
    elif not quiet:
        line(f"Tagged {snap.ref} -> version {snap.version} (fingerprint {snap.fingerprint})")


def verify(ref: Annotated[str, typer.Argument(help="Snapshot ref.")], json: JsonOpt = False,
           quiet: QuietOpt = False) -> None:
    """Recompute a snapshot's fingerprint from its files; exit 4 if anything is wrong."""
    report = curata.connect().snapshot(ref).verify()
    if not report.ok:
        if not json:
            console.print(styled("[bold red]FAILED[/] {ref}", ref=report.ref))
            for p in report.problems:
                console.print(f"  - {p}")
        # exit 4 through the one error handler; with --json its object is the report
        raise VerifyError(report.ref, problems=report.problems, report=report.to_dict())
    if json:
        print_json(report.to_dict())
    elif not quiet:
        line(f"OK {report.ref}: {report.num_rows} rows in {report.files_checked} files, "
             f"fingerprint {report.actual}")


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
        rows = _preview.records(getattr(d, kind).slice(0, limit), _DIFF_CHARS)
        if rows:
            _print_records(kind, rows, _DIFF_CHARS)


_DIFF_CHARS = 100


def gc(dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would go.")] = False,
       dataset: Annotated[str | None, typer.Option(help="Only this dataset.")] = None,
       retention_hours: Annotated[float | None, typer.Option(
           help="Keep unreferenced files younger than this (default 1, or "
                "CURATA_GC_RETENTION_HOURS; never less than the oldest running write).")] = None,
       json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Delete files no kept version needs (never those of tagged snapshots or of writes still
    running), and the rejects of runs that committed nothing."""
    report = curata.connect().gc(dry_run=dry_run, dataset=dataset,
                                 retention_hours=retention_hours)
    if json:
        print_json(report.to_dict())
        return
    if dry_run:  # the list is what --dry-run is for; -q keeps it to the file names
        for name, paths in sorted(report.files.items()):
            for path in paths:
                console.print(f"{name}/{path}")
    if quiet:
        return
    verb = "Would remove" if dry_run else "Removed"
    kept = "; ".join(f"{name} {', '.join(map(str, vs))}"
                     for name, vs in sorted(report.kept_versions.items()))
    console.print(f"{verb} {report.count} files; kept versions: {kept or 'none'}")


def runs(dataset: Annotated[str | None, typer.Argument(help="Dataset (default: all).")] = None,
         json: JsonOpt = False) -> None:
    """History of ingest and write runs (interrupted ones show as failed)."""
    rs = curata.connect().runs(dataset)
    if json:
        print_json({"runs": rs})
        return
    entries(["run", "started", "snapshot", "operation", "status"],
            [([r.id[:12], when(r.started_at, seconds=False),
               r.dataset if r.version is None else f"{r.dataset}@{r.version}", r.operation,
               r.status], _run_summary(r)) for r in rs])


# Short labels for the counts a run records (`curata runs --json` has them all).
_RUN_COUNTS = (("rows_read", "read"), ("rows_written", "written"), ("duplicates", "dup"),
               ("near_duplicates", "near-dup"), ("rejected", "rejected"))


def _run_summary(r: RunInfo) -> str:
    """A run's counts in words (`read 17, written 14, dup 3`), the reject reasons, the rest
    as `k=v`, and its error if it failed."""
    stats = dict(r.stats or {})
    parts = [f"{label} {stats.pop(key):,}" for key, label in _RUN_COUNTS
             if isinstance(stats.get(key), int) and (stats[key] or key in ("rows_read",
                                                                           "rows_written"))]
    for key, _ in _RUN_COUNTS:
        stats.pop(key, None)
    reasons = stats.pop("reject_reasons", None) or {}
    if reasons and parts:
        parts[-1] += " (" + ", ".join(f"{k} {v:,}" for k, v in reasons.items()) + ")"
    sources = stats.pop("sources", None)
    stats.pop("bytes_read", None)
    if isinstance(sources, list) and len(sources) > 1:
        parts.append(f"{len(sources)} sources")
    rest = summarize(stats)
    text = ", ".join(parts) + (f"; {rest}" if rest else "")
    return f"{text}; error: {r.error[:120]}" if r.error else text


def register(app: typer.Typer) -> None:
    for fn in (init, datasets, versions, show, tag, verify, diff, gc, runs):
        app.command()(fn)
