"""MinHash sketches of text for near-duplicate detection (``datasketch``), shared by the
transform engine and ingest: one shingling, so both find the same clusters.

Needs the ``near`` extra (``pip install 'curata[near]'``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)


def shingles(text: str, n: int = 3) -> list[bytes]:
    """Word n-grams of lowercased text (the words themselves for short texts)."""
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return [w.encode() for w in words] or [text.encode()]
    return [" ".join(words[i:i + n]).encode() for i in range(len(words) - n + 1)]


def datasketch_module() -> Any:
    try:
        import datasketch
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise ModuleNotFoundError(
            "near-duplicate detection needs datasketch: pip install 'curata[near]'") from exc
    return datasketch


def datasketch_version() -> str:
    from importlib.metadata import version

    return version("datasketch")


@dataclass(frozen=True, slots=True)
class Signature:
    """What near-duplicate detection keeps of a text: its MinHash sketch (for LSH candidates)
    and the sorted 64-bit hashes of its shingles (to verify a candidate's Jaccard similarity
    exactly: the sketch's estimate errs by ~0.03 at 128 permutations, enough to drop a pair at
    0.85 under a 0.9 threshold)."""

    sketch: Any
    shingles: np.ndarray

    def jaccard(self, other: Signature) -> float:
        common = np.intersect1d(self.shingles, other.shingles, assume_unique=True).size
        union = self.shingles.size + other.shingles.size - common
        return common / union if union else 1.0


def signatures(texts: Sequence[str], *, num_perm: int = 128, seed: int = 1) -> list[Signature]:
    """One :class:`Signature` per text."""
    import xxhash

    return [Signature(sk, np.unique(np.fromiter(
                (xxhash.xxh3_64_intdigest(sh) for sh in shingles(t)), dtype=np.uint64)))
            for sk, t in zip(sketches(texts, num_perm=num_perm, seed=seed), texts, strict=True)]


def sketches(texts: Sequence[str], *, num_perm: int = 128, seed: int = 1) -> list[Any]:
    """Lean MinHash sketches of word 3-grams, one per text (deterministic in ``seed``)."""
    ds = datasketch_module()
    if not texts:
        return []
    bulk = ds.MinHash.bulk([shingles(t) for t in texts], num_perm=num_perm, seed=seed)
    return [ds.LeanMinHash(m) for m in bulk]


class NearDuplicateIndex:
    """Greedy clustering, shared by ingest (``--dedup near``) and ``derive``'s ``near_dedup``:
    a text is a near duplicate of the most similar already kept text whose exact word-3-gram
    Jaccard similarity is at least ``threshold``; LSH over the sketches proposes the
    candidates."""

    def __init__(self, *, threshold: float = 0.9, num_perm: int = 128) -> None:
        ds = datasketch_module()
        self.threshold, self.num_perm = threshold, num_perm
        self._lsh = ds.MinHashLSH(threshold=threshold, num_perm=num_perm)
        self._kept: dict[str, Signature] = {}

    def offer(self, key: str, signature: Signature) -> tuple[str, float] | None:
        """Keep ``key`` and return ``None``, or return the kept key it duplicates and their
        similarity."""
        best, best_sim = None, -1.0
        for other in sorted(self._lsh.query(signature.sketch)):  # sorted: ties resolve alike
            sim = signature.jaccard(self._kept[other])
            if sim >= self.threshold and sim > best_sim:
                best, best_sim = other, sim
        if best is not None:
            return best, best_sim
        self._lsh.insert(key, signature.sketch)
        self._kept[key] = signature
        return None
