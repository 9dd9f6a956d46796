"""Active-learning selection: which records to label next, from a model's class probabilities.

A snapshot column of ``list<float>`` class probabilities (one list per record) is scored by a
strategy; higher scores are more informative:

* ``uncertainty``: ``1 - max p``;
* ``margin``: ``-(p1 - p2)``, the gap between the two likeliest classes, negated;
* ``entropy``: ``-sum p ln p`` (``0 ln 0 = 0``);
* ``random``: a uniform draw per record from XXH3-64 of its ``_id`` under the seed, so the
  draw of a record never depends on row order or on which other records exist.

The ``n`` highest scores are picked, ties broken by ``_id``. With ``diverse``, the picks spread
over clusters of an embedding column: the ``POOL_FACTOR * n`` most informative records are
clustered into ``n`` groups and the most informative record of each group is picked first
(then the second of each, and so on). A ``list<float>`` embedding is clustered by k-means
(scikit-learn, seeded); a ``list<int>`` MinHash signature by locality-sensitive hashing (records
that share a band of ``BAND_ROWS`` values are one group: near-duplicates are never both picked
while other groups remain).

Everything is deterministic for a snapshot, parameters and seed. :func:`select` with ``into``
writes the picks as a derived snapshot (``Catalog.derive`` with a :class:`SelectStep`), so the
lineage of the round names the input snapshot and every parameter.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
import polars as pl
from curata.errors import SchemaMismatchError, UsageError
from curata.transforms import Step
from curata.transforms.steps import Context, Upstream

Strategy = Literal["uncertainty", "margin", "entropy", "random"]
STRATEGIES: tuple[str, ...] = ("uncertainty", "margin", "entropy", "random")
#: Candidates clustered by ``diverse``: this many times ``n``, the most informative first.
POOL_FACTOR = 10
#: Values of a MinHash signature per LSH band (128 values: 16 bands, Jaccard ~0.7 threshold).
BAND_ROWS = 8
#: How far class probabilities of a record may sum from 1.
SUM_TOLERANCE = 1e-3


class SelectionInputError(UsageError):
    """Scores that are not class probabilities, or bad selection parameters."""

    def __init__(self, column: str, *, reason: str) -> None:
        self.column = column
        self.reason = reason
        super().__init__(
            f"Cannot select by {column!r}: {reason}",
            hint="--scores names a list<float> column of class probabilities (one list per "
            "record); --strategy is uncertainty, margin, entropy or random",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Pick:
    """One selected record and its informativeness score."""

    record_id: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"_id": self.record_id, "score": self.score}


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """What ``curata label select`` picked, most informative first (ties by ``_id``)."""

    ref: str
    fingerprint: str
    strategy: str
    params: dict[str, Any]
    selected: list[Pick]
    candidates: int
    into: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "fingerprint": self.fingerprint,
            "strategy": self.strategy,
            "params": self.params,
            "candidates": self.candidates,
            "selected": [p.to_dict() for p in self.selected],
            "into": self.into,
        }


# --- scores ---------------------------------------------------------------------------------


def informativeness(probs: npt.ArrayLike, strategy: str) -> npt.NDArray[np.float64]:
    """Score of each row of an ``(n, classes)`` probability matrix (higher = label it first)."""
    p = np.asarray(probs, dtype=np.float64)
    if strategy == "uncertainty":
        return 1.0 - p.max(axis=1)
    if strategy == "margin":
        top2 = -np.sort(-p, axis=1)[:, :2]
        return -(top2[:, 0] - top2[:, 1])
    if strategy == "entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        return -terms.sum(axis=1)
    raise SelectionInputError("<scores>", reason=f"unknown strategy {strategy!r}")


def random_scores(record_ids: pl.Series, seed: int) -> npt.NDArray[np.float64]:
    """Uniform [0, 1) draws from XXH3-64 of each ``_id`` under a seed derived from ``seed``."""
    import polars_hash  # noqa: F401  (registers the ``nchash`` namespace)
    import xxhash

    hseed = xxhash.xxh3_64_intdigest(f"curata-label-select\0{seed}".encode())
    hashed = pl.DataFrame({"_id": record_ids}).select(pl.col("_id").nchash.xxh3_64(seed=hseed))
    return hashed.to_series().to_numpy().astype(np.float64) / 2.0**64


def probabilities(frame: pl.DataFrame, column: str) -> npt.NDArray[np.float64]:
    """The ``(rows, classes)`` matrix of a ``list<float>`` column, validated."""
    col = frame[column]
    if not isinstance(col.dtype, (pl.List, pl.Array)) or not col.dtype.inner.is_numeric():
        raise SelectionInputError(column, reason=f"it is {col.dtype}, not a list of floats")
    lengths = col.list.len() if isinstance(col.dtype, pl.List) else None
    if lengths is not None and lengths.n_unique() > 1:
        raise SelectionInputError(
            column, reason=f"rows hold {lengths.min()} to {lengths.max()} probabilities"
        )
    k = int(lengths[0]) if lengths is not None else col.dtype.size
    if k < 2:
        raise SelectionInputError(column, reason="it needs at least two classes per row")
    p = col.explode().to_numpy().astype(np.float64).reshape(len(col), k)
    if not np.isfinite(p).all() or (p < 0).any():
        raise SelectionInputError(column, reason="probabilities must be finite and >= 0")
    bad = np.abs(p.sum(axis=1) - 1.0) > SUM_TOLERANCE
    if bad.any():
        raise SelectionInputError(
            column, reason=f"{int(bad.sum())} row(s) do not sum to 1 (e.g. row of _id "
            f"{frame['_id'][int(np.argmax(bad))]})"
        )
    return p


# --- picking --------------------------------------------------------------------------------


def _order(scores: npt.NDArray[np.float64], ids: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Row indices by decreasing score, ties by ``_id``."""
    return np.lexsort((ids, -scores))


