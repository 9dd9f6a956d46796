"""Exact duplicate detection by record fingerprint, shared by ``Catalog.append`` and ingest.

Every ``_id`` seen (in this write and already in the dataset) is kept as two uint64 halves in a
few sorted numpy runs, merged like an LSM tree: 16 bytes per record and vectorised lookups,
where a Python set of hex strings would cost ~100 bytes per record. A bit filter in front
(16 MiB, growing with the ids) answers "certainly new" for almost every id, so the sorted runs
are searched only for the few it cannot clear (~1.6x faster on 1.2M ids). Hand-written: no
maintained library offers a compact, vectorised set of 128-bit keys with this query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

_MAX_RUNS = 8
# A one-bit-per-slot "maybe seen" filter over the top bits of an id's high half (ids are
# uniform hashes): 2**27 bits = 16 MiB, ~1% false positives at a million ids. Ids whose bit is
# clear are new for sure, so only the few others are looked up in the sorted runs. It doubles
# (rebuilt from the runs) whenever it holds more than one id per 8 bits, so false positives
# stay under ~12% however many ids come (32 MiB at 17M ids, next to 267 MB of runs).
_FILTER_BITS = 27
_IDS_PER_BIT = 1 / 8


def id_halves(hashes: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Split fixed_size_binary(16) big-endian hashes into (hi, lo) uint64 arrays."""
    buf = hashes.buffers()[1]
    raw = np.frombuffer(buf, dtype=">u8", count=2 * len(hashes), offset=hashes.offset * 16)
    pairs = raw.reshape(-1, 2).astype(np.uint64)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


def hex_halves(ids: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(hi, lo) uint64 halves of 32-hex-character ``_id`` strings (vectorised via Polars)."""
    import polars as pl

    series = pl.from_arrow(ids.cast(pa.string()))
    assert isinstance(series, pl.Series)
    raw = series.str.decode("hex").to_arrow().cast(pa.binary()).cast(pa.binary(16))
    return id_halves(raw)


@dataclass(slots=True)
class IdIndex:
    """A set of 128-bit ids supporting vectorised "which of these are new?" queries."""

    runs: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    filter_bits: int = _FILTER_BITS
    bits: np.ndarray = field(init=False)
    size: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.bits = np.zeros(1 << (self.filter_bits - 3), np.uint8)

    def __len__(self) -> int:
        return self.size

    def add(self, hi: np.ndarray, lo: np.ndarray) -> None:
        """Add ids (e.g. those already in the dataset); runs are sorted by the high half."""
        order = np.argsort(hi)
        self._add_sorted(hi[order], lo[order])

    def contains(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        order = np.argsort(hi)
        found = np.zeros(len(hi), dtype=bool)
        found[order] = self._contains_sorted(hi[order], lo[order])
        return found

    def _contains_sorted(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """``contains`` for needles sorted by ``hi``: a sorted search walks each run in
        order (cache friendly), ~10x faster than looking up random ids."""
        found = np.zeros(len(hi), dtype=bool)
        for rhi, rlo in self.runs:
            left = np.searchsorted(rhi, hi, side="left")
            at = np.minimum(left, len(rhi) - 1)
            found |= (rhi[at] == hi) & (rlo[at] == lo)
            # Several ids in this run share a high half (astronomically rare): check each.
            nxt = np.minimum(left + 1, len(rhi) - 1)
            for i in np.flatnonzero((rhi[at] == hi) & (nxt > at) & (rhi[nxt] == hi) & ~found):
                right = int(np.searchsorted(rhi, hi[i], side="right"))
                found[i] = bool(np.any(rlo[left[i] : right] == lo[i]))
        return found

    def new_rows(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """Mask of rows whose id is neither already known nor repeated earlier in this call;
        the kept ids are added to the index."""
        order = np.argsort(hi)  # SIMD quicksort: 3-5x faster than a stable sort
        h, low = hi[order], lo[order]
        # Equal high halves (repeated ids) back in input order, as a stable sort would leave
        # them: the first occurrence of an id must come first.
        ties = np.flatnonzero(h[1:] == h[:-1])
        if ties.size:
            tied = np.unique(np.concatenate((ties, ties + 1)))
            perm = np.lexsort((order[tied], h[tied]))
            order[tied], low[tied] = order[tied][perm], low[tied][perm]
        # In sorted order: repeats of an earlier row and ids the index already holds (looked
        # up only where the filter says "maybe"; the candidates stay sorted).
        drop = _repeats_sorted(h, low)
        byte, mask = self._slots(h)
        maybe = np.flatnonzero(((self.bits[byte] & mask) != 0) & ~drop)
        if maybe.size:
            drop[maybe] = self._contains_sorted(h[maybe], low[maybe])
        keep = np.empty(len(hi), dtype=bool)
        keep[order] = ~drop
        self._add_sorted(h[~drop], low[~drop])
        return keep

    def _add_sorted(self, hi: np.ndarray, lo: np.ndarray) -> None:
        if not len(hi):
            return
        self.size += len(hi)
        bits = self.filter_bits
        while self.size > (1 << self.filter_bits) * _IDS_PER_BIT:
            self.filter_bits += 1
        if self.filter_bits != bits:  # grown: rebuild from the runs
            self.bits = np.zeros(1 << (self.filter_bits - 3), np.uint8)
            for rhi, _ in self.runs:
                self._mark(rhi)
        self._mark(hi)
        self.runs.append((hi, lo))
        self._merge()

    def _slots(self, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The filter byte and bit mask of each id."""
        slot = hi >> np.uint64(64 - self.filter_bits)
        return slot >> np.uint64(3), np.left_shift(1, (slot & np.uint64(7)).astype(np.uint8))

    def _mark(self, hi: np.ndarray) -> None:
        """Set the filter bits of sorted ids (equal bytes are adjacent: no ``ufunc.at``)."""
        byte, mask = self._slots(hi)
        starts = np.flatnonzero(np.concatenate(([True], byte[1:] != byte[:-1])))
        self.bits[byte[starts]] |= np.bitwise_or.reduceat(mask, starts)

    def _merge(self) -> None:
        while len(self.runs) > 1 and (
            len(self.runs) > _MAX_RUNS or len(self.runs[-1][0]) >= len(self.runs[-2][0])
        ):
            (h2, l2), (h1, l1) = self.runs.pop(), self.runs.pop()
            h, lo_ = np.concatenate((h1, h2)), np.concatenate((l1, l2))
            order = np.argsort(h, kind="stable")  # two sorted runs: timsort merges them
            self.runs.append((h[order], lo_[order]))


def _repeats_sorted(h: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Which rows (sorted by high half, stably) repeat an id seen at an earlier original row."""
    repeated = np.zeros(len(h), dtype=bool)
    same_hi = np.flatnonzero(h[1:] == h[:-1]) + 1
    if not len(same_hi):
        return repeated
    if np.all(lo[same_hi] == lo[same_hi - 1]):  # the usual case: true repeats only
        repeated[same_hi] = True
        return repeated
    # A high half shared by distinct ids (astronomically rare): check those groups exactly,
    # keeping the first occurrence of every (hi, lo).
    starts = same_hi[np.concatenate(([True], np.diff(same_hi) > 1))] - 1
    for start in starts:
        stop = start + 1
        while stop < len(h) and h[stop] == h[start]:
            stop += 1
        seen: set[int] = set()
        for i in range(start, stop):
            repeated[i] = int(lo[i]) in seen
            seen.add(int(lo[i]))
    return repeated
