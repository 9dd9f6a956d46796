"""Exact-dedup index and near-dedup helpers, against a Python set / datasketch as oracles."""

from __future__ import annotations

import numpy as np
import pytest
from curata.dedup import IdIndex, hex_halves, id_halves
from curata.transforms.near import shingles
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize("spread,filter_bits", [(0, 27), (37, 27), (61, 27), (0, 4), (59, 4)])
@settings(max_examples=150, deadline=None)
@given(
    existing=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3)), max_size=30),
    batches=st.lists(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3)), max_size=40),
                     max_size=12),
)
def test_index_matches_a_python_set(existing, batches, spread, filter_bits):
    """Tiny value ranges force shared high halves, the rare path; ``existing`` are ids
    already in the dataset, added before the run. ``spread`` moves the high halves into the
    top bits, so the "maybe seen" filter both clears and passes ids; a 16-bit filter grows
    (and is rebuilt from the runs) many times over."""
    index, seen = IdIndex(filter_bits=filter_bits), set(existing)
    index.add(np.array([h << spread for h, _ in existing], dtype=np.uint64),
              np.array([lo for _, lo in existing], dtype=np.uint64))
    for batch in batches:
        hi = np.array([h << spread for h, _ in batch], dtype=np.uint64)
        lo = np.array([lo for _, lo in batch], dtype=np.uint64)
        keep = index.new_rows(hi, lo)
        expected = []
        for pair in batch:
            expected.append(pair not in seen)
            seen.add(pair)
        assert keep.tolist() == expected
    assert len(index) == len(existing) + len(seen) - len(set(existing))  # kept ids added once
    assert len(index) <= (1 << index.filter_bits) / 8 or index.filter_bits == filter_bits


def test_hex_and_binary_halves_agree():
    import pyarrow as pa
    from curata.fingerprint import hex_strings, row_hashes

    hashes = row_hashes(pa.table({"x": list(range(100))}))
    assert all(
        (a == b).all()
        for a, b in zip(id_halves(hashes), hex_halves(hex_strings(hashes)), strict=True)
    )
    assert id_halves(hashes.slice(10))[0][0] == id_halves(hashes)[0][10]


def test_shingles():
    assert shingles("The quick brown fox") == [b"the quick brown", b"quick brown fox"]
    assert shingles("Hi there") == [b"hi", b"there"]
