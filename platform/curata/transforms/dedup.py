"""Exact and near deduplication steps, deterministic whatever the row order or file layout.

Both take two passes over their upstream (re-running it) rather than holding the data:
pass 1 collects per-row keys, pass 2 emits the chosen rows.

* exact: rows sharing an ``_id`` have the same content; the kept one is the row whose hash
  over *all* columns (source, license, provenance included) is smallest, so the choice does not
  depend on which file was read first. Memory: ~50 bytes per row.
* near: MinHash signatures of a text column; rows are clustered greedily in ``_id`` order and
  the first of each cluster kept. Memory: ``num_perm * 8`` bytes per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from curata import fingerprint as fp
from curata.transforms.errors import PipelineError
from curata.transforms.near import NearDuplicateIndex, datasketch_version, signatures
from curata.transforms.steps import Context, Step, Upstream

if TYPE_CHECKING:
    import polars as pl


def row_keys(df: pl.DataFrame) -> pl.Series:
    """The full-row hash (16 bytes, all columns) of each row, for the tie-break."""
    import polars as pl

    return pl.Series("_rowhash", fp.row_hashes(df.to_arrow()), dtype=pl.Binary)


@dataclass(frozen=True, slots=True)
class Dedup(Step):
    """Keep one row per ``_id`` (exact duplicates of content, possibly from several sources)."""

    kind: ClassVar[str] = "dedup"
    changes_content: ClassVar[bool] = False

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "on": "_id"}

    def libraries(self) -> dict[str, str]:
        return {"fingerprint": fp.FINGERPRINT_VERSION}

    def run(self, upstream: Upstream, ctx: Context) -> Iterator[pl.DataFrame]:
        import polars as pl

        parts = [df.select("_id").with_columns(row_keys(df)) for df in upstream()]
        if not parts:
            return
        winners = (pl.concat(parts).group_by("_id").agg(pl.col("_rowhash").min()))
        del parts
        for df in upstream():
            keyed = df.with_columns(row_keys(df))
            chosen = keyed.join(winners, on=["_id", "_rowhash"], how="semi",
                                maintain_order="left")
            chosen = chosen.unique(subset="_id", keep="first", maintain_order=True)
            if chosen.height:  # identical rows in a later batch must not come out again
                winners = winners.join(chosen.select("_id"), on="_id", how="anti")
            yield chosen.drop("_rowhash")


@dataclass(frozen=True, slots=True)
class NearDedup(Step):
    """Drop near-duplicate texts (MinHash LSH over word 3-grams of ``column``)."""

    column: str = "text"
    threshold: float = 0.9
    num_perm: int = 128
    seed: int = 1
    kind: ClassVar[str] = "near_dedup"
    changes_content: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise PipelineError(f"threshold must be in (0, 1], got {self.threshold}",
                                kind=self.kind)
        if self.num_perm < 16:
            raise PipelineError("num_perm must be at least 16", kind=self.kind)

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "threshold": float(self.threshold),
                "num_perm": int(self.num_perm), "seed": int(self.seed), "shingle": "word3",
                "verify": "exact-jaccard", "empty": "kept"}

    def libraries(self) -> dict[str, str]:
        return {"datasketch": datasketch_version()}

    def _kept_ids(self, upstream: Upstream) -> set[str]:
        import polars as pl

        ids: list[str] = []
        sks: list[Any] = []
        kept: set[str] = set()
        for df in upstream():
            if self.column not in df.columns:
                raise PipelineError(f"no column {self.column!r}", kind=self.kind,
                                    valid=df.columns)
            texts = df.select("_id", pl.col(self.column).cast(pl.String))
            # Empty and null texts are never near duplicates (as at ingest: one index, one rule)
            empty = texts.filter(pl.col(self.column).fill_null("") == "")
            kept.update(empty["_id"].to_list())
            texts = texts.filter(pl.col(self.column).fill_null("") != "")
            ids.extend(texts["_id"].to_list())
            sks.extend(signatures(texts[self.column].to_list(), num_perm=self.num_perm,
                                  seed=self.seed))
        index = NearDuplicateIndex(threshold=self.threshold, num_perm=self.num_perm)
        # _id order, not arrival order: the kept member of a cluster is the same every run
        for i in np.argsort(np.asarray(ids, dtype=object), kind="stable"):
            if ids[i] not in kept and index.offer(ids[i], sks[i]) is None:
                kept.add(ids[i])
        return kept

    def run(self, upstream: Upstream, ctx: Context) -> Iterator[pl.DataFrame]:
        import polars as pl

        kept = self._kept_ids(upstream)
        emitted: set[str] = set()
        for df in upstream():
            mask = [i in kept and i not in emitted for i in df["_id"].to_list()]
            out = df.filter(pl.Series(mask, dtype=pl.Boolean))
            out = out.unique(subset="_id", keep="first", maintain_order=True)
            emitted.update(out["_id"].to_list())
            yield out
