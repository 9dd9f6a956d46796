"""Record and snapshot fingerprints: oracle, golden vectors and invariance properties."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from curata import fingerprint as fp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.platform import _reference as ref

CASES = Path(__file__).parents[1] / "cases" / "fingerprints.json"


def sample_table() -> pa.Table:
    return pa.table({
        "text": ["héllo", None, "", "<script>"],
        "n": pa.array([1, -2, None, 2**62], pa.int64()),
        "small": pa.array([1, 2, 3, None], pa.int8()),
        "u": pa.array([1, 2**63 + 5, None, 0], pa.uint64()),
        "f": [0.5, -0.0, float("nan"), None],
        "b": [True, False, None, True],
        "bin": [b"\x00\x01", b"", None, b"png"],
        "d": pa.array([dt.date(2024, 1, 2), None, dt.date(1960, 5, 6), dt.date(1970, 1, 1)]),
        "ts": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5, 123456), None,
                        dt.datetime(1969, 12, 31, 23, 59, 59), dt.datetime(2000, 1, 1)],
                       pa.timestamp("us")),
        "tstz": pa.array([dt.datetime(2024, 1, 2, tzinfo=dt.UTC), None, None,
                          dt.datetime(2001, 1, 1, tzinfo=dt.UTC)], pa.timestamp("ms", tz="UTC")),
        "dec": pa.array([decimal.Decimal("1.25"), None, decimal.Decimal("-3.50"),
                         decimal.Decimal("0.00")], pa.decimal128(6, 2)),
        "s": [{"a": 1, "b": "x"}, None, {"a": None, "b": "y"}, {"a": 2, "b": None}],
        "l": [[1, 2, None], [], None, [3]],
        "m": pa.array([[("k", 1)], None, [], [("a", 2), ("b", None)]],
                      pa.map_(pa.string(), pa.int64())),
        "nested": [[{"x": [1.5]}], None, [{"x": None}], []],
    })


def system_table(run_id: str = "run-1", at: dt.datetime = dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
                 uri: str = "/data/a.jsonl") -> pa.Table:
    """A stored table: content, a label and the system columns as the writer makes them."""
    t = sample_table().select(["text", "n", "s", "l"])
    n = t.num_rows
    prov = pa.StructArray.from_arrays(
        [pa.array([uri] * n), pa.array([f"line {i + 1}" for i in range(n)]),
         pa.array([run_id] * n), pa.array([at] * n, pa.timestamp("us", tz="UTC"))],
        names=["uri", "locator", "run_id", "retrieved_at"])
    return (t.append_column("label", pa.array(["pos", None, "neg", "pos"]))
            .append_column("_id", fp.record_ids(t))
            .append_column("_source", pa.array(["src-1"] * n))
            .append_column("_license", pa.array(["CC-BY-4.0", "MIT", "MIT", "CC0-1.0"]))
            .append_column("_provenance", prov))


def test_vectorised_matches_reference_implementation() -> None:
    t = sample_table()
    assert fp.record_ids(t).to_pylist() == ref.record_ids(t)
    stored = system_table()
    for scheme in fp.SCHEMES:
        assert fp.snapshot_fingerprint(stored, scheme=scheme) == ref.snapshot_fingerprint(
            stored, scheme, fp.schema_digest(stored.schema)), scheme


def test_snapshot_fingerprint_is_content_defined() -> None:
    """fp-2: run ids, retrieval times, source paths and locators (provenance) are not hashed;
    content, labels, licenses and sources are. fp-1 hashed provenance too."""
    a = system_table()
    b = system_table(run_id="run-2", at=dt.datetime(2027, 5, 6, tzinfo=dt.UTC),
                     uri="s3://bucket/a.jsonl")
    assert fp.snapshot_fingerprint(a) == fp.snapshot_fingerprint(b)
    assert fp.snapshot_fingerprint(a, scheme="curata-fp-1") != fp.snapshot_fingerprint(
        b, scheme="curata-fp-1")
    for col, value in [("_license", "CC-BY-NC-4.0"), ("_source", "src-2"), ("label", "neg")]:
        vals = a.column(col).to_pylist()
        vals[0] = value if vals[0] != value else "other"
        changed = a.set_column(a.schema.get_field_index(col), col, pa.array(vals))
        assert fp.snapshot_fingerprint(changed) != fp.snapshot_fingerprint(a), col
    assert fp.FINGERPRINT_VERSION == "curata-fp-2"
    with pytest.raises(Exception) as info:
        fp.snapshot_fingerprint(a, scheme="curata-fp-0")
    assert "curata-fp-0" in str(info.value)


def test_golden_vectors() -> None:
    """Committed vectors: the fingerprint never changes across versions and platforms."""
    cases = json.loads(CASES.read_text())
    t = sample_table()
    assert fp.record_ids(t).to_pylist() == cases["sample_table_ids"]
    assert fp.snapshot_fingerprint(t, scheme="curata-fp-1") == cases["sample_table_snapshot"]
    stored = system_table()
    for scheme, expected in cases["system_table_snapshot"].items():
        assert fp.snapshot_fingerprint(stored, scheme=scheme) == expected, scheme
    for case in cases["simple"]:
        table = pa.table({k: pa.array(v["values"], v["type"] and getattr(pa, v["type"])())
                          for k, v in case["columns"].items()})
        assert fp.record_ids(table).to_pylist() == case["ids"], case


def test_same_in_another_process() -> None:
    code = ("import json, sys; sys.path.insert(0, '.');"
            "from tests.platform.test_fingerprint import sample_table;"
            "from curata import fingerprint as fp; t = sample_table();"
            "print(json.dumps([fp.record_ids(t).to_pylist(), fp.snapshot_fingerprint(t)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parents[2], env={"PYTHONHASHSEED": "123",
                                                            "PATH": "/usr/bin:/bin"})
    ids, snap = json.loads(out.stdout)
    t = sample_table()
    assert ids == fp.record_ids(t).to_pylist()
    assert snap == fp.snapshot_fingerprint(t)


def test_type_family_matters_but_width_does_not() -> None:
    as_str = fp.record_ids(pa.table({"x": ["1"]}))[0]
    as_i8 = fp.record_ids(pa.table({"x": pa.array([1], pa.int8())}))[0]
    as_i64 = fp.record_ids(pa.table({"x": pa.array([1], pa.int64())}))[0]
    as_u32 = fp.record_ids(pa.table({"x": pa.array([1], pa.uint32())}))[0]
    as_large = fp.record_ids(pa.table({"x": pa.array(["1"], pa.large_string())}))[0]
    assert as_i8 == as_i64 == as_u32
    assert as_str == as_large
    assert as_str != as_i64


def test_null_columns_do_not_change_ids_and_system_columns_are_ignored() -> None:
    base = pa.table({"text": ["a", "b"]})
    wider = pa.table({"text": ["a", "b"], "extra": pa.nulls(2, pa.string()),
                      "_license": ["MIT", "CC0-1.0"]})
    assert fp.record_ids(base) == fp.record_ids(wider)


def test_values_do_not_move_between_columns() -> None:
    a = fp.record_ids(pa.table({"x": ["1"], "y": ["2"]}))[0]
    b = fp.record_ids(pa.table({"x": ["2"], "y": ["1"]}))[0]
    assert a != b


def test_swapping_cells_between_rows_changes_snapshot() -> None:
    t1 = pa.table({"x": [1, 3], "y": [2, 4]})
    t2 = pa.table({"x": [1, 3], "y": [4, 2]})
    assert fp.snapshot_fingerprint(t1) != fp.snapshot_fingerprint(t2)


rows = st.lists(
    st.fixed_dictionaries({
        "text": st.one_of(st.none(), st.text(max_size=20)),
        "n": st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
        "f": st.one_of(st.none(), st.floats(allow_nan=True)),
        "tags": st.one_of(st.none(), st.lists(st.one_of(st.none(), st.text(max_size=5)),
                                              max_size=4)),
        "label": st.one_of(st.none(), st.sampled_from(["pos", "neg"])),
    }),
    min_size=1, max_size=40,
)
SCHEMA = pa.schema([("text", pa.string()), ("n", pa.int64()), ("f", pa.float64()),
                    ("tags", pa.list_(pa.string())), ("label", pa.string())])
props = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@props
@given(rows, st.randoms(use_true_random=False), st.integers(1, 7))
def test_snapshot_fingerprint_is_layout_independent(data, rnd, chunk) -> None:
    t = pa.Table.from_pylist(data, schema=SCHEMA)
    shuffled = list(data)
    rnd.shuffle(shuffled)
    other = pa.Table.from_pylist(shuffled, schema=SCHEMA)
    rechunked = pa.Table.from_batches(other.to_batches(max_chunksize=chunk))
    reordered = rechunked.select(list(reversed(SCHEMA.names)))
    assert fp.snapshot_fingerprint(t) == fp.snapshot_fingerprint(reordered)
    assert sorted(fp.record_ids(t).to_pylist()) == sorted(fp.record_ids(reordered).to_pylist())
    assert fp.record_ids(t).to_pylist() == ref.record_ids(t)


@props
@given(rows, st.data())
def test_snapshot_fingerprint_changes_with_content_label_license_and_duplicates(data, d) -> None:
    t = pa.Table.from_pylist(data, schema=SCHEMA).append_column(
        "_license", pa.array(["CC-BY-4.0"] * len(data)))
    base = fp.snapshot_fingerprint(t)
    i = d.draw(st.integers(0, len(data) - 1))
    # a duplicate row
    assert fp.snapshot_fingerprint(pa.concat_tables([t, t.slice(i, 1)])) != base
    # a changed license
    lic = t.column("_license").to_pylist()
    lic[i] = "CC-BY-NC-4.0"
    assert fp.snapshot_fingerprint(t.set_column(5, "_license", pa.array(lic))) != base
    # a changed label
    labels = t.column("label").to_pylist()
    labels[i] = "other" if labels[i] != "other" else "pos"
    assert fp.snapshot_fingerprint(t.set_column(4, "label", pa.array(labels))) != base
    # a changed byte of content
    texts = t.column("text").to_pylist()
    texts[i] = (texts[i] or "") + "!"
    changed = t.set_column(0, "text", pa.array(texts))
    assert fp.snapshot_fingerprint(changed) != base
    assert fp.record_ids(changed)[i] != fp.record_ids(t)[i]


def test_unsupported_type_is_an_error_not_a_random_hash() -> None:
    from curata.errors import FingerprintError

    union = pa.UnionArray.from_sparse(pa.array([0, 1], pa.int8()),
                                      [pa.array([1, 2]), pa.array(["a", "b"])])
    with pytest.raises(FingerprintError) as info:
        fp.record_ids(pa.table({"u": union}))
    assert info.value.column == "u"


def test_fast_paths_hash_like_the_reference() -> None:
    """Constant columns (hashed once) and dictionary columns (distinct values hashed once)
    give the same ids and snapshot fingerprint as plain columns and the reference."""
    import pyarrow.compute as pc

    n = 1000
    t = pa.table({"lic": ["CC0-1.0"] * n, "ts": pa.array([5] * n, pa.timestamp("us", tz="UTC")),
                  "text": [f"row {i}" for i in range(n)], "src": ["a", "b"] * (n // 2)})
    assert fp.record_ids(t).to_pylist() == ref.record_ids(t)
    d = t.set_column(3, "src", pc.dictionary_encode(t.column("src")))
    assert fp.record_ids(d) == fp.record_ids(t)
    assert fp.snapshot_fingerprint(d) == fp.snapshot_fingerprint(t)
    almost = t.set_column(0, "lic", pa.array(["CC0-1.0"] * (n - 1) + ["MIT"]))
    assert fp.record_ids(almost)[n - 1] != fp.record_ids(t)[n - 1]
    assert fp.record_ids(almost).to_pylist() == ref.record_ids(almost)
