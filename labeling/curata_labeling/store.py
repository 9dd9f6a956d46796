"""The dataset's ``annotations`` Delta table: append-only events, one row per annotation change.

Every pull, import or schema migration appends rows; nothing is rewritten. The current state of
an annotation is its latest row (by ``pulled_at``); a row with ``event == "deleted"`` ends it.
Because the table itself is the truth about what was seen, a pull that re-reads an overlap
window (or is re-run after a crash before its cursor was saved) adds nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

TS = pa.timestamp("us", tz="UTC")

ANNOTATIONS_SCHEMA = pa.schema(
    [
        pa.field("project", pa.string(), nullable=False),
        pa.field("ls_url", pa.string()),
        pa.field("ls_project_id", pa.int64()),
        pa.field("ls_task_id", pa.int64()),
        pa.field("ls_annotation_id", pa.int64(), nullable=False),
        pa.field("record_id", pa.string()),
        pa.field("dataset_version", pa.int64()),
        pa.field("annotator", pa.string()),
        pa.field("annotator_id", pa.int64()),
        pa.field("values", pa.string()),  # JSON: control name -> normalized value
        pa.field("result", pa.string()),  # raw Label Studio result JSON
        pa.field("result_hash", pa.string()),
        pa.field("was_cancelled", pa.bool_()),
        pa.field("lead_time", pa.float64()),
        pa.field("created_at", TS),
        pa.field("updated_at", TS),
        pa.field("schema_name", pa.string()),
        pa.field("schema_version", pa.int32()),
        pa.field("pulled_at", TS, nullable=False),
        pa.field("event", pa.string(), nullable=False),  # new|changed|deleted|migrated|imported
        pa.field("origin", pa.string()),  # label-studio | import:<file> | migration:<version>
    ]
)


def _uri(cat: Any, dataset: str) -> str:
    return cat.table_uri(dataset, "annotations")


def read_events(cat: Any, dataset: str, *, project: str | None = None) -> pa.Table:
    """All annotation events of a dataset (optionally one project); empty if none yet."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        dt = DeltaTable(_uri(cat, dataset), storage_options=cat.storage_options)
    except TableNotFoundError:
        return ANNOTATIONS_SCHEMA.empty_table()
    from curata.storage import delta_dataset

    table = delta_dataset(dt, _uri(cat, dataset), cat.storage_options).to_table()
    if project is not None:
        table = table.filter(pc.equal(table["project"], project))
    return table.select(ANNOTATIONS_SCHEMA.names).cast(ANNOTATIONS_SCHEMA)


def current_state(events: pa.Table, *, include_deleted: bool = False) -> pa.Table:
    """The latest row per (project, annotation id); deleted ones dropped unless asked for."""
    if events.num_rows == 0:
        return events
    idx = pa.array(range(events.num_rows), pa.int64())
    ordered = events.append_column("_row", idx).sort_by(
        [
            ("project", "ascending"),
            ("ls_annotation_id", "ascending"),
            ("pulled_at", "descending"),
            ("_row", "descending"),
        ]
    )
    keys = pc.binary_join_element_wise(
        ordered["project"], pc.cast(ordered["ls_annotation_id"], pa.string()), "\x00"
    )
    prev = pa.concat_arrays([pa.array([None], pa.string()), keys.combine_chunks()[:-1]])
    first = pc.fill_null(pc.not_equal(keys, prev), True)
    latest = ordered.filter(first).drop_columns(["_row"])
    if not include_deleted:
        latest = latest.filter(pc.not_equal(latest["event"], "deleted"))
    return latest


def append_events(cat: Any, dataset: str, rows: Sequence[dict[str, Any]]) -> int:
    """Append event rows in ONE Delta commit (all or nothing); return how many."""
    from deltalake import write_deltalake

    if not rows:
        return 0
    table = pa.Table.from_pylist(list(rows), schema=ANNOTATIONS_SCHEMA)
    write_deltalake(
        _uri(cat, dataset),
        table,
        mode="append",
        storage_options=cat.storage_options,
        partition_by=None,
    )
    return table.num_rows
