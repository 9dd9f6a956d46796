"""`curata stats` and `curata leakage`: what a pinned snapshot holds, and cross-split duplicates."""

from __future__ import annotations

from typing import Annotated

import curata
import typer

from curata_ingest.cli._output import JsonOpt, console, print_json, table


def stats(
    ref: Annotated[str, typer.Argument(help="Snapshot ref: NAME, NAME@TAG, NAME@VERSION.")],
    max_categories: Annotated[int, typer.Option(
        help="Count a column value by value when it has at most this many distinct values."
    )] = 50,
    json: JsonOpt = False,
) -> None:
    """Rows per license, source and low-cardinality column (split, lang…), text length
    histograms, and the rates of quality issues and PII kinds."""
    from curata.quality.stats import snapshot_stats

    result = snapshot_stats(curata.connect().snapshot(ref), max_categories=max_categories)
    if json:
        print_json(result.to_dict())
        return
    console.print(f"{result.ref}: {result.rows:,} rows, fingerprint {result.fingerprint}")
    for column, counts in result.by.items():
        table(f"by {column}", [column, "rows"], list(counts.items())[:20])
    for column, info in result.lengths.items():
        table(f"length of {column} (characters)", ["from", "to", "rows"],
              [(b["lo"], b["hi"], b["count"]) for b in info["histogram"]])
    for name, rates in result.rates.items():
        if rates:
            table(f"rates: {name}", [name, "share of rows"],
                  [(k, f"{v:.2%}") for k, v in sorted(rates.items(), key=lambda kv: -kv[1])])


def leakage(
    ref: Annotated[str, typer.Argument(help="Snapshot ref: NAME, NAME@TAG, NAME@VERSION.")],
    split_column: Annotated[str, typer.Option(help="Column holding the split name.")] = "split",
    column: Annotated[str | None, typer.Option(
        help="Content column to compare (default: the text column, else the image bytes).")] = None,
    threshold: Annotated[float, typer.Option(
        help="Text: estimated Jaccard similarity of word 3-grams that counts as near.")] = 0.8,
    max_distance: Annotated[int, typer.Option(
        help="Images: perceptual-hash bits that may differ for a near duplicate.")] = 4,
    json: JsonOpt = False,
) -> None:
    """Records whose exact or near duplicate sits in another split (train/test leakage)."""
    from curata.quality.leakage import find_leakage

    report = find_leakage(curata.connect().snapshot(ref), split_column=split_column,
                          column=column, threshold=threshold, max_distance=max_distance)
    if json:
        print_json(report.to_dict())
        return
    counts = report.counts
    console.print(f"{report.ref}: {counts['exact']} exact and {counts['near']} near duplicate "
                  f"pairs across splits of {report.split_column!r} (column {report.column!r})")
    if report.pairs:
        table(None, ["a", "split_a", "b", "split_b", "kind", "distance"],
              [(p.a, p.split_a, p.b, p.split_b, p.kind, p.distance) for p in report.pairs[:50]])


def register(app: typer.Typer) -> None:
    """Add `stats` and `leakage` to the `curata` app."""
    app.command()(stats)
    app.command()(leakage)
