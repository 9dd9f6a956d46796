"""`Catalog.derive` (filter + split) vs the same work written directly in Polars, and the
cache hit of a repeated derive (targets: ratio ≤ 1.3, cache hit < 1 s).

The Polars side reads the same pinned Delta version, filters, assigns the split by the same
XXH3-64 of `_id` (polars-hash) and writes a new Delta table: what a user would otherwise
write. Curata additionally fingerprints every output row, records lineage and the catalog.

    python bench/derive.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
import curata  # noqa: E402
from _common import best_of, record  # noqa: E402
from curata.transforms import Filter, Pipeline, Split  # noqa: E402
from curata.transforms.steps import _seed, _threshold, id_hash  # noqa: E402
from load import make_table  # noqa: E402

FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}


def polars_version(snap, out: str) -> int:
    """The hand-written equivalent: scan the pinned version, filter, split, write Delta."""
    h = id_hash(_seed("split", 0))
    split = (pl.when(h < pl.lit(_threshold(0.8), dtype=pl.UInt64)).then(pl.lit("train"))
             .when(h < pl.lit(_threshold(0.9), dtype=pl.UInt64)).then(pl.lit("val"))
             .otherwise(pl.lit("test")).alias("split"))
    df = (pl.scan_delta(snap.table_uri, version=snap.version)
          .filter(pl.col("stars") >= 2).with_columns(split).collect())
    df.write_delta(out, mode="overwrite")
    return df.height


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cat = curata.connect(home=Path(tmp) / "home")
        data = make_table(args.rows)
        cat.append("bench", data, license="CC0-1.0", source="bench")
        cat.tag("bench", "v1")
        snap = cat.snapshot("bench@v1")
        pipe = Pipeline([Filter("stars >= 2"), Split(FRACTIONS)])
        names = (f"derived{i}" for i in itertools.count())
        outs = (str(Path(tmp) / f"polars{i}") for i in itertools.count())
        last: dict = {}

        def ours() -> int:
            last["into"] = next(names)
            return cat.derive("bench@v1", pipe, into=last["into"]).snapshot.num_rows

        # Interleaved, best of each: a shared machine's load hits both sides alike.
        t_pl = t_ours = float("inf")
        for _ in range(args.repeat):
            t, n_pl = best_of(lambda: polars_version(snap, next(outs)), 1)
            t_pl = min(t_pl, t)
            t, n_ours = best_of(ours, 1)
            t_ours = min(t_ours, t)
        assert n_ours == n_pl, (n_ours, n_pl)
        t0 = time.perf_counter()
        hit = cat.derive("bench@v1", pipe, into=last["into"])
        t_hit = time.perf_counter() - t0
        assert hit.status == "unchanged"
        record("bench/derive.py",
               f"{snap.num_rows:,} rows, filter + split -> {n_ours:,} rows: derive "
               f"{t_ours:.3f}s vs Polars scan_delta/filter/split/write_delta {t_pl:.3f}s · "
               f"ratio {t_ours / t_pl:.2f}x (target ≤ 1.3x) · cache hit {t_hit:.3f}s "
               f"(target < 1 s)")


if __name__ == "__main__":
    main()
