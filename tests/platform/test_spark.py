"""Spark reads a pinned snapshot (issue 22, item 5): ``spark.read.format("curata").load(REF)``
returns the rows and system columns of ``curata.load(REF).to_arrow()``, one partition per
Parquet file of the pinned version, and a moved, deleted or altered file is Curata's integrity
error, never a short read. Runs in the session's local Spark (``tests/fixtures/spark.py``)."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import curata
import pyarrow as pa
import pytest
from curata.errors import FingerprintMismatchError, SnapshotDataError, UsageError

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning")]

# Curata's Arrow types as Spark shows them (system columns first, then the content columns).
SPARK_SCHEMA = (
    "struct<_id:string,_source:string,_license:string,"
    "_provenance:struct<uri:string,locator:string,run_id:string,retrieved_at:timestamp>,"
    "text:string,blob:binary,i8:tinyint,i16:smallint,i32:int,i64:bigint,f32:float,f64:double,"
    "flag:boolean,ts:timestamp,local:timestamp_ntz,day:date,tags:array<string>,"
    "meta:struct<k:bigint,s:string>,attrs:map<string,bigint>,price:decimal(10,2)>"
)


def _content(start: int, n: int) -> pa.Table:
    """``n`` records of every type Curata stores, distinct from other ``start`` ranges."""
    ids = range(start, start + n)
    utc = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return pa.table({
        "text": [f"record {i}" if i % 7 else None for i in ids],
        "blob": pa.array([bytes([i % 256]) * (i % 5) for i in ids], pa.binary()),
        "i8": pa.array([i % 100 for i in ids], pa.int8()),
        "i16": pa.array([i for i in ids], pa.int16()),
        "i32": pa.array([-i for i in ids], pa.int32()),
        "i64": pa.array([i * 10**12 for i in ids], pa.int64()),
        "f32": pa.array([i / 4 for i in ids], pa.float32()),
        "f64": pa.array([i / 3 for i in ids], pa.float64()),
        "flag": [i % 2 == 0 for i in ids],
        "ts": pa.array([utc + dt.timedelta(minutes=i) for i in ids], pa.timestamp("us", tz="UTC")),
        "local": pa.array([dt.datetime(2024, 5, 1) + dt.timedelta(seconds=i) for i in ids],
                          pa.timestamp("us")),
        "day": pa.array([dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in ids], pa.date32()),
        "tags": pa.array([[f"t{j}" for j in range(i % 3)] for i in ids], pa.list_(pa.string())),
        "meta": pa.array([{"k": i, "s": str(i)} for i in ids],
                         pa.struct([("k", pa.int64()), ("s", pa.string())])),
        "attrs": pa.array([[("a", i), ("b", None)] for i in ids], pa.map_(pa.string(), pa.int64())),
        "price": pa.array([f"{i}.25" for i in ids], pa.string()).cast(pa.decimal128(10, 2)),
    })


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    return sorted(table.to_pylist(), key=lambda r: r["_id"])


@pytest.fixture(scope="module")
def sess(spark) -> Any:
    import curata.spark

    curata.spark.register(spark.session)
    return spark.session


@pytest.fixture
def cat(spark) -> Iterator[Any]:
    """The catalog Spark's workers find through ``CURATA_HOME`` (no options needed)."""
    c = curata.connect(home=spark.curata_home)
    yield c
    c.engine.dispose()


@pytest.fixture
def snap(cat) -> Any:
    """A dataset of three appends (three or more Parquet files), tagged v1."""
    name = f"sp-{uuid.uuid4().hex[:10]}"
    for k in range(3):
        cat.append(name, _content(100 * k, 40 + k), license=["MIT", "CC0-1.0", "CC-BY-4.0"][k],
                   source=f"part-{k}")
    cat.tag(name, "v1")
    return cat.snapshot(f"{name}@v1")


def _read(sess: Any, ref: str, **options: str) -> Any:
    reader = sess.read.format("curata")
    for key, value in options.items():
        reader = reader.option(key, value)
    return reader.load(ref)


def test_rows_and_system_columns_equal_to_arrow(sess, snap):
    df = _read(sess, snap.ref)
    assert df.schema.simpleString() == SPARK_SCHEMA
    assert df.columns == snap.schema.names
    assert _rows(df.toArrow()) == _rows(snap.to_arrow())


def test_one_partition_per_parquet_file(sess, snap):
    from pyspark.sql.functions import spark_partition_id

    files = snap.files()
    assert len(files) >= 3
    df = _read(sess, snap.ref)
    assert df.rdd.getNumPartitions() == len(files)
    per_partition = df.groupBy(spark_partition_id()).count().collect()
    assert sorted(r["count"] for r in per_partition) == sorted(f["num_rows"] for f in files)


