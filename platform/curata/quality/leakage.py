"""Split leakage: records whose exact or near duplicate sits in another split.

Exact duplicates share the compared column's value byte for byte (``_id`` cannot tell, as
the split label is part of a record's content). Near duplicates are, for text, MinHash
estimates of word 3-gram Jaccard similarity at or above ``threshold`` (the shingling of
``near_dedup``; ``distance`` = 1 − similarity), and for images perceptual hashes within
``max_distance`` bits (``distance`` = bits).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from curata.errors import UsageError
from curata.quality.images import close_pairs, phash
from curata.transforms.near import datasketch_module, sketches

if TYPE_CHECKING:
    import polars as pl

_TEXT_NAMES = ("text", "content", "body", "document", "caption")


@dataclass(frozen=True, slots=True, kw_only=True)
class LeakagePair:
    """Two records in different splits; ``a`` < ``b`` by ``_id``."""

    a: str
    b: str
    split_a: str
    split_b: str
    kind: Literal["exact", "near"]
    distance: float


@dataclass(frozen=True, slots=True, kw_only=True)
class LeakageReport:
    """Cross-split duplicate pairs of a snapshot, exact ones first, then by distance and ids."""

    ref: str
    column: str
    split_column: str
    pairs: list[LeakagePair] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {"exact": sum(p.kind == "exact" for p in self.pairs),
                "near": sum(p.kind == "near" for p in self.pairs)}

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "column": self.column, "split_column": self.split_column,
                "pairs": [{"a": p.a, "b": p.b, "split_a": p.split_a, "split_b": p.split_b,
                           "kind": p.kind, "distance": p.distance} for p in self.pairs],
                "counts": self.counts}


def _pick_column(schema: pl.Schema, split_column: str, column: str | None) -> str:
    import polars as pl

    content = {c: t for c, t in schema.items() if not c.startswith("_") and c != split_column}
    if column is not None:
        if column not in content:
            raise UsageError(f"Column {column!r} is not a content column of the snapshot",
                             hint=f"Pick one of: {', '.join(content)}")
        return column
    for name in _TEXT_NAMES:
        if content.get(name) == pl.String:
            return name
    for want in (pl.String, pl.Binary):
        for c, t in content.items():
            if t == want:
                return c
    raise UsageError("The snapshot has no text or binary column to compare",
                     hint="Name one with --column")


def _exact_pairs(df: pl.DataFrame, col: str) -> pl.DataFrame:
    import polars as pl

    groups = df.with_columns(g=pl.col(col).hash()).group_by("g").agg("_id", "split") \
        .filter(pl.col("_id").list.len() > 1)
    members = groups.explode("_id", "split")
    pairs = members.join(members, on="g", suffix="_b").filter(
        (pl.col("_id") < pl.col("_id_b")) & (pl.col("split") != pl.col("split_b")))
    return pairs.select(a="_id", b="_id_b", split_a="split", split_b="split_b",
                        distance=pl.lit(0.0))


def _near_text(df: pl.DataFrame, col: str, threshold: float, num_perm: int) -> pl.DataFrame:
    ds = datasketch_module()
    ids, splits = df["_id"].to_list(), df["split"].to_list()
    sks = sketches(df[col].fill_null("").to_list(), num_perm=num_perm)
    lsh = ds.MinHashLSH(threshold=threshold, num_perm=num_perm)
    for i, sk in enumerate(sks):
        lsh.insert(i, sk)
    rows = []
    for i, sk in enumerate(sks):  # candidates from LSH, confirmed on the sketches
        for j in lsh.query(sk):
            if j > i and splits[i] != splits[j]:
                sim = float(sk.jaccard(sks[j]))
                if sim >= threshold:
                    rows.append((ids[i], ids[j], splits[i], splits[j], round(1 - sim, 6)))
    return _frame(rows)


def _near_images(df: pl.DataFrame, col: str, max_distance: int) -> pl.DataFrame:
    import polars as pl

    df = df.with_columns(phash(df[col])).filter(pl.col("phash").is_not_null())
    pairs = close_pairs(df["phash"].to_numpy().astype(np.uint64), max_distance)
    ids, splits = df["_id"].to_list(), df["split"].to_list()
    rows = [(ids[i], ids[j], splits[i], splits[j], float(d)) for i, j, d in pairs.iter_rows()
            if splits[i] != splits[j]]
    return _frame(rows)


def _frame(rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    import polars as pl

    schema = {"a": pl.String, "b": pl.String, "split_a": pl.String, "split_b": pl.String,
              "distance": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _ordered(frame: pl.DataFrame) -> pl.DataFrame:
    """``a`` < ``b`` (splits swapped along)."""
    import polars as pl

    swap = pl.col("a") > pl.col("b")
    return frame.select(
        a=pl.when(swap).then("b").otherwise("a"), b=pl.when(swap).then("a").otherwise("b"),
        split_a=pl.when(swap).then("split_b").otherwise("split_a"),
        split_b=pl.when(swap).then("split_a").otherwise("split_b"), distance="distance")


def find_leakage(snap: Any, *, split_column: str = "split", column: str | None = None,
                 threshold: float = 0.8, max_distance: int = 4, num_perm: int = 128
                 ) -> LeakageReport:
    """Pairs of records in different splits that are exact or near duplicates.

    Example:
        >>> find_leakage(curata.load("reviews@v1"), split_column="split").counts
        {'exact': 3, 'near': 12}
    """
    import polars as pl

    schema = snap.to_polars(lazy=True).collect_schema()
    if split_column not in schema:
        raise UsageError(f"The snapshot has no column {split_column!r}",
                         hint="Name the split column with --split-column")
    col = _pick_column(schema, split_column, column)
    df = pl.from_arrow(snap.to_arrow(columns=["_id", split_column, col]))
    assert isinstance(df, pl.DataFrame)
    df = df.rename({split_column: "split"}).with_columns(pl.col("split").cast(pl.String))
    exact = _exact_pairs(df, col)
    near = (_near_images(df, col, max_distance) if schema[col] == pl.Binary
            else _near_text(df, col, threshold, num_perm))
    near = _ordered(near).join(exact.select("a", "b"), on=["a", "b"], how="anti")
    both = pl.concat([_ordered(exact).with_columns(kind=pl.lit("exact")),
                      near.with_columns(kind=pl.lit("near"))])
    both = both.unique(["a", "b"], keep="first").sort(["kind", "distance", "a", "b"])
    pairs = [LeakagePair(**r) for r in both.iter_rows(named=True)]
    return LeakageReport(ref=snap.ref, column=col, split_column=split_column, pairs=pairs)
