"""``Catalog.diff``: records added, removed and changed between two snapshots.

A snapshot is a multiset of records, so the diff is one too: a record (``_id``) held twice in
``b`` and once in ``a`` is one addition, never a "change". Records are paired in three steps:

1. rows identical in everything the snapshot fingerprint covers (content, labels, license,
   source; provenance is left out, as in the fingerprint) are unchanged;
2. of the rest, rows with the same ``_id`` on both sides are **changed** (their labels, license
   or source differ) — paired in row order, as many as both sides have;
3. with ``key`` (columns naming a record, e.g. ``url``), a removed and an added row with the
   same key are **changed** too: the record's content, and so its ``_id``, changed.

What is left is **added** (only in ``b``) or **removed** (only in ``a``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from curata import fingerprint as fp
from curata.errors import UsageError
from curata.snapshot import Snapshot

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True, slots=True, kw_only=True)
class Diff:
    """Difference between snapshot ``a`` and snapshot ``b``.

    Attributes:
        counts: ``{"added", "removed", "changed"}`` record counts (multiset counts).
        added: rows of ``b`` not matched in ``a``.
        removed: rows of ``a`` not matched in ``b``.
        changed: rows of ``b`` whose record is in ``a`` with other values (same ``_id``:
            labels, license or source; same ``key``: content).
        key: the key columns used for step 3 (empty: none).
    """

    a: str
    b: str
    counts: dict[str, int]
    added: pa.Table
    removed: pa.Table
    changed: pa.Table
    key: tuple[str, ...] = ()

    def to_dict(self, limit: int = 20) -> dict[str, object]:
        return {"a": self.a, "b": self.b, "key": list(self.key), "counts": dict(self.counts),
                "added": self.added.slice(0, limit).to_pylist(),
                "removed": self.removed.slice(0, limit).to_pylist(),
                "changed": self.changed.slice(0, limit).to_pylist()}


def _keyed(snap: Snapshot, key: Sequence[str]) -> tuple[pa.Table, pl.DataFrame]:
    import polars as pl  # only diff needs Polars: not loaded for other commands

    table = snap.to_arrow()
    missing = [k for k in key if k not in table.column_names]
    if missing:
        raise UsageError(f"diff --key: no column {missing} in {snap.ref} "
                         f"(columns: {[c for c in table.column_names if not c.startswith('_')]})")
    # The row hash over what the snapshot fingerprint covers: provenance (run ids, times) is
    # not a change of the record.
    rows = fp.row_hashes(table, columns=fp.snapshot_columns(table.column_names))
    frame = pl.DataFrame({"_id": table.column("_id").combine_chunks(),
                          "_row": fp.hex_strings(rows),
                          "_idx": pl.int_range(table.num_rows, eager=True)})
    if key:
        keys = pl.from_arrow(table.select(list(key)))
        assert isinstance(keys, pl.DataFrame)
        frame = frame.with_columns(pl.struct(keys).alias("_key"))
    return table, frame


def _occurrence(df: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Number the rows of each ``by`` group 0, 1, … in row order (pairs duplicates up)."""
    import polars as pl

    return df.with_columns(pl.int_range(pl.len()).over(by).alias("_occ"))


def _unmatched(left: pl.DataFrame, right: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Rows of ``left`` left over once each is paired with one ``right`` row of equal ``by``."""
    return (_occurrence(left, by).join(_occurrence(right, by).select([*by, "_occ"]),
                                       on=[*by, "_occ"], how="anti").drop("_occ"))


def _paired(left: pl.DataFrame, right: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Rows of ``left`` that do pair with a ``right`` row of equal ``by``."""
    return (_occurrence(left, by).join(_occurrence(right, by).select([*by, "_occ"]),
                                       on=[*by, "_occ"], how="semi").drop("_occ"))


def diff(a: Snapshot, b: Snapshot, *, key: Sequence[str] = ()) -> Diff:
    """The multiset difference from ``a`` to ``b`` (see the module docstring)."""
    import polars as pl

    key = tuple(key)
    ta, ka = _keyed(a, key)
    tb, kb = _keyed(b, key)
    # 1. identical rows cancel out, one for one
    ra, rb = _unmatched(ka, kb, ["_id", "_row"]), _unmatched(kb, ka, ["_id", "_row"])
    # 2. the same record with other labels, license or source
    changed = _paired(rb, ra, ["_id"])
    ra, rb = _unmatched(ra, rb, ["_id"]), _unmatched(rb, ra, ["_id"])
    # 3. the same key with other content
    if key:
        changed = pl.concat([changed, _paired(rb, ra, ["_key"])])
        ra, rb = _unmatched(ra, rb, ["_key"]), _unmatched(rb, ra, ["_key"])

    def take(t: pa.Table, rows: pl.DataFrame) -> pa.Table:
        return t.take(pa.array(rows["_idx"].sort().to_list(), pa.int64()))

    return Diff(a=a.ref, b=b.ref, key=key,
                counts={"added": rb.height, "removed": ra.height, "changed": changed.height},
                added=take(tb, rb), removed=take(ta, ra), changed=take(tb, changed))
