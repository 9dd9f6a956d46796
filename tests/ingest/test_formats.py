"""Formats users hand over (issue: ingest robustness, item 3): JSON documents, CSV dialects and
encodings, ragged rows with line numbers, file names that look like globs.

Real files we did not write: the vega-datasets package ships cars.json, iris.json and friends.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest
from curata.errors import UsageError
from curata_ingest.pipeline import ingest

from tests.ingest._helpers import read_all

vega = pytest.importorskip("vega_datasets")
VEGA = Path(vega.__file__).parent / "_data"


def test_vega_cars_json_is_read_as_records(cat):
    cars = json.loads((VEGA / "cars.json").read_text())
    report = ingest([str(VEGA / "cars.json")], dataset="cars", license="BSD-3-Clause",
                    catalog=cat)
    assert report.rejected == 0 and report.rows_read == len(cars) == 406
    table = cat.snapshot("cars").to_arrow()
    assert sorted(table.column("Name").to_pylist()) == sorted(c["Name"] for c in cars)
    locators = [p["locator"] for p in table.column("_provenance").to_pylist()]
    assert sorted(int(loc.rsplit("#item=", 1)[1]) for loc in locators) == list(range(1, 407))


@pytest.mark.parametrize("name", sorted(p.name for p in VEGA.glob("*.json")))
def test_every_vega_json_file_is_records_or_a_counted_reject(name):
    doc = json.loads((VEGA / name).read_text())
    rows, sink, _ = read_all(str(VEGA / name))
    if isinstance(doc, list):
        objects = [d for d in doc if isinstance(d, dict)]
        assert len(rows) == len(objects) and len(sink) == len(doc) - len(objects)
    else:
        arrays = [k for k, v in doc.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
        expected = len(doc[arrays[0]]) if len(arrays) == 1 else (0 if arrays else 1)
        assert len(rows) == expected
        assert len(sink) == (1 if len(arrays) > 1 else 0)


def test_json_document_shapes(tmp_path):
    (tmp_path / "wrap.json").write_text(json.dumps({"meta": {"v": 1}, "data": [{"a": 1}, {"a": 2}]},
                                                   indent=2))
    (tmp_path / "mixed.json").write_text(json.dumps([{"a": 1}, 5, {"a": 3}]))
    (tmp_path / "two.json").write_text(json.dumps({"nodes": [{"a": 1}], "links": [{"b": 2}]}))
    (tmp_path / "lines.json").write_text('{"a": 1}\n{"a": 2}\n')
    rows, sink, _ = read_all(str(tmp_path / "wrap.json"))
    assert [r["a"] for r in rows] == [1, 2] and len(sink) == 0
    rows, sink, _ = read_all(str(tmp_path / "mixed.json"))
    assert [r["a"] for r in rows] == [1, 3]
    assert [(r["reason"], r["locator"].rsplit("#", 1)[1]) for r in sink.rows] == [
        ("not_an_object", "item=2")]
    rows, sink, _ = read_all(str(tmp_path / "two.json"))
    assert rows == [] and [r["reason"] for r in sink.rows] == ["ambiguous_json_document"]
    rows, sink, _ = read_all(str(tmp_path / "lines.json"))
    assert [r["_locator"].rsplit("/", 1)[1] for r in rows] == ["lines.json:1", "lines.json:2"]


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_csv_delimiter_is_sniffed(tmp_path, delimiter):
    path = tmp_path / "d.csv"
    path.write_text(delimiter.join(["name", "city", "n"]) + "\n"
                    + "".join(delimiter.join([f"p{i}", f"c{i}", str(i)]) + "\n" for i in range(20)))
    rows, sink, _ = read_all(str(path))
    assert len(rows) == 20 and rows[3]["city"] == "c3" and rows[3]["n"] == 3 and len(sink) == 0


def test_csv_delimiter_option_and_options_that_apply_to_nothing(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a:b\n1:2\n")
    rows, _, _ = read_all(str(path), reader_options={"delimiter": ":"})
    assert rows[0]["b"] == 2
    (tmp_path / "x.jsonl").write_text('{"a": 1}\n')
    with pytest.raises(UsageError):
        read_all(str(tmp_path / "x.jsonl"), reader_options={"delimiter": ";"})


def test_invalid_utf8_field_rejects_its_row_not_the_column(tmp_path, cat):
    path = tmp_path / "u.csv"
    path.write_bytes(b"name,n\nalpha,1\nbad \xff\xfe,2\ngamma,3\n")
    rows, sink, _ = read_all(str(path))
    assert [r["name"] for r in rows] == ["alpha", "gamma"]
    assert [(r["reason"], r["locator"].rsplit("#", 1)[1]) for r in sink.rows] == [
        ("invalid_utf8", "row=2")]
    report = ingest([str(path)], dataset="u", license="MIT", catalog=cat)
    assert cat.snapshot("u").schema.field("name").type == pa.string()
    assert report.rejected == 1
    # the same bytes read as Latin-1, when the user says so: every row
    rows, sink, _ = read_all(str(path), reader_options={"encoding": "latin-1"})
    assert [r["name"] for r in rows] == ["alpha", "bad ÿþ", "gamma"] and len(sink) == 0


def test_ragged_csv_row_locator_has_its_line_number(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("id,name\n1,ann\n2,bo\n3,bob,extra\n4,cy\n")
    rows, sink, _ = read_all(str(path))
    assert [r["id"] for r in rows] == [1, 2, 4]
    # Arrow counts records (the header is 1): the line, unless a quoted field spans lines
    assert [r["locator"].rsplit(":", 1)[1] for r in sink.rows] == ["line=4"]


def test_csv_with_a_bom_has_the_same_header_on_every_path(tmp_path):
    """Arrow drops the byte-order mark; the Python fallback (after a type change) did not."""
    path = tmp_path / "bom.csv"
    body = "n,t\n" + "".join(f"{i},x\n" for i in range(5)) + "oops,y\n"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    arrow = pcsv.read_csv(path)
    assert arrow.column_names == ["n", "t"]
    rows, _, _ = read_all(str(path))
    assert {k for r in rows for k in r} == {"n", "t", "_locator"}


def test_names_with_glob_characters_are_taken_literally(tmp_path):
    odd = tmp_path / "data [v1] *?.jsonl"
    odd.write_text('{"a": 1}\n')
    (tmp_path / "data 1 x.jsonl").write_text('{"a": 2}\n')  # the glob would match this one
    rows, _, _ = read_all(str(odd))
    assert [r["a"] for r in rows] == [1]
