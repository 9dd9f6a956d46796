"""Helpers shared by the ingest tests: read a whole source into one table plus its rejects."""

from __future__ import annotations

import pyarrow as pa
from curata_ingest.sources import RejectSink, Source, open_sources


def read_all(source: Source | str, **kwargs) -> tuple[list[dict], RejectSink, int]:
    """Rows (as dicts), the reject sink and the number of batches of one source."""
    if isinstance(source, str):
        (source,) = open_sources([source], **kwargs)
    sink = RejectSink()
    rows: list[dict] = []
    batches = 0
    for batch in source.batches(sink):
        assert isinstance(batch, pa.RecordBatch)
        assert batch.schema.names[-1] == "_locator"
        rows.extend(batch.to_pylist())
        batches += 1
    return rows, sink, batches


# The CLI in a subprocess that stops right before its commit (its shards written, no commit
# references them yet) until the file named by $GO exists; it creates $PAUSED when it stops.
PAUSED_RUNNER = """
import os, time
import curata_ingest.run as p
original = p.commit_files
def paused(*args, **kwargs):
    open(os.environ["PAUSED"], "w").close()
    while not os.path.exists(os.environ["GO"]):
        time.sleep(0.05)
    return original(*args, **kwargs)
p.commit_files = paused
from curata_ingest.cli import main
main()
"""
