"""JSONL, CSV/TSV, Parquet and text sources: rows, locators and rejects."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from curata.errors import SourceError, UsageError
from curata_ingest.sources import _base as base
from curata_ingest.sources import open_sources
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ingest._helpers import read_all

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=5,
)


def test_jsonl_rows_locators_and_rejects(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(
        b'{"a": 1, "t": "x"}\n\n{"a": 2, "t": "y"}\nnot json\n[1, 2]\n'
        b'{"a": 3, "t": "\xff"}\r\n{"a": 4, "t": "z"}'
    )
    rows, sink, _ = read_all(str(path))
    assert [(r["a"], r["_locator"]) for r in rows] == [
        (1, f"{path}:1"),
        (2, f"{path}:3"),
        (4, f"{path}:7"),
    ]
    reasons = {r["locator"]: r["reason"] for r in sink.rows}
    assert reasons == {
        f"{path}:4": "malformed_json",
        f"{path}:5": "not_an_object",
        f"{path}:6": "invalid_utf8",
    }
    assert next(r for r in sink.rows if r["reason"] == "invalid_utf8")["raw"].endswith(b'\xff"}')


@pytest.mark.parametrize("suffix", ["jsonl.gz", "jsonl.zst", "ndjson"])
def test_jsonl_compressed(tmp_path, suffix):
    data = b"".join(json.dumps({"i": i}).encode() + b"\n" for i in range(100))
    if suffix.endswith("gz"):
        data = gzip.compress(data)
    elif suffix.endswith("zst"):
        data = zstandard.ZstdCompressor().compress(data)
    (tmp_path / f"x.{suffix}").write_bytes(data)
    rows, sink, _ = read_all(str(tmp_path / f"x.{suffix}"))
    assert [r["i"] for r in rows] == list(range(100)) and not sink.rows


def test_jsonl_streams_in_many_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(base, "BLOCK_BYTES", 4096)
    monkeypatch.setattr("curata_ingest.sources.jsonl.BLOCK_BYTES", 4096)
    path = tmp_path / "big.jsonl"
    path.write_text("".join(json.dumps({"i": i, "t": "x" * 50}) + "\n" for i in range(5000)))
    rows, sink, batches = read_all(str(path))
    assert batches > 50
    assert [r["i"] for r in rows] == list(range(5000))
    assert rows[4999]["_locator"] == f"{path}:5000"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.dictionaries(st.sampled_from("abc"), JSON_VALUES, max_size=3).map(
                lambda d: ("ok", json.dumps(d).encode())
            ),
            st.binary(max_size=12).map(lambda b: ("junk", b.replace(b"\n", b""))),
        ),
        max_size=30,
    )
)
def test_jsonl_property_every_line_is_a_row_or_a_reject(tmp_path_factory, lines):
    """Each non-blank line ends up exactly once: as a row or as a reject with its line."""
    path = tmp_path_factory.mktemp("prop") / "p.jsonl"
    path.write_bytes(b"\n".join(raw for _, raw in lines))
    rows, sink, _ = read_all(str(path))
    nonblank = [i + 1 for i, (_, raw) in enumerate(lines) if raw.strip()]
    seen = sorted(
        [int(r["_locator"].rsplit(":", 1)[1]) for r in rows]
        + [int(r["locator"].rsplit(":", 1)[1]) for r in sink.rows if r["reason"] != "empty_file"]
    )
    assert seen == nonblank
    for row in rows:  # every accepted row parses back to the same object
        line = lines[int(row["_locator"].rsplit(":", 1)[1]) - 1][1]
        original = json.loads(line)
        assert {k: v for k, v in row.items() if k != "_locator" and k in original} == original


def test_csv_and_tsv(tmp_path):
    (tmp_path / "a.csv").write_text('id,name\n1,ann\n2,bob,extra\n3,"c, d"\n')
    rows, sink, _ = read_all(str(tmp_path / "a.csv"))
    assert [(r["id"], r["name"]) for r in rows] == [(1, "ann"), (3, "c, d")]
    assert [r["reason"] for r in sink.rows] == ["wrong_field_count"]
    (tmp_path / "b.tsv").write_text("x\ty\nfoo\t1\n")
    rows, _, _ = read_all(str(tmp_path / "b.tsv"))
    assert rows == [{"x": "foo", "y": 1, "_locator": f"{tmp_path / 'b.tsv'}#row=1"}]


def test_csv_falls_back_after_a_type_change_and_rejects_bad_utf8(tmp_path, monkeypatch):
    monkeypatch.setattr("curata_ingest.sources.csv.BLOCK_BYTES", 64)
    body = "".join(f"{i},w{i}\n" for i in range(40)).encode() + b"oops,\xff\n41,w41\n"
    (tmp_path / "c.csv").write_bytes(b"n,w\n" + body)
    rows, sink, _ = read_all(str(tmp_path / "c.csv"))
    assert [str(r["n"]) for r in rows] == [*map(str, range(40)), "41"]
    assert [r["reason"] for r in sink.rows] == ["invalid_utf8"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.integers(-1000, 1000),
            st.text(
                st.characters(exclude_categories=["Cs"], exclude_characters="\r\x00"),
                max_size=15,
            ),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_csv_property_roundtrip(tmp_path_factory, records):
    """What Python's csv writer writes, the source reads back (oracle: the csv module)."""
    path = tmp_path_factory.mktemp("csv") / "p.csv"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["n", "s"])
    writer.writerows(records)
    path.write_text(buf.getvalue(), encoding="utf-8")
    rows, sink, _ = read_all(str(path))
    got = [(int(r["n"]), "" if r["s"] is None else str(r["s"])) for r in rows]
    assert not sink.rows
    assert len(got) == len(records)
    assert [n for n, _ in got] == [n for n, _ in records]


