"""`ingest SOURCE... --dataset NAME --license SPDX` (also `curata ingest`) and `curata rejects`."""

from __future__ import annotations

import re
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any

import curata
import typer
from curata.errors import CurataError, UsageError
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from curata_ingest.cli._errors import debug, err_console
from curata_ingest.cli._output import JsonOpt, QuietOpt, console, print_json, show_progress, table
from curata_ingest.pipeline import ingest as run_ingest
from curata_ingest.report import IngestReport
from curata_ingest.sources import FORMATS, open_sources

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "m": 10**6,
    "g": 10**9,
    "t": 10**12,
    "ki": 2**10,
    "mi": 2**20,
    "gi": 2**30,
    "ti": 2**40,
}


class Engine(StrEnum):
    local = "local"
    ray = "ray"


class Dedup(StrEnum):
    exact = "exact"
    near = "near"
    off = "off"


class Evolution(StrEnum):
    none = "none"
    merge = "merge"


def parse_size(text: str) -> int:
    """``128MB`` → 128000000, ``64MiB`` → 67108864, ``1000`` → 1000."""
    match = _SIZE.match(text)
    if not match:
        raise UsageError(f"Invalid size {text!r} (examples: 128MB, 64MiB, 500000)")
    unit = (match.group(2) or "").lower().removesuffix("b")
    return int(float(match.group(1)) * _UNITS[unit])


def ingest(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Files, folders, globs, fsspec URIs (s3://…), SQL URLs (URL#table=T) "
            "or hf:… specs.",
            show_default=False,
        ),
    ],
    dataset: Annotated[
        str, typer.Option("--dataset", "-d", help="Target dataset.", show_default=False)
    ],
    license: Annotated[
        str,
        typer.Option(
            "--license",
            "-l",
            help="SPDX expression for every row, e.g. CC-BY-4.0.",
            show_default=False,
        ),
    ],
    format: Annotated[
        str | None, typer.Option(help=f"Override detection: {', '.join(sorted(FORMATS))}.")
    ] = None,
    attribution: Annotated[str | None, typer.Option(help="Attribution text to keep.")] = None,
    source_url: Annotated[str | None, typer.Option(help="Where the data came from.")] = None,
    source_name: Annotated[str | None, typer.Option(help="Name recorded in _source.")] = None,
    path_column: Annotated[
        str | None,
        typer.Option(help="text/imagefolder: store each file's relative path in this column "
                     "(default: the path is provenance only; identical files are duplicates)."),
    ] = None,
    dedup: Annotated[Dedup, typer.Option(help="Duplicate removal.")] = Dedup.exact,
    threshold: Annotated[float, typer.Option(help="Jaccard threshold for --dedup near.")] = 0.9,
    text_column: Annotated[str | None, typer.Option(help="Column for --dedup near.")] = None,
    schema_evolution: Annotated[
        Evolution, typer.Option(help="merge: allow new columns; none: reject rows carrying them.")
    ] = Evolution.none,
    max_record_size: Annotated[
        str | None, typer.Option(help="Reject rows larger than this (e.g. 1MB).")
    ] = None,
    max_reject_ratio: Annotated[
        float,
        typer.Option(help="Fail and commit nothing when more than this share of rows is "
                     "rejected (1 keeps whatever parses)."),
    ] = 0.5,
    shard_size: Annotated[str, typer.Option(help="Target Parquet shard size.")] = "128MB",
    force: Annotated[bool, typer.Option(help="Re-read sources even if unchanged.")] = False,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV delimiter (default: sniffed among , ; tab |).")
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(help="Text encoding of CSV/text input, e.g. latin-1 (default UTF-8)."),
    ] = None,
    follow_symlinks: Annotated[
        str,
        typer.Option(help="inside: follow symbolic links that resolve inside the ingested "
                     "folder, skip (and count) the others; all: follow every link."),
    ] = "inside",
    relicense: Annotated[
        bool,
        typer.Option(help="A source ingested before under another license: give all its "
                     "records this --license (a new version, audit-logged)."),
    ] = False,
    engine: Annotated[
        Engine,
        typer.Option(
            help="local: this process; ray: Ray Data tasks on the cluster ray.init() finds "
            "(RAY_ADDRESS), committed once from here."
        ),
    ] = Engine.local,
    quiet: QuietOpt = False,
    json: JsonOpt = False,
) -> None:
    """Stream sources into a dataset as ONE new version (fingerprinted, licensed, deduplicated).

    Bad input is quarantined in the dataset's rejects table (see `curata rejects DATASET`).
    """
    options: dict[str, Any] = dict(
        dataset=dataset,
        license=license,
        format=format,
        attribution=attribution,
        source_url=source_url,
        source_name=source_name,
        path_column=path_column,
        dedup=dedup.value,
        threshold=threshold,
        text_column=text_column,
        schema_evolution=schema_evolution.value,
        max_record_size=parse_size(max_record_size) if max_record_size else None,
        max_reject_ratio=max_reject_ratio,
        shard_size=parse_size(shard_size),
        force=force,
        relicense=relicense,
        follow_symlinks=follow_symlinks,
        delimiter=delimiter,
        encoding=encoding,
        engine=engine.value,
    )
    try:
        with _progress(sources, options, enabled=show_progress(quiet or json)) as progress:
            report = run_ingest(sources, progress=progress, **options)
    except CurataError as exc:
        _fail(exc, dataset, json)
    if json:
        print_json(_summary(report))
    elif not quiet:
        _print_report(report)