def _kmeans_groups(emb: npt.NDArray[np.float64], k: int, seed: int) -> npt.NDArray[np.int64]:
    import warnings

    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    # One thread: with several, the order of floating-point sums varies from run to run and
    # can flip a tied assignment, so the same seed would not always give the same picks.
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")  # fewer distinct points than k: the groups just repeat
        model = KMeans(n_clusters=k, random_state=seed, n_init=3)
        return model.fit_predict(emb).astype(np.int64)


def _lsh_groups(sig: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Connected groups of signatures that share at least one LSH band of ``BAND_ROWS``."""
    n, length = sig.shape
    rows = min(BAND_ROWS, length)
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    for start in range(0, length - rows + 1, rows):
        first: dict[bytes, int] = {}
        for i in range(n):
            key = sig[i, start : start + rows].tobytes()
            j = first.setdefault(key, i)
            if j != i:
                parent[root(i)] = root(j)
    return np.array([root(i) for i in range(n)], dtype=np.int64)


def embedding_matrix(frame: pl.DataFrame, column: str) -> tuple[npt.NDArray[Any], str]:
    """``(rows, dims)`` matrix of an embedding (floats) or MinHash signature (integers)."""
    col = frame[column]
    if not isinstance(col.dtype, (pl.List, pl.Array)) or not col.dtype.inner.is_numeric():
        raise SelectionInputError(column, reason=f"the embedding is {col.dtype}, not a list")
    lengths = col.list.len() if isinstance(col.dtype, pl.List) else None
    if col.null_count() or (lengths is not None and lengths.n_unique() > 1):
        raise SelectionInputError(column, reason="embeddings must all be present, one length")
    dims = int(lengths[0]) if lengths is not None else col.dtype.size
    kind = "minhash" if col.dtype.inner.is_integer() else "embedding"
    values = col.explode().to_numpy()
    dtype = np.int64 if kind == "minhash" else np.float64
    return values.astype(dtype).reshape(len(col), dims), kind


def diverse_order(
    order: npt.NDArray[np.int64], emb: npt.NDArray[Any], kind: str, n: int, seed: int
) -> npt.NDArray[np.int64]:
    """Re-rank the ``POOL_FACTOR * n`` best of ``order``: best of each group first."""
    pool = order[: min(len(order), POOL_FACTOR * n)]
    if len(pool) <= 1:
        return pool
    if kind == "minhash":
        groups = _lsh_groups(emb[pool])
    else:
        groups = _kmeans_groups(emb[pool], min(n, len(pool)), seed)
    rank_in_group = np.zeros(len(pool), dtype=np.int64)
    seen: dict[int, int] = {}
    for i, g in enumerate(groups):  # pool is in decreasing informativeness
        rank_in_group[i] = seen.get(int(g), 0)
        seen[int(g)] = rank_in_group[i] + 1
    return pool[np.lexsort((np.arange(len(pool)), rank_in_group))]


@dataclass(frozen=True, slots=True, kw_only=True)
class SelectParams:
    """The parameters of one selection (what lineage records)."""

    scores: str
    strategy: str
    n: int
    seed: int = 0
    diverse: bool = False
    embedding: str | None = None

    def check(self) -> None:
        if self.strategy not in STRATEGIES:
            raise SelectionInputError(self.scores, reason=f"unknown strategy {self.strategy!r}")
        if self.n < 1:
            raise SelectionInputError(self.scores, reason=f"--n must be at least 1, not {self.n}")
        if self.diverse and not self.embedding:
            raise SelectionInputError(self.scores, reason="--diverse needs --embedding COLUMN")

    def to_dict(self) -> dict[str, Any]:
        return {"scores": self.scores, "strategy": self.strategy, "n": self.n,
                "seed": self.seed, "diverse": self.diverse, "embedding": self.embedding}


def pick(frame: pl.DataFrame, params: SelectParams) -> tuple[list[Pick], int]:
    """Pick from a frame holding ``_id``, the scores and (with ``diverse``) the embedding.

    Rows with null scores are no candidates; a repeated ``_id`` counts once. Returns the picks
    (most informative first, ties by ``_id``) and the number of candidates.
    """
    params.check()
    frame = frame.filter(pl.col(params.scores).is_not_null()).unique("_id", keep="first")
    frame = frame.sort("_id")
    ids = frame["_id"].to_numpy()
    if params.strategy == "random":
        scores = random_scores(frame["_id"], params.seed)
    else:
        scores = informativeness(probabilities(frame, params.scores), params.strategy)
    order = _order(scores, ids)
    if params.diverse:
        emb, kind = embedding_matrix(frame, str(params.embedding))
        order = diverse_order(order, emb, kind, params.n, params.seed)
    chosen = order[: params.n]
    chosen = chosen[_order(scores[chosen], ids[chosen])]
    return [Pick(record_id=str(ids[i]), score=float(scores[i])) for i in chosen], len(ids)


# --- the derive step behind --into ------------------------------------------------------------


def _module_hash() -> str:
    source = inspect.getsource(sys.modules[__name__])
    return hashlib.sha256(source.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SelectStep(Step):
    """A transform step keeping the picked records, with ``select_score`` and ``select_rank``
    columns (rank 1 = most informative). Two passes: pick from ``_id`` + scores, then filter.
    """

    params: SelectParams
    kind: ClassVar[str] = "label_select"
    changes_content: ClassVar[bool] = False  # keeps the chosen records, adds their scores

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.params.to_dict()}

    def code(self) -> dict[str, str]:
        return {"curata_labeling.select": _module_hash()}

    def libraries(self) -> dict[str, str]:
        libs = {"numpy": np.__version__}
        if self.params.diverse:
            import sklearn

            libs["scikit-learn"] = sklearn.__version__
        return libs

    def run(self, upstream: Upstream, ctx: Context) -> Iterator[pl.DataFrame]:
        cols = ["_id", self.params.scores, *([self.params.embedding] if self.params.diverse else [])]
        frames = [df.select(cols) for df in upstream()]
        picks, _ = pick(pl.concat(frames) if frames else pl.DataFrame(), self.params)
        chosen = pl.DataFrame(
            {"_id": [p.record_id for p in picks], "select_score": [p.score for p in picks],
             "select_rank": list(range(1, len(picks) + 1))},
            schema={"_id": pl.String, "select_score": pl.Float64, "select_rank": pl.Int64},
        )
        emitted: set[str] = set()
        for df in upstream():
            out = df.join(chosen, on="_id", how="inner").unique("_id", keep="first")
            out = out.filter(~pl.col("_id").is_in(list(emitted)))
            emitted.update(out["_id"].to_list())
            yield out


def select(
    cat: Any,
    ref: str,
    *,
    scores: str,
    strategy: Strategy = "uncertainty",
    n: int = 100,
    seed: int = 0,
    diverse: bool = False,
    embedding: str | None = None,
    into: str | None = None,
    tag: str | None = None,
) -> Selection:
    """Pick the ``n`` records of ``ref`` most worth labeling next.

    Args:
        scores: a ``list<float>`` column of class probabilities.
        strategy: ``uncertainty``, ``margin``, ``entropy`` or ``random``.
        seed: seed of ``random`` and of the k-means of ``diverse``.
        diverse / embedding: spread picks over clusters of this embedding / MinHash column.
        into / tag: also write the picks as a derived dataset (lineage names ``ref`` and
            every parameter); its rows carry ``select_score`` and ``select_rank``.

    Example:
        >>> select(cat, "reviews@v3", scores="probs", strategy="margin", n=500).selected[0]
    """
    params = SelectParams(scores=scores, strategy=strategy, n=n, seed=seed, diverse=diverse,
                          embedding=embedding)
    params.check()
    snap = cat.snapshot(ref)
    missing = [c for c in (scores, embedding if diverse else None) if c and c not in snap.schema.names]
    if missing:
        raise SchemaMismatchError(snap.dataset, reason=f"no column(s) {missing}", columns=missing)
    if into is None:
        cols = ["_id", scores, *([embedding] if diverse else [])]
        frame = snap.to_polars(lazy=True).select(cols).collect()
        picks, candidates = pick(frame, params)
        return Selection(ref=snap.ref, fingerprint=snap.fingerprint, strategy=strategy,
                         params=params.to_dict(), selected=picks, candidates=candidates)
    return _select_into(cat, snap, params, into, tag)


def _select_into(cat: Any, snap: Any, params: SelectParams, into: str, tag: str | None) -> Selection:
    result = cat.derive(snap.ref, [SelectStep(params)], into=into, tag=tag)
    out = result.snapshot.to_polars(lazy=True).select("_id", "select_score", "select_rank")
    rows = out.sort("select_rank").collect()
    picks = [Pick(record_id=r, score=s) for r, s in zip(rows["_id"], rows["select_score"], strict=True)]
    candidates = (
        snap.to_polars(lazy=True).filter(pl.col(params.scores).is_not_null())
        .select(pl.col("_id").n_unique()).collect().item()
    )
    return Selection(
        ref=snap.ref, fingerprint=snap.fingerprint, strategy=params.strategy,
        params=params.to_dict(), selected=picks, candidates=int(candidates),
        into={"ref": result.snapshot.ref, "fingerprint": result.snapshot.fingerprint,
              "status": result.status, "transform_fingerprint": result.transform_fingerprint},
    )
