"""Duplicate removal at ingest: exact (``curata.dedup.IdIndex``, shared with
``Catalog.append``) and near (MinHash LSH over text)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, n: int = 3) -> list[bytes]:
    """Word n-grams of lowercased text (the words themselves for short texts)."""
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return [w.encode() for w in words] or [text.encode()]
    return [" ".join(words[i : i + n]).encode() for i in range(len(words) - n + 1)]


@dataclass(slots=True)
class NearDedup:
    """MinHash LSH over one text column: the first record of a cluster is kept."""

    threshold: float = 0.9
    num_perm: int = 128
    lsh: Any = None
    cluster_of: dict[str, str] = field(default_factory=dict)
    sketches: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from datasketch import MinHashLSH

        self.lsh = MinHashLSH(threshold=self.threshold, num_perm=self.num_perm)

    def keep_mask(
        self, ids: list[str], texts: list[str | None]
    ) -> tuple[np.ndarray, list[tuple[str, str, float]]]:
        """Mask of rows to keep, and (cluster id, dropped id, estimated Jaccard) per drop."""
        from datasketch import MinHash

        keep = np.ones(len(ids), dtype=bool)
        drops: list[tuple[str, str, float]] = []
        todo = [(i, t) for i, t in enumerate(texts) if t]
        sketches = MinHash.bulk([shingles(t) for _, t in todo], num_perm=self.num_perm)
        for (i, _), sketch in zip(todo, sketches, strict=True):
            match = next(iter(self.lsh.query(sketch)), None)
            if match is None:
                self.lsh.insert(ids[i], sketch)
                self.sketches[ids[i]] = sketch
                self.cluster_of[ids[i]] = ids[i]
                continue
            cluster = self.cluster_of[match]
            keep[i] = False
            drops.append((cluster, ids[i], float(sketch.jaccard(self.sketches[match]))))
        return keep, drops


def pick_text_column(schema: pa.Schema, preferred: str | None = None) -> str | None:
    """The column near dedup compares: ``preferred``, else ``text``/``content``/…, else the
    first string column."""
    strings = [
        f.name
        for f in schema
        if not f.name.startswith("_")
        and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    ]
    if preferred:
        return preferred if preferred in strings else None
    for name in ("text", "content", "body", "document", "caption", "txt"):
        if name in strings:
            return name
    return strings[0] if strings else None
