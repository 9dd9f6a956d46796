"""Image folders, WebDataset shards, HF datasets, SQL and S3 sources."""

from __future__ import annotations

import io
import json
import sqlite3

import numpy as np
import pytest
import webdataset as wds
from curata.errors import SourceError
from curata_ingest.sources import open_sources
from PIL import Image

from tests.ingest._helpers import read_all


def _png(color: int, size=(8, 6), fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (color, 0, 0)).save(buf, format=fmt)
    return buf.getvalue()


def test_image_folder_labels_sizes_and_rejects(tmp_path):
    root = tmp_path / "imgs"
    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
    (root / "cat" / "1.png").write_bytes(_png(10))
    (root / "dog" / "2.jpg").write_bytes(_png(20, (5, 7), "JPEG"))
    (root / "dog" / "broken.png").write_bytes(_png(30)[:40])  # truncated
    (root / "dog" / "notes.txt").write_text("not an image")
    (src,) = open_sources([str(root)])
    assert src.format == "imagefolder"
    rows, sink, _ = read_all(src)
    # The path is provenance (the locator), not content: identical files are duplicates.
    got = {(r["label"], r["format"], r["width"], r["height"],
            "/".join(r["_locator"].rsplit("/", 2)[1:])) for r in rows}
    assert got == {("cat", "PNG", 8, 6, "cat/1.png"), ("dog", "JPEG", 5, 7, "dog/2.jpg")}
    assert "path" not in rows[0]
    (src,) = open_sources([str(root)], path_column="file")
    assert sorted(r["file"] for r in read_all(src)[0]) == ["cat/1.png", "dog/2.jpg"]
    assert Image.open(io.BytesIO(rows[0]["image"])).size == (8, 6)
    assert [(r["reason"], r["locator"].rsplit("/", 1)[1]) for r in sink.rows] == [
        ("undecodable_image", "broken.png")
    ]


def _write_shard(path, n, start=0):
    with wds.TarWriter(str(path)) as sink:
        for i in range(start, start + n):
            sink.write(
                {
                    "__key__": f"s{i:04d}",
                    "txt": f"caption {i}",
                    "png": _png(i % 200),
                    "json": json.dumps({"i": i}),
                }
            )


def test_webdataset_matches_the_webdataset_reader(tmp_path):
    _write_shard(tmp_path / "shard-0.tar", 30)
    _write_shard(tmp_path / "shard-1.tar", 20, start=30)
    rows, sink, _ = read_all(str(tmp_path / "shard-*.tar"))
    oracle = list(wds.WebDataset(str(tmp_path / "shard-{0..1}.tar"), shardshuffle=False))
    assert [r["key"] for r in rows] == [s["__key__"] for s in oracle]
    assert [r["png"] for r in rows] == [s["png"] for s in oracle]
    assert [r["txt"] for r in rows] == [s["txt"].decode() for s in oracle]
    assert (
        rows[3]["_locator"].endswith("shard-0.tar:s0003.json") or ":s0003." in rows[3]["_locator"]
    )
    assert not sink.rows


def test_webdataset_truncated_shard_is_rejected_not_a_crash(tmp_path):
    _write_shard(tmp_path / "t.tar", 20)
    data = (tmp_path / "t.tar").read_bytes()
    (tmp_path / "t.tar").write_bytes(data[: len(data) // 2])
    rows, sink, _ = read_all(str(tmp_path / "t.tar"))
    assert 0 < len(rows) < 20
    assert [r["reason"] for r in sink.rows] == ["truncated_archive"]
    assert [r["key"] for r in rows] == [f"s{i:04d}" for i in range(len(rows))]


def test_hf_save_to_disk_and_local_loader(tmp_path):
    import datasets

    ds = datasets.Dataset.from_dict({"text": [f"t{i}" for i in range(50)], "n": list(range(50))})
    ds.save_to_disk(str(tmp_path / "single"))
    datasets.DatasetDict({"train": ds, "test": ds.select(range(5))}).save_to_disk(
        str(tmp_path / "dd")
    )
    rows, _, _ = read_all(str(tmp_path / "single"))
    assert [r["n"] for r in rows] == list(range(50))
    rows, _, _ = read_all(str(tmp_path / "dd"))
    assert sorted({r["split"] for r in rows}) == ["test", "train"] and len(rows) == 55
    (tmp_path / "x.jsonl").write_text("".join(json.dumps({"v": i}) + "\n" for i in range(7)))
    (src,) = open_sources([f"hf:json:{tmp_path / 'x.jsonl'}"])
    rows, _, _ = read_all(src)
    assert [r["v"] for r in rows] == list(range(7))
    assert src.artifacts()[0].sha256


def test_sql_table_and_query_on_sqlite(tmp_path):
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE reviews (id INTEGER, body TEXT, score REAL)")
        conn.executemany(
            "INSERT INTO reviews VALUES (?, ?, ?)",
            [(i, f"review {i}", i / 2) for i in range(20000)],
        )
    rows, _, batches = read_all(f"sqlite:///{db}#table=reviews")
    assert len(rows) == 20000 and batches > 1
    assert rows[-1]["_locator"] == "reviews#row=20000"
    rows, _, _ = read_all(f"sqlite:///{db}#query=SELECT id FROM reviews WHERE id < 3")
    assert [r["id"] for r in rows] == [0, 1, 2]
    with pytest.raises(SourceError):
        read_all(f"sqlite:///{db}#table=missing")
    with pytest.raises(SourceError):
        open_sources([f"sqlite:///{db}"])


@pytest.mark.postgres
def test_sql_on_postgres(pg_url):
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE ingest_src (id int, body text)"))
        conn.execute(
            sa.text("INSERT INTO ingest_src SELECT g, 'row ' || g FROM generate_series(1, 20000) g")
        )
    engine.dispose()
    (src,) = open_sources([f"{pg_url}#table=ingest_src"])
    assert src.format == "sql"
    rows, _, batches = read_all(src)
    assert sorted(r["id"] for r in rows) == list(range(1, 20001)) and batches > 1
    (src,) = open_sources([f"{pg_url}#query=SELECT body FROM ingest_src WHERE id <= 2 ORDER BY id"])
    assert [r["body"] for r in read_all(src)[0]] == ["row 1", "row 2"]


def test_s3_jsonl_and_images(s3, tmp_path):
    bucket = s3.bucket()
    fs = s3.filesystem()
    fs.pipe(f"{bucket}/data/a.jsonl", b'{"x": 1}\n{"x": 2}\n')
    fs.pipe(f"{bucket}/data/b.jsonl", b'{"x": 3}\nbroken\n')
    fs.pipe(f"{bucket}/imgs/cat/1.png", _png(1))
    opts = s3.storage_options
    rows, sink, _ = read_all(f"s3://{bucket}/data/*.jsonl", storage_options=opts)
    assert [r["x"] for r in rows] == [1, 2, 3]
    assert rows[0]["_locator"] == f"s3://{bucket}/data/a.jsonl:1"
    assert [r["locator"] for r in sink.rows] == [f"s3://{bucket}/data/b.jsonl:2"]
    rows, _, _ = read_all(f"s3://{bucket}/imgs", storage_options=opts)
    assert [(r["label"], r["width"]) for r in rows] == [("cat", 8)]
    (src,) = open_sources([f"s3://{bucket}/data/a.jsonl"], storage_options=opts)
    assert src.artifacts()[0].uri == f"s3://{bucket}/data/a.jsonl"
    assert np.all([len(a.sha256) == 64 for a in src.artifacts()])