def _fail(exc: CurataError, dataset: str, json: bool) -> None:
    if debug():
        raise exc
    if json:
        print_json(
            {
                "status": "failed",
                "dataset": dataset,
                "version": None,
                "fingerprint": None,
                "rows_read": None,
                "rows_written": 0,
                "duplicates": None,
                "rejected": getattr(exc, "rejected", None),
                "error": exc.to_dict(),
            }
        )
    err_console.print(f"[bold red]error:[/] {exc}", markup=True)
    raise typer.Exit(exc.exit_code)


@contextmanager
def _progress(sources: list[str], options: dict[str, Any], *, enabled: bool) -> Any:
    """A rich progress bar on stderr (rows, bytes, rate, ETA when sizes are known)."""
    if not enabled:
        yield None
        return
    total = _total_bytes(sources, options)
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err_console, transient=False) as bar:
        task = bar.add_task(f"ingest → {options['dataset']}", total=total, rows=0)
        rows = 0

        def advance(nbytes: int, nrows: int) -> None:
            nonlocal rows
            rows += nrows
            bar.update(task, advance=nbytes, rows=rows)

        yield advance


def _total_bytes(sources: list[str], options: dict[str, Any]) -> int | None:
    try:
        resolved = open_sources(sources, format=options["format"])
        sizes = [s.total_bytes() for s in resolved]
    except CurataError:
        return None  # the ingest itself reports the problem
    return None if any(s is None for s in sizes) else sum(s or 0 for s in sizes)


def _summary(report: IngestReport) -> dict[str, Any]:
    out = report.to_dict()
    keys = (
        "status",
        "dataset",
        "version",
        "fingerprint",
        "rows_read",
        "rows_written",
        "duplicates",
        "rejected",
    )
    return {**{k: out[k] for k in keys}, **{k: v for k, v in out.items() if k not in keys}}


def _print_report(report: IngestReport) -> None:
    table(
        f"ingest → {report.dataset}: {report.status}",
        ["source", "format", "read", "written", "duplicates", "rejected"],
        [
            [s.uri, s.format, s.rows_read, s.rows_written, s.duplicates, s.rejected]
            for s in report.sources
        ],
    )
    if report.status == "committed":
        console.print(f"version {report.version}  fingerprint {report.fingerprint}")
    if report.reject_reasons:
        reasons = ", ".join(f"{k} {v}" for k, v in report.reject_reasons.items())
        console.print(f"rejected: {reasons}. Run `curata rejects {report.dataset}` to inspect.",
                      markup=False)
    if report.skipped:
        reasons = ", ".join(f"{k} {v}" for k, v in report.skip_reasons.items())
        console.print(f"skipped {report.skipped} input files: {reasons} (listed with --json).",
                      markup=False)
    if report.license_flagged:
        console.print("[yellow]warning:[/] license is 'unknown'; these rows are flagged.")


def rejects(
    dataset: Annotated[str, typer.Argument(help="Dataset name.")],
    run: Annotated[str | None, typer.Option(help="Only this ingest run id.")] = None,
    limit: Annotated[int, typer.Option(help="How many rejects to print.")] = 20,
    json: JsonOpt = False,
) -> None:
    """Show quarantined input: reason, source, locator (and raw bytes with --json)."""
    table_ = curata.connect().rejects(dataset)
    rows = table_.to_pylist()
    if run:
        rows = [r for r in rows if r.get("run_id") == run]
    if json:
        print_json(
            {
                "dataset": dataset,
                "total": len(rows),
                "rejects": [
                    {**r, "raw": (r.get("raw") or b"").decode("utf-8", "replace")}
                    for r in rows[:limit]
                ],
            }
        )
        return
    table(
        f"Rejects of {dataset} ({len(rows)})",
        ["reason", "source", "locator", "detail"],
        [
            [r.get("reason"), r.get("source"), r.get("locator"), (r.get("detail") or "")[:80]]
            for r in rows[:limit]
        ],
    )


def register(app: typer.Typer) -> None:
    """Add `ingest` and `rejects` to the `curata` app (``curata ingest`` == ``ingest``)."""
    for fn in (ingest, rejects):
        app.command()(fn)


def ingest_main() -> None:
    """Entry point of the standalone `ingest` command."""
    from curata_ingest.cli._errors import run

    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(ingest)
    run(app)


if __name__ == "__main__":  # pragma: no cover
    ingest_main()
