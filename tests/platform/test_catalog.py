"""Catalog.append, refs, pinned snapshots, tags and errors on a real SQLite + Delta home."""

from __future__ import annotations

import curata
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from curata import errors
from curata import fingerprint as fp


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cat(request: pytest.FixtureRequest, home, monkeypatch: pytest.MonkeyPatch):
    """Every test of this module runs on the embedded SQLite catalog and on a real
    PostgreSQL 15 team catalog (a fresh database, migrated as `curata init` does)."""
    if request.param == "postgres":
        monkeypatch.setenv("CURATA_CATALOG_URL", request.getfixturevalue("pg_url"))
        c = curata.connect(upgrade=True)
    else:
        c = curata.connect()
    yield c
    c.engine.dispose()


def reviews(n: int = 5, start: int = 0) -> pa.Table:
    return pa.table({"text": [f"review {i}" for i in range(start, start + n)],
                     "stars": pa.array([i % 5 + 1 for i in range(start, start + n)], pa.int8())})


def test_append_adds_system_columns_and_returns_snapshot(cat) -> None:
    snap = cat.append("reviews", reviews(), license="CC-BY-4.0", source="upload 2026-11",
                      source_uri="file:///data/reviews.jsonl")
    assert (snap.dataset, snap.version, snap.num_rows) == ("reviews", 0, 5)
    t = snap.to_arrow()
    assert t.column_names[:4] == ["_id", "_source", "_license", "_provenance"]
    assert t.column("_id").to_pylist() == fp.record_ids(reviews()).to_pylist()
    assert set(t.column("_license").to_pylist()) == {"CC-BY-4.0"}
    prov = t.column("_provenance").to_pylist()[0]
    assert prov["uri"] == "file:///data/reviews.jsonl" and prov["run_id"]
    assert snap.fingerprint == fp.snapshot_fingerprint(t, schema=snap.schema)


def test_append_accepts_polars_readers_and_batch_iterables(cat) -> None:
    s1 = cat.append("d", pl.DataFrame({"text": ["a", "b"]}), license="MIT", source="s")
    reader = pa.RecordBatchReader.from_batches(
        pa.schema([("text", pa.string())]), iter([pa.record_batch({"text": ["c"]})]))
    s2 = cat.append("d", reader, license="MIT", source="s")
    s3 = cat.append("d", [pa.record_batch({"text": ["d"]}), pa.record_batch({"text": ["e"]})],
                    license="MIT", source="s")
    assert [s1.num_rows, s2.num_rows, s3.num_rows] == [2, 3, 5]
    assert cat.snapshot("d").to_polars()["text"].sort().to_list() == list("abcde")
    lazy = cat.snapshot("d@1").to_polars(lazy=True)
    assert isinstance(lazy, pl.LazyFrame) and lazy.collect().height == 3


def test_one_commit_per_append_with_commit_metadata(cat) -> None:
    many = [reviews(3, i * 3) for i in range(4)]
    cat.append("r", many, license="CC0-1.0", source="s", commit_metadata={"ticket": "X-1"})
    versions = cat.versions("r")
    assert [v.version for v in versions] == [0]
    assert versions[0].user and versions[0].run_id and versions[0].num_rows == 12
    dt = cat.store.delta("r")
    assert dt.history()[0]["ticket"] == "X-1"


def test_snapshot_is_pinned_against_later_writes(cat) -> None:
    first = cat.append("r", reviews(), license="CC0-1.0", source="s")
    before = first.to_arrow()
    cat.append("r", reviews(3, 100), license="CC0-1.0", source="s")
    assert first.to_arrow().equals(before)
    assert cat.snapshot("r@0").fingerprint == first.fingerprint
    assert cat.snapshot("r").num_rows == 8


def test_refs_by_tag_version_and_fingerprint_prefix(cat) -> None:
    a = cat.append("r", reviews(), license="CC0-1.0", source="s")
    b = cat.append("r", reviews(2, 50), license="CC0-1.0", source="s")
    cat.tag("r", "v1", version=0, note="first")
    assert cat.snapshot("r@v1").version == 0 and cat.snapshot("r@v1").tag == "v1"
    assert cat.snapshot("r@1").fingerprint == b.fingerprint
    assert cat.snapshot(f"r@fp:{a.fingerprint[:10]}").version == 0
    assert curata.load("r@v1").fingerprint == a.fingerprint
    assert curata.load("r").version == 1


