"""`Snapshot.to_arrow()` of a pinned snapshot vs `deltalake.DeltaTable(uri, version=)
.to_pyarrow_table()` on the same table (target: ratio ≤ 1.1).

    python bench/load.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
import curata  # noqa: E402
from _common import best_of, record  # noqa: E402


def make_table(rows: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    words = np.array(["data", "label", "curate", "snapshot", "delta", "arrow", "train", "model"])
    text = [" ".join(w) for w in rng.choice(words, size=(rows, 12))]
    return pa.table({"text": text, "stars": rng.integers(1, 6, rows, dtype=np.int8),
                     "score": rng.random(rows)})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cat = curata.connect(home=Path(tmp) / "home")
        data = make_table(args.rows)
        for i in range(4):  # several commits, like a real dataset
            cat.append("bench", data.slice(i * args.rows // 4, args.rows // 4),
                       license="CC0-1.0", source=f"part{i}")
        cat.tag("bench", "v1")
        snap = curata.connect(home=Path(tmp) / "home").snapshot("bench@v1")
        from deltalake import DeltaTable

        t_base, base = best_of(
            lambda: DeltaTable(snap.table_uri, version=snap.version).to_pyarrow_table())
        t_ours, ours = best_of(lambda: curata.connect(home=Path(tmp) / "home")
                               .snapshot("bench@v1").to_arrow())
        assert ours.num_rows == base.num_rows == snap.num_rows
        record("bench/load.py", f"{snap.num_rows:,} rows: curata.load(ref).to_arrow() "
               f"{t_ours:.3f}s vs DeltaTable(version=).to_pyarrow_table() {t_base:.3f}s · "
               f"ratio {t_ours / t_base:.2f}x (target ≤ 1.1x)")


if __name__ == "__main__":
    main()
