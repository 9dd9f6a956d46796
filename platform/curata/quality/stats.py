"""``Snapshot.stats()`` / ``curata stats``: counts per license, source and every
low-cardinality column, text length histograms, and the rates of quality issues and PII kinds.

Computed with lazy Polars queries over the pinned version, one pass per group of figures; only
small aggregates are held in memory whatever the row count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl


#: A column with at most this many distinct values is counted value by value in ``by``.
MAX_CATEGORIES = 50
#: ... and strings of at most this many characters (longer ones are text, with lengths).
MAX_LABEL = 64


def _categorical() -> tuple[Any, ...]:
    import polars as pl

    return (pl.String, pl.Boolean, pl.Categorical, pl.Int8, pl.Int16, pl.Int32, pl.Int64,
            pl.UInt8, pl.UInt16, pl.UInt32)


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotStats:
    """What ``curata stats REF --json`` prints (DESIGN.md §9)."""

    ref: str
    fingerprint: str
    rows: int
    by: dict[str, dict[str, int]] = field(default_factory=dict)
    lengths: dict[str, dict[str, Any]] = field(default_factory=dict)
    rates: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "fingerprint": self.fingerprint, "rows": self.rows,
                "by": self.by, "lengths": self.lengths, "rates": self.rates}


def _low_cardinality(lf: pl.LazyFrame, schema: pl.Schema, limit: int) -> list[str]:
    import polars as pl

    cands = [c for c, t in schema.items()
             if c not in ("_id", "_provenance") and any(t == k for k in _categorical())]
    if not cands:
        return []
    # a category is short: a column of long strings is text, however few its values
    label = [pl.col(c).str.len_chars().max().fill_null(0) <= MAX_LABEL if schema[c] == pl.String
             else pl.lit(True) for c in cands]
    row = lf.select([pl.col(c).n_unique().alias(c) for c in cands]
                    + [e.alias(f"{c}\0short") for c, e in zip(cands, label, strict=True)]
                    ).collect().row(0, named=True)
    always = {"_license", "_source"}
    return [c for c in cands if c in always or (row[c] <= limit and row[f"{c}\0short"])]


def _counts(lf: pl.LazyFrame, column: str) -> dict[str, int]:
    import polars as pl

    vc = (lf.group_by(column).agg(pl.len().alias("n")).sort(["n", column],
                                                           descending=[True, False]).collect())
    return {("null" if v is None else str(v)): int(n) for v, n in vc.iter_rows()}


def _histogram(lf: pl.LazyFrame, column: str) -> dict[str, Any]:
    """Length in characters: summary and a power-of-two histogram (``[lo, hi)`` bins)."""
    import polars as pl

    n = pl.col(column).str.len_chars()
    summary = lf.select(min=n.min(), max=n.max(), mean=n.mean(), p50=n.quantile(0.5),
                        p90=n.quantile(0.9), p99=n.quantile(0.99)).collect().row(0, named=True)
    bins = (lf.select(b=pl.when(n == 0).then(0).otherwise(n.log(2).floor().cast(pl.Int64) + 1))
            .group_by("b").agg(pl.len().alias("count")).sort("b").collect())
    hist = [{"lo": 0 if b == 0 else 2 ** (b - 1), "hi": 1 if b == 0 else 2 ** b,
             "count": int(c)} for b, c in bins.iter_rows() if b is not None]
    return {**{k: (float(v) if v is not None else None) for k, v in summary.items()},
            "histogram": hist}


def _rates(lf: pl.LazyFrame, column: str, rows: int) -> dict[str, float]:
    """Share of records whose ``list<string>`` column holds each value."""
    import polars as pl

    vc = (lf.select(pl.col(column).list.unique()).explode(column).drop_nulls()
          .group_by(column).agg(pl.len().alias("n")).sort(column).collect())
    return {str(v): round(int(k) / rows, 6) for v, k in vc.iter_rows()} if rows else {}


def snapshot_stats(snap: Any, *, max_categories: int = MAX_CATEGORIES) -> SnapshotStats:
    """Statistics of a pinned snapshot (see ``SnapshotStats``).

    Example:
        >>> curata.load("web@v2").stats().rates["quality_issues"]
        {'c4.terminal_punct': 0.081, 'gopher.word_count': 0.12}
    """
    import polars as pl

    lf = snap.to_polars(lazy=True)
    schema = lf.collect_schema()
    rows = int(lf.select(pl.len()).collect().item())
    by = {c: _counts(lf, c) for c in _low_cardinality(lf, schema, max_categories)}
    lengths = {c: _histogram(lf, c) for c, t in schema.items()
               if t == pl.String and not c.startswith("_") and c not in by}
    rates: dict[str, dict[str, float]] = {}
    for c in ("quality_issues", "pii", "contamination"):
        if c in schema and isinstance(schema[c], pl.List):
            rates[c] = _rates(lf, c, rows)
        elif c in ("quality_issues", "pii"):
            rates[c] = {}
    return SnapshotStats(ref=snap.ref, fingerprint=snap.fingerprint, rows=rows, by=by,
                         lengths=lengths, rates=rates)
