"""Duplicate removal at ingest: exact (``curata.dedup.IdIndex``, shared with
``Catalog.append``) and near (the MinHash LSH index of ``curata.transforms.near``, shared with
``derive``'s ``near_dedup``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from curata.errors import AmbiguousColumnError


class NearClusters:
    """Greedy near-duplicate clusters of one run's texts, decided in ``_id`` order with
    ``curata.transforms.near.NearDuplicateIndex`` (candidates from LSH, each verified against
    the threshold), exactly as ``derive``'s ``near_dedup`` step decides them. Empty and null
    texts are never near duplicates. Memory: one signature per new row (a MinHash sketch of
    ``num_perm`` * 8 bytes and 8 bytes per distinct shingle), as in ``derive``."""

    def __init__(self, threshold: float, *, num_perm: int = 128, seed: int = 1) -> None:
        self.threshold, self.num_perm, self.seed = threshold, num_perm, seed
        self.ids: list[str] = []
        self.sketches: list[Any] = []
        self.dropped: dict[str, tuple[str, float]] = {}  # id -> (kept id, Jaccard estimate)

    def add(self, ids: list[str], texts: list[str | None]) -> None:
        from curata.transforms.near import signatures

        pairs = [(i, t) for i, t in zip(ids, texts, strict=True) if t]
        self.ids += [i for i, _ in pairs]
        self.sketches += signatures([t for _, t in pairs], num_perm=self.num_perm,
                                    seed=self.seed)

    def decide(self) -> None:
        from curata.transforms.near import NearDuplicateIndex

        index = NearDuplicateIndex(threshold=self.threshold, num_perm=self.num_perm)
        seen: set[str] = set()
        for i in np.argsort(np.asarray(self.ids, dtype=object), kind="stable").tolist():
            key, sketch = self.ids[i], self.sketches[i]
            if key in seen:
                continue
            seen.add(key)
            match = index.offer(key, sketch)
            if match is not None:
                self.dropped[key] = match
        self.ids, self.sketches = [], []


def pick_text_column(schema: pa.Schema, preferred: str | None = None) -> str | None:
    """The column near dedup compares: ``preferred`` (None if it is not a string column), else
    the only string column (None if there is none).

    Raises:
        AmbiguousColumnError: no ``preferred`` and several string columns; guessing one
            (``title`` rather than ``body``) would drop records for the wrong reason.
    """
    strings = [
        f.name
        for f in schema
        if not f.name.startswith("_")
        and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    ]
    if preferred:
        return preferred if preferred in strings else None
    if len(strings) > 1:
        raise AmbiguousColumnError("--dedup near", columns=strings, option="--text-column")
    return strings[0] if strings else None
