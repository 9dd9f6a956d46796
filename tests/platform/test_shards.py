"""Parallel Parquet shard writers + one Delta transaction (the ingest write path)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from curata import fingerprint as fp
from curata.storage import delta_dataset
from curata.write.shards import ShardWriter, commit_files, delta_stats
from deltalake import DeltaTable


def _table(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    ints = rng.integers(-1000, 1000, n)
    return pa.table({
        "_id": pa.array([f"{i:032x}" for i in range(seed * n, seed * n + n)]),
        "n": pa.array(ints, pa.int64()),
        "maybe": pa.array([None if i % 7 == 0 else int(i) for i in range(n)], pa.int64()),
        "tag": pa.array([["a", "b", "c"][i % 3] for i in range(n)]),
        "text": pa.array(["long text " * (1 + i % 9) for i in range(n)]),
        "s": pa.array([{"k": int(i), "name": f"k{i % 5}"} for i in range(n)]),
    })


def _write(cat, table: pa.Table, threads: int, target: int):
    writer = ShardWriter(cat.table_uri("w"), table.schema, target_file_size=target,
                         threads=threads)
    for batch in table.to_batches(max_chunksize=1000):
        writer.put(batch)
    return writer, writer.close()


@pytest.mark.parametrize("threads", [1, 3])
def test_shards_commit_once_with_exact_stats_and_row_sum(cat, threads):
    table = _table(20_000)
    writer, files = _write(cat, table, threads, target=64 << 10)
    assert len(files) >= 2 and sum(f.rows for f in files) == table.num_rows
    assert writer.row_sum == fp.row_sum(table)  # hashed on the writer threads
    cat.store.ensure_dataset("w")
    commit_files(cat.store, "w", table.schema, files, {"curata.run_id": "r1"}, retries=3)
    dt = DeltaTable(cat.table_uri("w"))
    assert dt.version() == 0 and len(dt.file_uris()) == len(files)
    back = delta_dataset(dt, cat.table_uri("w")).to_table()
    assert fp.row_sum(back) == fp.row_sum(table)  # same rows, any order
    for f in files:  # every file's stats are exact bounds of what it holds
        part = pq.read_table(f"{cat.table_uri('w')}/{f.path}")
        st = f.stats
        assert st["numRecords"] == part.num_rows
        assert st["minValues"]["n"] == pa.compute.min(part["n"]).as_py()
        assert st["maxValues"]["n"] == pa.compute.max(part["n"]).as_py()
        assert st["nullCount"]["maybe"] == part["maybe"].null_count
        assert st["minValues"]["s"]["name"] == min(part["s"].combine_chunks().field("name").to_pylist())
        assert "text" not in st["minValues"]  # long text: no min/max written
    # A reader that prunes files by those stats returns exactly the matching rows.
    got = pl.scan_delta(cat.table_uri("w")).filter(pl.col("n") > 990).collect()
    assert sorted(got["n"].to_list()) == sorted(x for x in table["n"].to_pylist() if x > 990)


def test_abort_removes_written_files(cat, tmp_path):
    table = _table(5_000)
    writer = ShardWriter(str(tmp_path / "t"), table.schema, target_file_size=16 << 10, threads=2)
    for batch in table.to_batches(max_chunksize=500):
        writer.put(batch)
    writer.abort()
    assert not list((tmp_path / "t").glob("*.parquet"))


def test_a_failing_writer_surfaces_its_error(cat, tmp_path):
    table = _table(100)
    writer = ShardWriter(str(tmp_path / "t"), table.schema, target_file_size=1 << 20, threads=1)
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError, ValueError)):
        writer.put(pa.record_batch({"other": [1, 2]}))  # not the writer's schema
        writer.close()
    assert not list((tmp_path / "t").glob("*.parquet"))


def test_stats_of_an_all_null_column_and_an_empty_file(tmp_path):
    t = pa.table({"a": pa.array([None, None], pa.int64()), "b": [1, 2]})
    pq.write_table(t, tmp_path / "x.parquet")
    st = delta_stats(pq.read_metadata(tmp_path / "x.parquet"))
    assert st["nullCount"] == {"a": 2, "b": 0} and "a" not in st["minValues"]
    json.dumps(st)  # a Delta log line
    pq.write_table(t.slice(0, 0), tmp_path / "y.parquet")
    assert delta_stats(pq.read_metadata(tmp_path / "y.parquet")) == {"numRecords": 0}


def test_losing_the_race_to_create_a_table_appends(cat, monkeypatch):
    """Two writers both saw no table; the second one's create fails and it appends instead."""
    a, b = _table(3_000, seed=1), _table(2_000, seed=2)
    cat.store.ensure_dataset("w")
    _, files_a = _write(cat, a, 2, target=1 << 20)
    _, files_b = _write(cat, b, 2, target=1 << 20)
    commit_files(cat.store, "w", a.schema, files_a, {"curata.run_id": "a"}, retries=3)
    real = type(cat.store).delta
    calls = []

    def stale_first(self, dataset, version=None, kind="records"):
        calls.append(dataset)
        return None if len(calls) == 1 else real(self, dataset, version, kind)

    monkeypatch.setattr(type(cat.store), "delta", stale_first)
    commit_files(cat.store, "w", b.schema, files_b, {"curata.run_id": "b"}, retries=3)
    monkeypatch.undo()
    dt = DeltaTable(cat.table_uri("w"))
    assert dt.version() == 1
    assert delta_dataset(dt, cat.table_uri("w")).count_rows() == 5_000
