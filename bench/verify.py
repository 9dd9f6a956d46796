"""`Snapshot.verify()` vs a plain read of the same snapshot (target: ratio ≤ 1.5).

    python bench/verify.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import curata  # noqa: E402
from _common import best_of, record  # noqa: E402
from load import make_table  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cat = curata.connect(home=Path(tmp) / "home")
        data = make_table(args.rows)
        for i in range(4):
            cat.append("bench", data.slice(i * args.rows // 4, args.rows // 4),
                       license="CC0-1.0", source=f"part{i}")
        snap = cat.snapshot("bench")
        from deltalake import DeltaTable

        t_read, table = best_of(
            lambda: DeltaTable(snap.table_uri, version=snap.version).to_pyarrow_table())
        t_verify, report = best_of(snap.verify)
        assert report.ok, report.problems
        record("bench/verify.py", f"{snap.num_rows:,} rows ({table.nbytes / 1e6:.0f} MB in "
               f"memory): verify() {t_verify:.3f}s vs plain read {t_read:.3f}s · "
               f"ratio {t_verify / t_read:.2f}x (target ≤ 1.5x)")


if __name__ == "__main__":
    main()
