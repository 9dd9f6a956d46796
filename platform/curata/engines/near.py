"""Near-duplicate clustering on a Ray cluster: the clusters ``NearDuplicateIndex`` finds when
it is offered every text in ``_id`` order (``curata.transforms.near``), without one process
holding every signature.

1. **band tasks** (one per input partition) compute each text's MinHash sketch and its LSH
   band keys (the bands of the ``MinHashLSH`` the index uses: two texts are LSH candidates
   exactly when they agree on a whole band) and send ``(band key, _id)`` pairs to one of P
   partitions by band key: a shuffle by band hash.
2. **bucket tasks** (one per partition) find the band buckets holding two or more ids and
   link them (a chain per bucket: enough for connectivity, never quadratic).
3. **driver**: connected components of those links. Every LSH candidate of a text lies in
   its component, so the greedy rule run within each component alone decides exactly as
   one global index would; components of one text (most texts) need no decision at all.
4. **text tasks** re-read the partitions that hold candidates and send each candidate's text
   to the decide task of its component; **decide tasks** run the greedy rule
   (``NearDuplicateIndex``: candidates verified by exact word-3-gram Jaccard, in ``_id``
   order) over their components and return the dropped ids.

Plain connected components would merge chains the greedy rule keeps apart (A~B, B~C, A≁C:
B is dropped as A's duplicate and C is kept), so components only group the work.

The caller supplies ``rows(part, *context)``: a function run in the tasks that yields
``(ids, texts)`` batches of one partition, the same on every call. Empty and null texts are
never near duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from curata.dedup import hex_halves
from curata.engines.ray import gather
from curata.transforms.near import NearDuplicateIndex, datasketch_module, signatures, sketches

RowsFn = Callable[..., Iterator[tuple[list[str], list[Any]]]]
_EMPTY = np.empty(0, np.uint64)


@dataclass(frozen=True, slots=True, kw_only=True)
class NearParams:
    """The index's parameters and the LSH bands they imply."""

    threshold: float
    num_perm: int = 128
    seed: int = 1
    ranges: tuple[tuple[int, int], ...] = ()  # MinHashLSH.hashranges

    @classmethod
    def of(cls, threshold: float, num_perm: int = 128, seed: int = 1) -> NearParams:
        lsh = datasketch_module().MinHashLSH(threshold=threshold, num_perm=num_perm)
        return cls(threshold=threshold, num_perm=num_perm, seed=seed,
                   ranges=tuple((int(a), int(b)) for a, b in lsh.hashranges))


def band_keys(hashvalues: np.ndarray, ranges: Sequence[tuple[int, int]]) -> np.ndarray:
    """One 64-bit key per (row, band): equal bands give equal keys (a hash collision only
    adds a candidate the decision then rejects)."""
    keys = np.empty((hashvalues.shape[0], len(ranges)), np.uint64)
    with np.errstate(over="ignore"):
        for b, (start, end) in enumerate(ranges):
            h = np.full(hashvalues.shape[0], np.uint64(0x9E3779B97F4A7C15 * (b + 1) % 2**64))
            for j in range(start, end):
                h = (h ^ hashvalues[:, j]) * np.uint64(0xBF58476D1CE4E5B9)
                h ^= h >> np.uint64(31)
            keys[:, b] = h
    return keys


