"""MinHash sketches of text for near-duplicate detection (``datasketch``), shared by the
transform engine and ingest: one shingling, so both find the same clusters.

Needs the ``near`` extra (``pip install 'curata[near]'``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, n: int = 3) -> list[bytes]:
    """Word n-grams of lowercased text (the words themselves for short texts)."""
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return [w.encode() for w in words] or [text.encode()]
    return [" ".join(words[i:i + n]).encode() for i in range(len(words) - n + 1)]


def _datasketch() -> Any:
    try:
        import datasketch
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise ModuleNotFoundError(
            "near-duplicate detection needs datasketch: pip install 'curata[near]'") from exc
    return datasketch


def datasketch_version() -> str:
    from importlib.metadata import version

    return version("datasketch")


def sketches(texts: Sequence[str], *, num_perm: int = 128, seed: int = 1) -> list[Any]:
    """Lean MinHash sketches of word 3-grams, one per text (deterministic in ``seed``)."""
    ds = _datasketch()
    if not texts:
        return []
    bulk = ds.MinHash.bulk([shingles(t) for t in texts], num_perm=num_perm, seed=seed)
    return [ds.LeanMinHash(m) for m in bulk]


class NearDuplicateIndex:
    """Greedy clustering: a text is a near duplicate if an already kept text is estimated
    at least ``threshold`` Jaccard-similar (candidates from LSH, confirmed on the sketches)."""

    def __init__(self, *, threshold: float = 0.9, num_perm: int = 128) -> None:
        ds = _datasketch()
        self.threshold, self.num_perm = threshold, num_perm
        self._lsh = ds.MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._kept: dict[str, Any] = {}

    def offer(self, key: str, sketch: Any) -> str | None:
        """Keep ``key`` and return ``None``, or return the kept key it duplicates."""
        best, best_sim = None, -1.0
        for other in sorted(self._lsh.query(sketch)):  # sorted: ties resolve the same each run
            sim = float(sketch.jaccard(self._kept[other]))
            if sim >= self.threshold and sim > best_sim:
                best, best_sim = other, sim
        if best is not None:
            return best
        self._lsh.insert(key, sketch)
        self._kept[key] = sketch
        return None