def test_expect_fingerprint(cat) -> None:
    a = cat.append("r", reviews(), license="CC0-1.0", source="s")
    cat.tag("r", "v1")
    assert curata.load("r@v1", expect_fingerprint=a.fingerprint).version == 0
    with pytest.raises(errors.FingerprintMismatchError) as info:
        curata.load("r@v1", expect_fingerprint="00" * 32)
    assert info.value.expected == "00" * 32 and info.value.actual == a.fingerprint


def test_unknown_refs_list_what_exists(cat) -> None:
    cat.append("r", reviews(), license="CC0-1.0", source="s")
    cat.tag("r", "v1")
    with pytest.raises(errors.DatasetNotFoundError) as d:
        cat.snapshot("nope@v1")
    assert d.value.available == ["r"]
    with pytest.raises(errors.SnapshotNotFoundError) as s:
        cat.snapshot("r@v2")
    assert s.value.available == ["v1"]
    with pytest.raises(errors.SnapshotNotFoundError):
        cat.snapshot("r@7")
    with pytest.raises(errors.SnapshotNotFoundError):
        cat.snapshot("r@fp:ffffffffff")
    with pytest.raises(errors.InvalidRefError):
        cat.snapshot("r@a@b")


def test_tags_are_immutable_unless_forced_and_force_is_audited(cat) -> None:
    cat.append("r", reviews(), license="CC0-1.0", source="s")
    cat.append("r", reviews(1, 9), license="CC0-1.0", source="s")
    cat.tag("r", "gold", version=0)
    cat.tag("r", "gold", version=0)  # same target: a no-op
    with pytest.raises(errors.TagExistsError) as info:
        cat.tag("r", "gold", version=1)
    assert (info.value.version, info.value.requested) == (0, 1)
    moved = cat.tag("r", "gold", version=1, force=True)
    assert moved.version == 1
    actions = [e.action for e in cat.audit_log("r")]
    assert actions[0] == "tag.force" and "tag" in actions
    with pytest.raises(errors.UsageError):
        cat.tag("r", "123")


def test_invalid_license_and_schema_drift_are_refused(cat) -> None:
    with pytest.raises(errors.LicenseError):
        cat.append("r", reviews(), license="CC-BY-4.O", source="s")
    cat.append("r", reviews(), license="unknown", source="s")
    cat.append("r", reviews(5, 10), license="LicenseRef-acme-internal", source="acme")
    wider = reviews().append_column("lang", pa.array(["en"] * 5))
    with pytest.raises(errors.SchemaMismatchError) as info:
        cat.append("r", wider, license="MIT", source="mit")
    assert info.value.columns == ["lang"]
    assert cat.snapshot("r").version == 1  # nothing committed
    merged = cat.append("r", wider, license="MIT", source="mit", schema_evolution="merge")
    assert "lang" in merged.schema.names
    changes = [e for e in cat.audit_log("r") if e.action == "schema.change"]
    assert changes and changes[0].details["added"] == ["lang"]
    # old rows read back with null in the new column; ids unchanged
    assert merged.verify().ok


def test_failed_append_marks_the_run_failed(cat) -> None:
    with pytest.raises(errors.SchemaMismatchError):
        cat.append("r", pa.table({"x": pa.array([1], pa.int64())}), license="MIT", source="s")
        cat.append("r", pa.table({"x": ["not an int"]}), license="MIT", source="s")
    statuses = [r.status for r in cat.runs("r")]
    assert statuses[0] == "failed" and "committed" in statuses


def test_update_columns_merges_labels_as_a_new_version(cat) -> None:
    snap = cat.append("r", reviews(), license="CC0-1.0", source="s")
    ids = snap.to_arrow().column("_id").to_pylist()
    labels = pa.table({"_id": ids[:2], "label": ["pos", "neg"]})
    labeled = cat.update_columns("r", labels, derived_from=[{"kind": "labels", "project": "p"}])
    assert labeled.version == 1 and labeled.fingerprint != snap.fingerprint
    t = labeled.to_arrow()
    got = dict(zip(t.column("_id").to_pylist(), t.column("label").to_pylist(), strict=True))
    assert got[ids[0]] == "pos" and got[ids[1]] == "neg" and got[ids[4]] is None
    assert labeled.verify().ok
    assert cat.diff("r@0", "r@1").counts == {"added": 0, "removed": 0, "changed": 2}