def test_parquet_in_row_groups_and_corrupt_file(tmp_path):
    table = pa.table({"i": list(range(1000)), "s": [str(i) for i in range(1000)]})
    pq.write_table(table, tmp_path / "a.parquet", row_group_size=100)
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 definitely not parquet")
    rows, sink, _ = read_all(str(tmp_path / "a.parquet"))
    assert [r["i"] for r in rows] == list(range(1000)) and rows[-1]["_locator"].endswith(
        "#row=1000"
    )
    rows, sink, _ = read_all(str(tmp_path / "bad.parquet"))
    assert rows == [] and [r["reason"] for r in sink.rows] == ["corrupt_file"]


def test_text_per_file_and_per_line(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("first line\n\nsecond line\n")
    (tmp_path / "d" / "b.txt").write_bytes(b"bad \xff\n")
    (tmp_path / "d" / "empty.txt").write_text("")
    rows, sink, _ = read_all(str(tmp_path / "d"), format="text")
    assert [r["text"] for r in rows] == ["first line\n\nsecond line\n"]
    assert sorted(r["reason"] for r in sink.rows) == ["empty_file", "invalid_utf8"]
    rows, sink, _ = read_all(str(tmp_path / "d"), format="lines")
    assert [(r["text"], r["_locator"].rsplit("/", 1)[1]) for r in rows] == [
        ("first line", "a.txt:1"),
        ("second line", "a.txt:3"),
    ]
    assert sorted(r["reason"] for r in sink.rows) == ["empty_file", "invalid_utf8"]


def test_detection_by_extension_magic_and_mixed_folders(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a.jsonl").write_text('{"x": 1}\n')
    (tmp_path / "m" / "b.csv").write_text("y\n2\n")
    (tmp_path / "m" / "noext").write_text('{"x": 3}\n')
    pq.write_table(pa.table({"z": [1]}), tmp_path / "m" / "c.data")
    sources = open_sources([str(tmp_path / "m")])
    assert sorted(s.format for s in sources) == ["csv", "jsonl", "parquet"]
    jsonl = next(s for s in sources if s.format == "jsonl")
    assert sorted(p.rsplit("/", 1)[1] for p in jsonl.files()) == ["a.jsonl", "noext"]
    assert [s.format for s in open_sources([str(tmp_path / "m" / "*.csv")])] == ["csv"]
    assert [s.format for s in open_sources([str(tmp_path / "m" / "b.csv")], format="lines")] == [
        "lines"
    ]


def test_bad_specs_raise_clear_errors(tmp_path):
    with pytest.raises(SourceError) as info:
        open_sources([str(tmp_path / "missing.jsonl")])
    assert info.value.source.endswith("missing.jsonl")
    with pytest.raises(SourceError):
        open_sources([str(tmp_path / "*.nothing")])
    with pytest.raises(UsageError):
        open_sources([str(tmp_path)], format="excel")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02")
    with pytest.raises(SourceError):
        open_sources([str(tmp_path / "blob.bin")])


def test_artifacts_hash_files(tmp_path):
    import hashlib

    (tmp_path / "a.jsonl").write_text('{"x": 1}\n')
    (src,) = open_sources([str(tmp_path / "a.jsonl")])
    (art,) = src.artifacts()
    assert art.sha256 == hashlib.sha256(b'{"x": 1}\n').hexdigest() and art.size == 9


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "jsonl.zst", "csv", "txt"])
def test_artifacts_hashed_while_reading_equal_sha256(tmp_path, fmt):
    """Recording a source's artifacts costs no second pass, and the digest is the file's."""
    import hashlib

    lines = [json.dumps({"i": i, "t": "x" * (i % 50)}) for i in range(5000)]
    raw = ("\n".join(lines) + "\n").encode()
    if fmt == "csv":
        raw = ("i,t\n" + "\n".join(f"{i},{'x' * (i % 50)}" for i in range(5000)) + "\n").encode()
    data = gzip.compress(raw) if fmt.endswith(".gz") else (
        zstandard.ZstdCompressor().compress(raw) if fmt.endswith(".zst") else raw)
    path = tmp_path / f"a.{fmt}"
    path.write_bytes(data)
    src = open_sources([str(path)])[0]
    assert src.total_bytes() == len(data)  # from the file size, nothing read yet
    rows, _, _ = read_all(src)
    assert len(rows) == 5000  # text: a record per line by default
    if fmt in ("jsonl", "csv"):
        assert str(path) in src._read  # hashed on the way through, not afterwards
    assert src.artifacts()[0].sha256 == hashlib.sha256(data).hexdigest()
    assert src.artifacts()[0].size == len(data)


def test_a_reader_that_skips_ahead_gets_no_partial_digest(tmp_path):
    import hashlib

    path = tmp_path / "a.bin"
    path.write_bytes(bytes(range(256)) * 100)
    done = []
    with open(path, "rb") as fh:
        r = base._HashingReader(fh, lambda size, digest: done.append((size, digest)))
        r.read(10)
        r.seek(0)
        r.read(5)
        r.seek(20_000)
        r.read()
    assert done == []
    with open(path, "rb") as fh:
        r = base._HashingReader(fh, lambda size, digest: done.append((size, digest)))
        r.read(10)
        r.seek(0)
        while r.read(999):
            pass
    assert done == [(25_600, hashlib.sha256(path.read_bytes()).hexdigest())]