def _halves(ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    import pyarrow as pa

    return hex_halves(pa.array(ids, pa.string()))


# --- tasks ------------------------------------------------------------------------------------


def band_task(rows: RowsFn, part: Any, index: int, params: NearParams, partitions: int,
              *context: Any) -> Any:
    """Pass 1: ``(band key, id hi, id lo, partition)`` per text and band, split by key."""
    keys, his, los = [], [], []
    for ids, texts in rows(part, *context):
        keep = [i for i, t in enumerate(texts) if t]
        if not keep:
            continue
        sk = sketches([texts[i] for i in keep], num_perm=params.num_perm, seed=params.seed)
        hv = np.stack([np.asarray(m.hashvalues, np.uint64) for m in sk])
        k = band_keys(hv, params.ranges)
        hi, lo = _halves([ids[i] for i in keep])
        keys.append(k.ravel())
        his.append(np.repeat(hi, k.shape[1]))
        los.append(np.repeat(lo, k.shape[1]))
    key = np.concatenate(keys) if keys else _EMPTY
    hi = np.concatenate(his) if his else _EMPTY
    lo = np.concatenate(los) if los else _EMPTY
    where = key % np.uint64(partitions)
    out = [(key[where == p], hi[where == p], lo[where == p], index) for p in range(partitions)]
    return out if partitions > 1 else out[0]


def bucket_task(*parts: tuple[np.ndarray, np.ndarray, np.ndarray, int]
                ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Pass 2: links between ids sharing a band bucket (each bucket a chain, in id order),
    as two ``(n, 2)`` arrays of (hi, lo), and which input partitions hold linked ids."""
    key = np.concatenate([p[0] for p in parts] or [_EMPTY])
    hi = np.concatenate([p[1] for p in parts] or [_EMPTY])
    lo = np.concatenate([p[2] for p in parts] or [_EMPTY])
    src = np.concatenate([np.full(len(p[0]), p[3], np.int64) for p in parts] or
                         [np.empty(0, np.int64)])
    order = np.lexsort((lo, hi, key))
    key, hi, lo, src = key[order], hi[order], lo[order], src[order]
    # consecutive rows of one bucket holding two different ids are linked
    same = (key[1:] == key[:-1]) & ((hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1]))
    a, b = np.flatnonzero(same), np.flatnonzero(same) + 1
    holders = np.unique(src[np.concatenate([a, b])]).tolist()
    return np.stack([hi[a], lo[a]], axis=1), np.stack([hi[b], lo[b]], axis=1), holders


def text_task(rows: RowsFn, part: Any, candidates: Candidates, groups: int,
              *context: Any) -> Any:
    """Pass 3: the texts of this partition's candidates, one output per decide group."""
    out: list[tuple[list[str], list[str]]] = [([], []) for _ in range(groups)]
    for ids, texts in rows(part, *context):
        keep = [i for i, t in enumerate(texts) if t]
        if not keep:
            continue
        group = candidates.group_of(*_halves([ids[i] for i in keep]))
        for i, g in zip(keep, group.tolist(), strict=True):
            if g >= 0:
                out[g][0].append(ids[i])
                out[g][1].append(texts[i])
    return out if groups > 1 else out[0]


def decide_task(params: NearParams, *parts: tuple[list[str], list[str]]
                ) -> dict[str, tuple[str, float]]:
    """Pass 4: the greedy rule over some components, in ``_id`` order: dropped id -> (kept
    id, similarity)."""
    texts = {}
    for ids, ts in parts:
        texts.update(zip(ids, ts, strict=True))  # a record read twice: same id, same text
    order = sorted(texts)
    sigs = signatures([texts[i] for i in order], num_perm=params.num_perm, seed=params.seed)
    index = NearDuplicateIndex(threshold=params.threshold, num_perm=params.num_perm)
    dropped = {}
    for key, sig in zip(order, sigs, strict=True):
        match = index.offer(key, sig)
        if match is not None:
            dropped[key] = match
    return dropped


# --- the driver ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidates:
    """Ids in components of two or more, sorted by (hi, lo), and their decide group."""

    hi: np.ndarray
    lo: np.ndarray
    group: np.ndarray

    def group_of(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """The group of each id, -1 for ids that are no candidate."""
        out = np.full(len(hi), -1, np.int64)
        if not len(self.hi):
            return out
        at = np.minimum(np.searchsorted(self.hi, hi), len(self.hi) - 1)
        same_hi = self.hi[at] == hi
        hit = same_hi & (self.lo[at] == lo)
        out[hit] = self.group[at[hit]]
        for j in np.flatnonzero(same_hi & ~hit).tolist():  # a high half shared: look on
            k = int(at[j])
            while k < len(self.hi) and self.hi[k] == hi[j]:
                if self.lo[k] == lo[j]:
                    out[j] = self.group[k]
                    break
                k += 1
        return out


def components(a: np.ndarray, b: np.ndarray, groups: int) -> Candidates:
    """Connected components of the links ``a[i]—b[i]`` (rows of (hi, lo)), spread over
    ``groups`` decide groups (whole components, largest first, to the lightest group)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    both = np.concatenate([a, b])
    nodes, inverse = np.unique(both, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    n = len(nodes)
    m = len(a)
    graph = coo_matrix((np.ones(m, np.int8), (inverse[:m], inverse[m:])), shape=(n, n))
    count, label = connected_components(graph, directed=False)
    sizes = np.bincount(label, minlength=count)
    load = np.zeros(groups, np.int64)
    group_of = np.empty(count, np.int64)
    for c in np.argsort(-sizes, kind="stable").tolist():
        g = int(np.argmin(load))
        group_of[c] = g
        load[g] += sizes[c]
    return Candidates(hi=nodes[:, 0].copy(), lo=nodes[:, 1].copy(), group=group_of[label])


def near_duplicates(ray: Any, rows: RowsFn, parts: Sequence[Any], *, threshold: float,
                    num_perm: int = 128, seed: int = 1, cpus: int = 1,
                    context: Sequence[Any] = (), max_retries: int = 3
                    ) -> dict[str, tuple[str, float]]:
    """Every near duplicate among the rows of ``parts``: dropped id -> (kept id, similarity),
    as ``NearDuplicateIndex`` decides in ``_id`` order. ``context``: extra arguments of
    ``rows`` (object refs are resolved by Ray)."""
    params = NearParams.of(threshold, num_perm, seed)
    k = max(1, cpus)
    opts = {"num_cpus": 1, "max_retries": max_retries}
    band = ray.remote(band_task).options(num_returns=k, **opts)
    banded = [band.remote(rows, part, i, params, k, *context) for i, part in enumerate(parts)]
    banded = [out if k > 1 else [out] for out in banded]
    bucket = ray.remote(bucket_task).options(**opts)
    links = gather([bucket.remote(*[out[p] for out in banded]) for p in range(k)])
    a = np.concatenate([x[0] for x in links] or [np.empty((0, 2), np.uint64)])
    b = np.concatenate([x[1] for x in links] or [np.empty((0, 2), np.uint64)])
    if not len(a):
        return {}
    holders = sorted({s for x in links for s in x[2]})
    candidates = ray.put(components(a, b, k))
    text = ray.remote(text_task).options(num_returns=k, **opts)
    sent = [text.remote(rows, parts[i], candidates, k, *context) for i in holders]
    sent = [out if k > 1 else [out] for out in sent]
    decide = ray.remote(decide_task).options(**opts)
    dropped: dict[str, tuple[str, float]] = {}
    for part in gather([decide.remote(params, *[out[g] for out in sent]) for g in range(k)]):
        dropped.update(part)
    return dropped