def test_diff_counts_added_removed_changed(cat) -> None:
    cat.append("r", reviews(4), license="CC0-1.0", source="s")
    cat.append("r", reviews(2, 10), license="CC0-1.0", source="s")
    d = cat.diff("r@0", "r@1")
    assert d.counts == {"added": 2, "removed": 0, "changed": 0}
    assert sorted(d.added.column("text").to_pylist()) == ["review 10", "review 11"]
    back = cat.diff("r@1", "r@0")
    assert back.counts["removed"] == 2


def test_to_arrow_columns_and_filter_and_hf(cat) -> None:
    cat.append("r", reviews(10), license="CC0-1.0", source="s")
    snap = cat.snapshot("r")
    t = snap.to_arrow(columns=["text"], filter=pc.field("stars") > 3)
    assert t.column_names == ["text"] and t.num_rows == 4
    ds = snap.to_hf()
    assert ds.num_rows == 10 and "text" in ds.column_names


def test_licenses_mix(cat) -> None:
    cat.append("r", reviews(3), license="CC-BY-4.0", source="a")
    cat.append("r", reviews(2, 10), license="CC0-1.0", source="b")
    mix = {m["license"]: m["records"] for m in cat.snapshot("r").licenses()}
    assert mix == {"CC-BY-4.0": 3, "CC0-1.0": 2}


def test_datasets_listing(cat) -> None:
    cat.append("b", reviews(1), license="MIT", source="s")
    cat.append("a", reviews(2), license="MIT", source="s")
    cat.tag("a", "v1")
    ds = cat.datasets()
    assert [d.name for d in ds] == ["a", "b"]
    assert ds[0].num_rows == 2 and ds[0].tags == ["v1"]


def test_insert_ignore_counts_only_the_rows_it_inserted(cat) -> None:
    """Every caller (datasets, sources, version records, files, tags) relies on this count."""
    from curata.store import insert_ignore
    from curata.store.models import Dataset

    row = {"name": "x", "description": "", "created_by": "t"}
    with cat.store.session() as s:
        assert insert_ignore(s, Dataset, [row, {**row, "name": "y"}], ["name"]) == 2
    with cat.store.session() as s:
        assert insert_ignore(s, Dataset, [row], ["name"]) == 0
        assert insert_ignore(s, Dataset, [row, {**row, "name": "z"}], ["name"]) == 1
    assert cat.dataset_names() == ["x", "y", "z"]


def test_diff_is_a_multiset_diff_and_key_pairs_changed_content(cat) -> None:
    """Appending the same rows again (dedup off) is N additions, never N "changes"; a record
    whose content changed under the same key is one change with --key, else -1 +1."""
    base = reviews(6)
    cat.append("m", base, license="CC0-1.0", source="s")
    cat.append("m", base, license="CC0-1.0", source="s", dedup="off")
    d = cat.diff("m@0", "m@1")
    assert d.counts == {"added": 6, "removed": 0, "changed": 0}
    assert sorted(d.added.column("text").to_pylist()) == sorted(base.column("text").to_pylist())
    assert cat.diff("m@1", "m@0").counts == {"added": 0, "removed": 6, "changed": 0}

    edited = pa.table({"text": ["review 0 (edited)"], "stars": pa.array([1], pa.int8()),
                       "n": [0]})
    keyed = reviews(3).append_column("n", pa.array([0, 1, 2]))
    cat.append("k", keyed, license="CC0-1.0", source="s")
    cat.derive("k", [{"filter": "n > 0"}], into="k2")
    cat.append("k2", edited, license="CC0-1.0", source="s")
    assert cat.diff("k", "k2").counts == {"added": 1, "removed": 1, "changed": 0}
    d = cat.diff("k", "k2", key=["n"])
    assert d.counts == {"added": 0, "removed": 0, "changed": 1}
    assert d.changed.column("text").to_pylist() == ["review 0 (edited)"]
    with pytest.raises(errors.UsageError):
        cat.diff("k", "k2", key=["nope"])
