"""Image near-duplicates: perceptual hashes (``imagehash.phash``) and Hamming-distance
clusters, for the ``near_dedup`` step (``method: phash``) and split leakage.

Candidate pairs come from the pigeonhole principle: two 64-bit hashes within distance ``d``
agree exactly on at least one of ``d + 1`` disjoint bit bands, so a group-by per band finds
every candidate and a popcount confirms it; no all-pairs comparison.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from curata.quality.steps import QUALITY_VERSION
from curata.transforms.errors import PipelineError
from curata.transforms.steps import Context, Step, Upstream

if TYPE_CHECKING:
    import polars as pl

    from curata.store import Store

CLUSTERS_TABLE = "near_duplicates"


def phash(images: pl.Series, *, hash_size: int = 8) -> pl.Series:
    """The perceptual hash of each image's bytes as ``UInt64`` (null for bytes that are not an
    image Pillow reads). Only ``hash_size=8`` fits 64 bits."""
    import imagehash
    import polars as pl
    from PIL import Image, UnidentifiedImageError

    out: list[int | None] = []
    # Decoding and the DCT are per image (Pillow, imagehash): a loop the libraries impose.
    for data in images.to_list():
        try:
            with Image.open(io.BytesIO(data)) as im:
                bits = imagehash.phash(im, hash_size=hash_size).hash.flatten()
        except (UnidentifiedImageError, OSError, TypeError, ValueError):
            out.append(None)
            continue
        out.append(int("".join("1" if b else "0" for b in bits), 2))
    return pl.Series("phash", out, dtype=pl.UInt64)


def popcount(x: np.ndarray) -> np.ndarray:
    return np.unpackbits(x.astype(">u8").view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


def close_pairs(hashes: np.ndarray, max_distance: int) -> pl.DataFrame:
    """Every pair ``i < j`` of positions whose hashes differ in at most ``max_distance`` bits
    (``i``, ``j``, ``distance``), sorted."""
    import polars as pl

    bands = max_distance + 1
    edges = np.linspace(0, 64, bands + 1).astype(int)
    frame = pl.DataFrame({"i": np.arange(len(hashes), dtype=np.int64), "h": hashes})
    cands = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = np.uint64(((1 << (hi - lo)) - 1) << (64 - hi))
        keyed = frame.with_columns(band=pl.Series(hashes & mask, dtype=pl.UInt64))
        cands.append(keyed.join(keyed, on="band", suffix="_b").filter(pl.col("i") < pl.col("i_b"))
                     .select("i", j="i_b"))
    pairs = pl.concat(cands).unique() if cands else pl.DataFrame(schema={"i": pl.Int64,
                                                                        "j": pl.Int64})
    i, j = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    dist = popcount(hashes[i] ^ hashes[j]) if len(i) else np.empty(0, np.int64)
    return (pl.DataFrame({"i": i, "j": j, "distance": dist.astype(np.int64)})
            .filter(pl.col("distance") <= max_distance).sort("i", "j"))


def greedy_clusters(ids: list[str], hashes: np.ndarray, max_distance: int
                    ) -> dict[str, tuple[str, int]]:
    """``{dropped id: (kept id, distance)}``: in ``_id`` order, an image within
    ``max_distance`` of an image already kept joins the closest such one (ties: smaller id)."""
    order = np.argsort(np.asarray(ids, dtype=object), kind="stable")
    ids_sorted = [ids[k] for k in order]
    pairs = close_pairs(hashes[order], max_distance)
    near: dict[int, list[tuple[int, int]]] = {}
    for i, j, d in pairs.iter_rows():
        near.setdefault(j, []).append((d, i))
    kept: set[int] = set()
    dropped: dict[str, tuple[str, int]] = {}
    for j in range(len(ids_sorted)):  # greedy in id order: a kept image must come first
        matches = sorted((d, i) for d, i in near.get(j, []) if i in kept)
        if matches:
            dropped[ids_sorted[j]] = (ids_sorted[matches[0][1]], matches[0][0])
        else:
            kept.add(j)
    return dropped


@dataclass(frozen=True, slots=True)
class ImageNearDedup(Step):
    """Keep one image per cluster of perceptual-hash near-duplicates (Hamming distance at
    most ``max_distance`` of 64 bits); dropped ids and the id each was kept as are recorded in
    the target's ``near_duplicates`` table, as ingest's text near-dedup does.

    Example:
        >>> ImageNearDedup("image", max_distance=4)
    """

    column: str = "image"
    max_distance: int = 4
    kind: ClassVar[str] = "near_dedup"

    def __post_init__(self) -> None:
        if not 0 <= self.max_distance < 32:
            raise PipelineError(f"max_distance must be in [0, 31], got {self.max_distance}",
                                kind=self.kind)

    @property
    def name(self) -> str:
        return "near_dedup:phash"

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "method": "phash", "column": self.column,
                "max_distance": int(self.max_distance), "hash_size": 8}

    def libraries(self) -> dict[str, str]:
        from importlib.metadata import version

        return {"quality": QUALITY_VERSION, "imagehash": version("imagehash"),
                "pillow": version("pillow")}

    def _dropped(self, upstream: Upstream) -> tuple[dict[str, tuple[str, int]], dict[str, Any]]:
        import polars as pl

        ids: list[str] = []
        hashes: list[pl.Series] = []
        origin: dict[str, Any] = {}
        for df in upstream():
            if self.column not in df.columns:
                raise PipelineError(f"no column {self.column!r}", kind=self.kind,
                                    valid=df.columns)
            h = phash(df.get_column(self.column))
            ok = h.is_not_null()
            sub = df.filter(ok)
            ids.extend(sub["_id"].to_list())
            hashes.append(h.filter(ok))
            for row in sub.select("_id", *_locator_columns(sub)).iter_rows(named=True):
                origin.setdefault(row["_id"], row)
        allh = pl.concat(hashes).to_numpy().astype(np.uint64) if hashes else np.empty(0, np.uint64)
        return greedy_clusters(ids, allh, self.max_distance), origin

    def run(self, upstream: Upstream, ctx: Context) -> Iterator[pl.DataFrame]:
        import polars as pl

        dropped, origin = self._dropped(upstream)
        # set, not appended: a later step that re-runs its upstream must not record them twice
        ctx.cache[(CLUSTERS_TABLE, id(self))] = [
            _cluster_row(i, kept, d, origin.get(i, {})) for i, (kept, d) in sorted(dropped.items())]
        gone = pl.Series(list(dropped), dtype=pl.String)
        for df in upstream():
            yield df.filter(~pl.col("_id").is_in(gone.implode()))


def _locator_columns(df: pl.DataFrame) -> list[str]:
    return [c for c in ("_source", "_provenance") if c in df.columns]


def _cluster_row(dropped: str, kept: str, distance: int, origin: dict[str, Any]
                 ) -> dict[str, Any]:
    prov = origin.get("_provenance") or {}
    return {"cluster_id": kept, "_id": dropped, "similarity": 1 - distance / 64,
            "source": origin.get("_source"),
            "locator": str(prov.get("locator")) if isinstance(prov, dict) else None}


def write_clusters(store: Store, dataset: str, ctx: Context, *, run_id: str) -> int:
    """Append the clusters a derive's steps found to ``dataset``'s ``near_duplicates`` table
    (the schema ingest's near dedup writes: run, cluster (kept id), dropped id, similarity);
    returns how many rows."""
    import pyarrow as pa
    from deltalake import write_deltalake

    schema = pa.schema([("run_id", pa.string()), ("cluster_id", pa.string()),
                        ("_id", pa.string()), ("similarity", pa.float64()),
                        ("source", pa.string()), ("locator", pa.string())])
    clusters = [c for k, rows in ctx.cache.items()
                if isinstance(k, tuple) and k[0] == CLUSTERS_TABLE for c in rows]
    if not clusters:
        return 0
    table = pa.Table.from_pylist([{"run_id": run_id, **c} for c in clusters], schema=schema)
    write_deltalake(store.table_uri(dataset, CLUSTERS_TABLE), table, mode="append",
                    storage_options=store.storage_options)
    return len(clusters)
