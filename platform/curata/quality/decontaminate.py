"""Benchmark decontamination: flag (or drop) records that share a word n-gram with an
evaluation snapshot.

Text is normalised (NFKC, lower case, words = runs of letters/digits, punctuation and spacing
ignored) and cut into word n-grams (13 by default, as GPT-3's decontamination).

**Index structure: a hashed set.** The evaluation side is read once per derive into one
sorted ``numpy.uint64`` array of n-gram hashes per evaluation ref (8 bytes per distinct
n-gram, bounded by ``max_ngrams``); the training side streams batch by batch and looks its
n-grams up with ``searchsorted``. It has no false negatives. A false positive needs a
training n-gram whose 64-bit hash equals one of the N evaluation hashes without the words
being equal: probability N / 2**64 per training n-gram, so ≈ m·N / 2**64 for a document of m
n-grams (a 1,000-word document against 10 M evaluation n-grams: 5e-10). A Bloom filter of the
same memory would have a far higher rate (≈ 2 % at 8 bits per n-gram).

Evaluation records with fewer than ``ngram`` words contribute no n-gram.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from curata.errors import InvalidRefError
from curata.quality import text as tx
from curata.quality.steps import QUALITY_VERSION
from curata.refs import parse_ref
from curata.transforms.errors import PipelineError
from curata.transforms.steps import Context, Step

if TYPE_CHECKING:
    import polars as pl

_WORD_SEED = 0x6465636F6E74


def word_arrays(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Hash (uint64) and document index of every normalised word of ``texts``."""
    import polars as pl

    words = (pl.DataFrame({"t": texts.cast(pl.String).fill_null("")}).with_row_index("doc")
             .select("doc", w=pl.col("t").str.normalize("NFKC").str.to_lowercase()
                     .str.extract_all(r"[\p{L}\p{N}]+"))
             .explode("w").drop_nulls("w"))
    return (words["w"].hash(seed=_WORD_SEED).to_numpy().astype(np.uint64),
            words["doc"].to_numpy())


def ngram_set(texts: pl.Series, n: int) -> np.ndarray:
    """Sorted distinct hashes of the word ``n``-grams of ``texts``."""
    hashes, doc = word_arrays(texts)
    grams = [h for _, h, _ in tx.ngram_levels(hashes, doc, [n])]
    return np.unique(grams[0]) if grams else np.empty(0, np.uint64)


def overlapping(texts: pl.Series, index: np.ndarray, n: int) -> np.ndarray:
    """Boolean per text: does any of its word ``n``-grams hash into ``index``?"""
    out = np.zeros(len(texts), dtype=bool)
    if not len(index):
        return out
    hashes, doc = word_arrays(texts)
    for _, h, start in tx.ngram_levels(hashes, doc, [n]):
        pos = np.minimum(np.searchsorted(index, h), len(index) - 1)
        out[np.unique(doc[start][index[pos] == h])] = True
    return out


@dataclass(frozen=True, slots=True)
class Decontaminate(Step):
    """Add ``contaminated`` and ``contamination`` (the evaluation refs a record overlaps).

    The evaluation snapshots are inputs of the transform: derive pins them when it starts, and
    their fingerprints enter the transform fingerprint and the lineage.

    Example:
        >>> Decontaminate("text", against=["mmlu@v1"], ngram=13, action="drop")
    """

    column: str = "text"
    against: tuple[str, ...] = ()
    ngram: int = 13
    action: Literal["flag", "drop"] = "flag"
    eval_column: str | None = None
    max_ngrams: int = 200_000_000
    kind: ClassVar[str] = "decontaminate"
    changes_content: ClassVar[bool] = False  # flags or drops records only

    def __post_init__(self) -> None:
        refs = (self.against,) if isinstance(self.against, str) else tuple(self.against)
        if not refs:
            raise PipelineError("name the evaluation snapshots in `against`", kind=self.kind)
        for r in refs:
            try:
                parse_ref(r)
            except InvalidRefError as exc:
                raise PipelineError(f"bad ref {r!r}: {exc.reason}", kind=self.kind) from None
        if self.action not in ("flag", "drop"):
            raise PipelineError(f"unknown action {self.action!r}", kind=self.kind,
                                valid=["flag", "drop"])
        if self.ngram < 1:
            raise PipelineError("ngram must be at least 1", kind=self.kind)
        object.__setattr__(self, "against", tuple(sorted(set(refs))))

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "against": list(self.against),
                "ngram": int(self.ngram), "action": self.action,
                "eval_column": self.eval_column or self.column, "normalize": "nfkc-lower-words"}

    def input_refs(self) -> list[str]:
        return list(self.against)

    def libraries(self) -> dict[str, str]:
        return {"quality": QUALITY_VERSION}

    def preload(self, ctx: Context) -> dict[str, np.ndarray]:
        return self.indexes(ctx)

    def adopt(self, ctx: Context, preloaded: Any) -> None:
        ctx.cache[self._key()] = preloaded

    def _key(self) -> tuple[str, int]:
        return ("decontaminate", id(self))

    def indexes(self, ctx: Context) -> dict[str, np.ndarray]:
        """One sorted n-gram hash array per evaluation ref (built once per derive)."""
        import polars as pl

        key = self._key()
        if key not in ctx.cache:
            column = self.eval_column or self.column
            built, total = {}, 0
            for ref in self.against:
                snap = ctx.snapshots[ref]
                if column not in snap.schema.names:
                    raise PipelineError(f"{ref} has no column {column!r}", kind=self.kind,
                                        valid=snap.schema.names)
                parts = [ngram_set(pl.Series(b.column(0)), self.ngram)
                         for b in snap.to_batches(columns=[column])]
                built[ref] = np.unique(np.concatenate(parts)) if parts else \
                    np.empty(0, np.uint64)
                total += len(built[ref])
                if total > self.max_ngrams:
                    raise PipelineError(f"the evaluation sets hold over {self.max_ngrams:,} "
                                        "n-grams; raise max_ngrams", kind=self.kind)
            ctx.cache[key] = built
        return ctx.cache[key]

    def apply(self, df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        import polars as pl

        if self.column not in df.columns:
            raise PipelineError(f"no column {self.column!r}", kind=self.kind, valid=df.columns)
        texts = df.get_column(self.column)
        hits = {ref: overlapping(texts, idx, self.ngram)
                for ref, idx in self.indexes(ctx).items()}
        refs = pl.DataFrame({r: pl.Series(h, dtype=pl.Boolean) for r, h in hits.items()})
        contamination = refs.select(pl.concat_list(
            [pl.when(pl.col(r)).then(pl.lit(r)) for r in refs.columns]).list.drop_nulls()
        ).to_series().alias("contamination")
        out = df.with_columns(contamination,
                              contaminated=contamination.list.len() > 0)
        return out.filter(~pl.col("contaminated")) if self.action == "drop" else out
