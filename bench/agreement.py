"""Krippendorff's alpha (nominal) on 1M annotations: `curata_labeling.agreement` vs
`krippendorff.alpha` on the same reliability data (target: same value to 1e-9, faster).

    python bench/agreement.py [--annotations 1000000] [--raters 5] [--values 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import krippendorff  # noqa: E402
from _common import best_of, record  # noqa: E402
from curata_labeling.agreement import krippendorff_alpha  # noqa: E402


def make_data(annotations: int, raters: int, values: int, seed: int = 0) -> np.ndarray:
    """Reliability data with ~20% missing cells holding ``annotations`` ratings."""
    rng = np.random.default_rng(seed)
    items = int(annotations / (raters * 0.8))
    truth = rng.integers(0, values, items)
    noise = rng.integers(0, values, (raters, items))
    data = np.where(rng.random((raters, items)) < 0.7, truth, noise).astype(np.float64)
    data[rng.random((raters, items)) < 0.2] = np.nan
    return data


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--annotations", type=int, default=1_000_000)
    ap.add_argument("--raters", type=int, default=5)
    ap.add_argument("--values", type=int, default=5)
    ap.add_argument("--level", default="nominal")
    args = ap.parse_args()
    data = make_data(args.annotations, args.raters, args.values)
    n = int((~np.isnan(data)).sum())
    t_base, base = best_of(
        lambda: krippendorff.alpha(reliability_data=data, level_of_measurement=args.level)
    )
    t_ours, ours = best_of(lambda: krippendorff_alpha(data, level=args.level))
    assert abs(ours - base) <= 1e-9, (ours, base)
    record(
        "bench/agreement.py",
        f"{n:,} annotations ({args.raters} raters × {data.shape[1]:,} "
        f"items, {args.level}): curata_labeling {t_ours:.3f}s vs krippendorff.alpha "
        f"{t_base:.3f}s · alpha {ours:.12f} (|Δ| {abs(ours - base):.1e}) · "
        f"{t_base / t_ours:.1f}x faster (target: same value, faster)",
    )


if __name__ == "__main__":
    main()
