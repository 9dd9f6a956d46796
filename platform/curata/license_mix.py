"""The license mix of a snapshot: records per ``(_license, _source)``, read from the Delta log.

Every file that Curata writes holds one license and one source (an ingest run or an append
writes one of each), and the Delta log keeps each file's row count, null counts and min/max of
those two columns. Where min equals max and nothing is null, every row of the file carries that
pair (min ≤ value ≤ max), so the file is counted from the log without being opened. Only the
other files (rows relicensed in place, files written by other engines, values without stats)
are read, and then only their ``_license`` and ``_source`` columns, batch by batch.

Tables with deletion vectors (whose row counts include deleted rows) or partitions (written by
other engines) are read in full, two columns at a time.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from curata.storage import delta_dataset

if TYPE_CHECKING:
    from curata.snapshot import Snapshot

MixRow = tuple[str | None, str | None, int]
_PAIR = ("_license", "_source")


def license_mix(snap: Snapshot, *, from_log: bool = True) -> list[MixRow]:
    """``(license, source id, records)`` per license and source, most records first.

    Ties are ordered by license then source, nulls last.

    Args:
        snap: the snapshot.
        from_log: count the files whose stats pin one pair from the Delta log, without opening
            them (previews). ``False`` reads the two columns of every file, so a missing or
            corrupt file raises ``SnapshotDataError``: what a license verdict, which releases
            data, must notice.
    """
    dt = snap.delta_table()
    counts: Counter[tuple[str | None, str | None]] = Counter()
    to_read = _count_from_log(dt, counts) if from_log else None
    if to_read is None or to_read:
        _count_from_files(snap, dt, counts, only=to_read)
    rows = [(lic, src, n) for (lic, src), n in counts.items() if n]
    return sorted(rows, key=lambda r: (-r[2], r[0] is None, r[0] or "", r[1] is None, r[1] or ""))


def _count_from_log(dt: Any, counts: Counter[tuple[str | None, str | None]]) -> set[str] | None:
    """Count the files whose stats pin one (license, source) pair; return the paths of the
    others, or None when the log cannot be trusted for counts (read everything)."""
    protocol = dt.protocol()
    if "deletionVectors" in set(protocol.reader_features or ()) or dt.metadata().partition_columns:
        return None
    actions = dt.get_add_actions(flatten=True)
    t = actions if isinstance(actions, pa.Table) else pa.table(actions)
    if t.num_rows == 0:
        return set()
    cols = set(t.column_names)
    needed = [f"{k}.{c}" for c in _PAIR for k in ("min", "max", "null_count")]
    if not set(needed) <= cols:
        return set(t.column("path").to_pylist())
    data = {c: t.column(c).to_pylist() for c in ["path", "num_records", *needed]}
    rest: set[str] = set()
    for i, path in enumerate(data["path"]):
        pair = tuple(data[f"min.{c}"][i] for c in _PAIR)
        constant = all(
            data[f"min.{c}"][i] is not None
            and data[f"min.{c}"][i] == data[f"max.{c}"][i]
            and data[f"null_count.{c}"][i] == 0
            for c in _PAIR
        )
        if constant and data["num_records"][i] is not None:
            counts[pair] += int(data["num_records"][i])  # type: ignore[index]
        else:
            rest.add(path)
    return rest


def _count_from_files(
    snap: Snapshot, dt: Any, counts: Counter[tuple[str | None, str | None]], *,
    only: set[str] | None,
) -> None:
    """Add the pairs of the given files (all files when ``only`` is None), two columns only,
    batch by batch."""
    with snap.reading():  # a missing data file: SnapshotDataError naming `curata verify`
        ds = delta_dataset(dt, snap.table_uri, snap.storage_options, only=only)
        present = [c for c in _PAIR if c in ds.schema.names]
        for batch in ds.to_batches(columns=present):
            if batch.num_rows:
                _add_pairs(pa.Table.from_batches([batch]), counts)


def _add_pairs(table: pa.Table, counts: Counter[tuple[str | None, str | None]]) -> None:
    for c in _PAIR:
        if c not in table.column_names:  # files written before the column existed
            table = table.append_column(c, pa.nulls(table.num_rows, pa.string()))
    grouped = table.group_by(list(_PAIR), use_threads=False).aggregate([([], "count_all")])
    for lic, src, n in zip(*(grouped.column(c).to_pylist() for c in (*_PAIR, "count_all")),
                           strict=True):
        counts[(lic, src)] += n
