"""The dataset's ``annotations`` and ``predictions`` Delta tables: append-only events, one row
per change of an annotation (or of a model prediction, kept apart from the annotators' work).

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


PREDICTIONS_SCHEMA = pa.schema(
    [
        pa.field("project", pa.string(), nullable=False),
        pa.field("ls_url", pa.string()),
        pa.field("ls_project_id", pa.int64()),
        pa.field("ls_task_id", pa.int64()),
        pa.field("ls_prediction_id", pa.int64(), nullable=False),
        pa.field("record_id", pa.string()),
        pa.field("dataset_version", pa.int64()),
        pa.field("model_version", pa.string()),
        pa.field("score", pa.float64()),
        pa.field("values", pa.string()),  # JSON: control name -> normalized value
        pa.field("result", pa.string()),  # raw Label Studio result JSON
        pa.field("result_hash", pa.string()),
        pa.field("created_at", TS),
        pa.field("updated_at", TS),
        pa.field("pulled_at", TS, nullable=False),
        pa.field("event", pa.string(), nullable=False),  # new|changed|deleted
        pa.field("origin", pa.string()),
    ]
)

#: Table kind → (schema, the id column of one annotation / prediction).
TABLES = {
    "annotations": (ANNOTATIONS_SCHEMA, "ls_annotation_id"),
    "predictions": (PREDICTIONS_SCHEMA, "ls_prediction_id"),
}


def _uri(cat: Any, dataset: str, kind: str = "annotations") -> str:
    return cat.table_uri(dataset, kind)


def read_events(
    cat: Any, dataset: str, *, project: str | None = None, kind: str = "annotations"
) -> pa.Table:
    """All events of a dataset's ``annotations`` (or ``predictions``) table, optionally of one
    project; empty if none yet."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    schema = TABLES[kind][0]
    try:
        dt = DeltaTable(_uri(cat, dataset, kind), storage_options=cat.storage_options)
    except TableNotFoundError:
        return schema.empty_table()
    from curata.storage import delta_dataset

    table = delta_dataset(dt, _uri(cat, dataset, kind), cat.storage_options).to_table()
    if project is not None:
        table = table.filter(pc.equal(table["project"], project))
    return table.select(schema.names).cast(schema)


def current_state(
    events: pa.Table, *, include_deleted: bool = False, key: str = "ls_annotation_id"
) -> pa.Table:
    """The latest row per (project, ``key``); deleted ones dropped unless asked for."""
    if events.num_rows == 0:
        return events
    idx = pa.array(range(events.num_rows), pa.int64())
    ordered = events.append_column("_row", idx).sort_by(
        [
            ("project", "ascending"),
            (key, "ascending"),
            ("pulled_at", "descending"),
            ("_row", "descending"),
        ]
    )
    keys = pc.binary_join_element_wise(
        ordered["project"], pc.cast(ordered[key], pa.string()), "\x00"
    )
    prev = pa.concat_arrays([pa.array([None], pa.string()), keys.combine_chunks()[:-1]])
    first = pc.fill_null(pc.not_equal(keys, prev), True)
    latest = ordered.filter(first).drop_columns(["_row"])
    if not include_deleted:
        latest = latest.filter(pc.not_equal(latest["event"], "deleted"))
    return latest


def append_events(
    cat: Any, dataset: str, rows: Sequence[dict[str, Any]], *, kind: str = "annotations"
) -> int:
    """Append event rows in ONE Delta commit (all or nothing); return how many."""
    from deltalake import write_deltalake

    if not rows:
        return 0
    table = pa.Table.from_pylist(list(rows), schema=TABLES[kind][0])
    write_deltalake(
        _uri(cat, dataset, kind),
        table,
        mode="append",
        storage_options=cat.storage_options,
        partition_by=None,
    )
    return table.num_rows
