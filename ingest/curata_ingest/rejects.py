"""The per-dataset side tables an ingest writes: ``rejects`` and ``near_duplicates``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa
from curata._util import utcnow

from curata_ingest.sources import RejectSink
from curata_ingest.sources._base import REJECT_SCHEMA

REJECTS_TABLE_SCHEMA = pa.schema(
    [("run_id", pa.string()), ("rejected_at", pa.timestamp("us", tz="UTC")), *REJECT_SCHEMA]
)
CLUSTER_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("cluster_id", pa.string()),
        ("_id", pa.string()),
        ("similarity", pa.float64()),
        ("source", pa.string()),
        ("locator", pa.string()),
    ]
)


def write_rejects(cat: Any, dataset: str, sinks: Iterable[RejectSink], *, run_id: str) -> int:
    """Append every reject of a run to the dataset's ``rejects`` Delta table (streamed)."""
    from deltalake import write_deltalake

    total = sum(len(s) for s in sinks)
    if not total:
        return 0
    now = utcnow()

    def batches() -> Iterator[pa.RecordBatch]:
        for sink in sinks:
            for table in sink.tables():
                n = table.num_rows
                table = table.add_column(
                    0, "rejected_at", pa.array([now] * n, REJECTS_TABLE_SCHEMA.field(1).type)
                )
                table = table.add_column(0, "run_id", pa.array([run_id] * n, pa.string()))
                yield from table.to_batches()

    reader = pa.RecordBatchReader.from_batches(REJECTS_TABLE_SCHEMA, batches())
    write_deltalake(
        cat.table_uri(dataset, "rejects"),
        reader,
        mode="append",
        storage_options=cat.storage_options,
    )
    return total


def write_clusters(cat: Any, dataset: str, clusters: list[dict[str, Any]], *, run_id: str) -> None:
    """Record near-duplicate clusters: each dropped ``_id`` with the ``_id`` it was kept as."""
    from deltalake import write_deltalake

    table = pa.Table.from_pylist([{"run_id": run_id, **c} for c in clusters], schema=CLUSTER_SCHEMA)
    write_deltalake(
        cat.table_uri(dataset, "near_duplicates"),
        table,
        mode="append",
        storage_options=cat.storage_options,
    )
