"""``Catalog.diff``: records added, removed and changed between two snapshots, by ``_id``."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pyarrow as pa

from curata import fingerprint as fp
from curata.snapshot import Snapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class Diff:
    """Difference between snapshot ``a`` and snapshot ``b``.

    Attributes:
        counts: ``{"added", "removed", "changed"}`` record counts.
        added: records of ``b`` whose ``_id`` is not in ``a``.
        removed: records of ``a`` whose ``_id`` is not in ``b``.
        changed: records of ``b`` whose ``_id`` is in ``a`` but whose columns (labels, license,
            provenance) differ.
    """

    a: str
    b: str
    counts: dict[str, int]
    added: pa.Table
    removed: pa.Table
    changed: pa.Table

    def to_dict(self, limit: int = 20) -> dict[str, object]:
        return {"a": self.a, "b": self.b, "counts": dict(self.counts),
                "added": self.added.slice(0, limit).to_pylist(),
                "removed": self.removed.slice(0, limit).to_pylist(),
                "changed": self.changed.slice(0, limit).to_pylist()}


def _keyed(snap: Snapshot) -> tuple[pa.Table, pl.DataFrame]:
    table = snap.to_arrow()
    hashes = fp.hex_strings(fp.row_hashes(table))
    keys = pl.DataFrame({"_id": table.column("_id").combine_chunks(), "_row": hashes,
                         "_idx": pl.int_range(table.num_rows, eager=True)})
    return table, keys


def diff(a: Snapshot, b: Snapshot) -> Diff:
    ta, ka = _keyed(a)
    tb, kb = _keyed(b)
    added = kb.join(ka, on="_id", how="anti")
    removed = ka.join(kb, on="_id", how="anti")
    both = kb.join(ka.select("_id", pl.col("_row").alias("_row_a")), on="_id", how="inner")
    changed = both.filter(pl.col("_row") != pl.col("_row_a")).unique("_idx")
    take = lambda t, idx: t.take(pa.array(idx["_idx"].to_list(), pa.int64()))  # noqa: E731
    return Diff(a=a.ref, b=b.ref,
                counts={"added": added.height, "removed": removed.height,
                        "changed": changed.height},
                added=take(tb, added), removed=take(ta, removed), changed=take(tb, changed))
