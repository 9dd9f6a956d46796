"""Fixtures for the transform tests: a small ingested corpus in a fresh Curata home."""

from __future__ import annotations

import pyarrow as pa
import pytest

import tests.transforms._funcs  # noqa: F401  (registers the apply functions)


def reviews(n: int, start: int = 0) -> pa.Table:
    """Deterministic rows: text of varied length, stars 1..5, a language, some repeats."""
    ids = range(start, start + n)
    return pa.table({
        "text": pa.array([f"review {i % 997} " + "word " * (i % 7) for i in ids], pa.string()),
        "stars": pa.array([i % 5 + 1 for i in ids], pa.int64()),
        "lang": pa.array(["en" if i % 3 else "de" for i in ids], pa.string()),
    })


@pytest.fixture
def corpus(cat):
    """`reviews@v1`: 3,000 rows from two sources (with exact duplicates across them)."""
    # dedup off: the corpus keeps its duplicates, for the dedup steps to find
    cat.append("reviews", reviews(2000), license="CC-BY-4.0", source="site-a", dedup="off")
    cat.append("reviews", reviews(1000, 1500), license="CC0-1.0", source="site-b", dedup="off")
    cat.tag("reviews", "v1")
    return cat