def test_reads_the_pinned_version_after_later_writes(sess, cat, snap):
    before = _rows(snap.to_arrow())
    latest_then = _read(sess, snap.dataset)  # resolved to the latest version when loaded
    tagged = _read(sess, snap.ref)
    cat.append(snap.dataset, _content(1000, 25), license="MIT", source="later")
    assert _rows(tagged.toArrow()) == before
    assert _rows(latest_then.toArrow()) == before
    assert _rows(_read(sess, snap.ref).toArrow()) == before
    assert _read(sess, snap.dataset).count() == snap.num_rows + 25


def test_columns_option_prunes(sess, snap):
    for option in ("text, _license", json.dumps(["text", "_license"])):
        df = _read(sess, snap.ref, columns=option)
        assert df.columns == ["text", "_license"]
        expected = snap.to_arrow(columns=["text", "_license"])
        assert sorted(map(repr, df.toArrow().to_pylist())) == sorted(
            map(repr, expected.to_pylist()))


def test_unknown_column_or_option_is_a_usage_error(sess, snap):
    import curata.spark

    with pytest.raises(UsageError) as bad_column, curata.spark.curata_errors():
        _read(sess, snap.ref, columns="text,nope")
    assert bad_column.value.exit_code == 2 and "nope" in bad_column.value.message
    with pytest.raises(UsageError), curata.spark.curata_errors():
        _read(sess, snap.ref, expectFingerprnt="00")


def test_expect_fingerprint(sess, snap):
    import curata.spark

    ok = _read(sess, snap.ref, expect_fingerprint=snap.fingerprint[:12])
    assert ok.count() == snap.num_rows
    with pytest.raises(FingerprintMismatchError) as mismatch, curata.spark.curata_errors():
        _read(sess, snap.ref, expect_fingerprint="00000000")
    err = mismatch.value
    assert (err.ref, err.expected, err.actual, err.exit_code) == (
        snap.ref, "00000000", snap.fingerprint, 4)


@pytest.mark.parametrize("damage", ["deleted", "moved", "truncated"])
def test_a_damaged_file_is_the_integrity_error(sess, snap, damage):
    import curata.spark

    df = _read(sess, snap.ref)
    victim = snap.files()[1]["path"]
    path = Path(snap.table_uri) / victim
    if damage == "deleted":
        path.unlink()
    elif damage == "moved":
        path.rename(path.with_name("moved-" + path.name))
    else:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(SnapshotDataError) as ei, curata.spark.curata_errors():
        df.collect()
    assert ei.value.ref == snap.ref and ei.value.exit_code == 4
    assert ei.value.path is not None and ei.value.path.endswith(victim)
    raw = ei.value.__cause__  # what Spark itself raised on the driver
    assert type(raw).__module__.startswith("pyspark.")
    assert "SnapshotDataError" in str(raw) and victim in str(raw)
    assert f"curata verify {snap.ref}" in str(raw)


def test_catalog_location_as_options(sess, tmp_path):
    other = curata.connect(home=tmp_path / "elsewhere")
    other.append("notes", _content(0, 10), license="MIT", source="s")
    snap = other.snapshot("notes")
    other.engine.dispose()
    df = _read(sess, "notes", home=str(tmp_path / "elsewhere"))
    assert _rows(df.toArrow()) == _rows(snap.to_arrow())


def test_a_catalog_url_with_a_password_is_refused(sess, snap):
    import curata.spark

    url = "postgresql+psycopg://curata:s3cret-pw@127.0.0.1:1/catalog"
    with pytest.raises(Exception) as raw:
        _read(sess, snap.ref, catalog_url=url)
    assert "s3cret-pw" not in str(raw.value)
    with pytest.raises(UsageError), curata.spark.curata_errors():
        _read(sess, snap.ref, catalog_url=url)


def test_what_spark_pickles_carries_no_catalog_or_secret(spark, snap, monkeypatch):
    """The data source, the reader and the partitions are pickled into every task."""
    from curata.spark import CurataDataSource
    from pyspark import cloudpickle

    monkeypatch.setenv("CURATA_STORAGE_OPTIONS", json.dumps(
        {"AWS_SECRET_ACCESS_KEY": "zz-secret-zz", "AWS_REGION": "eu-west-1"}))
    source = CurataDataSource({"path": snap.ref, "home": str(spark.curata_home)})
    reader = source.reader(source.schema())
    parts = reader.partitions()
    assert len(parts) == len(snap.files())
    for obj in (source, reader, parts):
        blob = cloudpickle.dumps(obj)
        assert b"catalog.db" not in blob and b"zz-secret-zz" not in blob
    assert b"eu-west-1" in cloudpickle.dumps(reader)  # non-secret options do travel
    # The reader reads on its own, outside Spark too (as an executor does).
    monkeypatch.delenv("CURATA_STORAGE_OPTIONS")
    batches = [b for p in parts for b in reader.read(p)]
    assert _rows(pa.Table.from_batches(batches)) == _rows(
        snap.to_arrow().cast(pa.Table.from_batches(batches).schema))


def test_import_curata_does_not_import_pyspark():
    import subprocess
    import sys

    code = "import sys, curata; curata.load; print('pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ}, check=True).stdout.strip()
    assert out == "False"
