"""A global shuffle of the selected rows with bounded memory.

The order depends only on the seed and the record ids (rows sorted by ``xxh3_64(seed, _id)``),
so it does not depend on how the snapshot is laid out in files. A first pass reads just the ids
and gives every row its position in the shuffled order. If the rows fit in ``SPILL_BYTES``
they are reordered in memory; otherwise the second pass spills each row into the bucket of its
position range (Arrow IPC files in a temporary folder), and buckets are read back, sorted and
emitted one at a time, so memory holds one bucket, never the whole export.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import xxhash

SPILL_BYTES = 256 << 20  # rows held in memory at a time
MAX_BUCKETS = 1024  # open spill files at most
_POS = "__curata_pos"


def shuffle_order(ids: pa.ChunkedArray | pa.Array, seed: int) -> pa.Array:
    """Row indices sorted by ``xxh3_64(seed, _id)``: a permutation that only seed and ids fix."""
    prefix = int(seed).to_bytes(8, "little", signed=True)
    keys = [xxhash.xxh3_64_intdigest(prefix + i.encode()) for i in ids.to_pylist()]
    return pc.sort_indices(pa.table({"k": pa.array(keys, pa.uint64()), "i": ids}),
                           sort_keys=[("k", "ascending"), ("i", "ascending")])


def positions(ids: Iterable[pa.Array], seed: int) -> np.ndarray:
    """For every row, in stream order, its index in the shuffled order."""
    chunks = list(ids)
    if not chunks:
        return np.empty(0, np.int64)
    order = shuffle_order(pa.chunked_array(chunks), seed).to_numpy()
    pos = np.empty(len(order), np.int64)
    pos[order] = np.arange(len(order), dtype=np.int64)
    return pos


def shuffled(
    batches: Callable[[], Iterator[pa.RecordBatch]], ids: Iterable[pa.Array], seed: int
) -> Iterator[pa.RecordBatch]:
    """The rows of ``batches()`` in shuffled order (``ids``: their ``_id`` values, same order)."""
    pos = positions(ids, seed)
    rows = iter(batches())
    first = next(rows, None)
    if first is None:
        return
    row_bytes = max(1, first.nbytes // max(1, first.num_rows))
    per_bucket = max(1, SPILL_BYTES // row_bytes, -(-len(pos) // MAX_BUCKETS))
    if len(pos) <= per_bucket:
        table = pa.Table.from_batches(list(chain([first], rows)))
        yield from table.take(np.argsort(pos, kind="stable")).to_batches(max_chunksize=8192)
        return
    folder = tempfile.mkdtemp(prefix="curata-shuffle-")
    try:
        _spill(chain([first], rows), pos, per_bucket, folder)
        yield from _read_buckets(folder, -(-len(pos) // per_bucket))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _spill(rows: Iterator[pa.RecordBatch], pos: np.ndarray, per_bucket: int, folder: str) -> None:
    writers: dict[int, Any] = {}
    offset = 0
    try:
        for batch in rows:
            p = pos[offset : offset + batch.num_rows]
            offset += batch.num_rows
            buckets = p // per_bucket
            by_bucket = np.argsort(buckets, kind="stable")  # one take, then contiguous slices
            tagged = batch.append_column(_POS, pa.array(p)).take(pa.array(by_bucket))
            sorted_buckets = buckets[by_bucket]
            starts = np.flatnonzero(np.r_[True, sorted_buckets[1:] != sorted_buckets[:-1]])
            for start, end in zip(starts, [*starts[1:], len(sorted_buckets)], strict=True):
                b = int(sorted_buckets[start])
                if b not in writers:
                    sink = pa.OSFile(os.path.join(folder, f"{b:06d}.arrow"), "wb")
                    writers[b] = (sink, ipc.new_stream(sink, tagged.schema))
                writers[b][1].write_batch(tagged.slice(int(start), int(end - start)))
    finally:
        for sink, writer in writers.values():
            writer.close()
            sink.close()


def _read_buckets(folder: str, count: int) -> Iterator[pa.RecordBatch]:
    for b in range(count):
        path = os.path.join(folder, f"{b:06d}.arrow")
        if not os.path.exists(path):
            continue
        with pa.OSFile(path, "rb") as source:  # read into memory: the file goes next
            table = ipc.open_stream(source).read_all()
        table = table.take(pc.sort_indices(table.column(_POS))).drop_columns([_POS])
        yield from table.to_batches(max_chunksize=8192)
        os.remove(path)
