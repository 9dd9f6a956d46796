"""Previews read only what they show: `Snapshot.head` stops in the first file, the license mix
comes from the Delta log's per-file stats (or the two license columns), never from every column."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from curata.errors import CurataError, InvalidNameError


def _three_files(cat) -> object:
    cat.append("r", pa.table({"text": ["a", "b"], "n": [1, 2]}), license="MIT", source="one")
    cat.append("r", pa.table({"text": ["c"], "n": [3]}), license="CC-BY-4.0", source="two")
    return cat.append("r", pa.table({"text": ["d"], "n": [4]}), license="MIT", source="three")


def _oracle_mix(snap) -> Counter:
    t = snap.to_arrow(columns=["_license", "_source"])
    return Counter(zip(t.column("_license").to_pylist(), t.column("_source").to_pylist(),
                       strict=True))


def test_head_reads_only_the_first_file(cat) -> None:
    snap = _three_files(cat)
    files = snap.files()
    assert len(files) == 3
    k = files[0]["num_rows"]
    expected = snap.to_arrow().slice(0, k)  # rows in the order of the version's file list
    assert snap.head(k).equals(expected)
    assert snap.head(k, columns=["text"]).column_names == ["text"]
    assert snap.head(0).num_rows == 0 and snap.head(100).num_rows == 4
    for f in files[1:]:  # the other files gone: a full read fails, the preview does not
        (Path(snap.table_uri) / f["path"]).unlink()
    with pytest.raises((OSError, CurataError)):  # SnapshotDataError, naming `curata verify`
        snap.to_arrow()
    assert snap.head(k).equals(expected)


def test_license_mix_matches_a_full_group_by_and_needs_no_data_file(cat) -> None:
    snap = _three_files(cat)
    oracle = _oracle_mix(snap)
    mix = {(m["license"], m["source"]): m["records"] for m in snap.licenses()}
    assert mix == dict(oracle)
    assert [m["records"] for m in snap.licenses()] == sorted(oracle.values(), reverse=True)
    for f in snap.files():  # every file constant in (license, source): counted from the log
        (Path(snap.table_uri) / f["path"]).unlink()
    assert {(m["license"], m["source"]): m["records"] for m in snap.licenses()} == dict(oracle)


def test_license_mix_reads_mixed_files_two_columns_only(cat) -> None:
    """A file holding several licenses (written by another engine) is read, by its two
    license columns: a third column that cannot be decoded is never touched."""
    from deltalake import write_deltalake

    cat.store.ensure_dataset("mixed")
    n = 1000
    table = pa.table({
        "_id": [f"{i:032x}" for i in range(n)],
        "_source": ["s1" if i % 3 else "s2" for i in range(n)],
        "_license": ["MIT" if i % 2 else "CC0-1.0" for i in range(n)],
        "text": [f"row {i}" for i in range(n)],
    })
    write_deltalake(cat.table_uri("mixed"), table)
    snap = cat.snapshot("mixed")
    mix = {(m["license"], m["source"]): m["records"] for m in snap.licenses()}
    assert mix == dict(_oracle_mix(snap))
    assert sum(mix.values()) == n


def test_names_are_validated_whole_by_the_api(cat) -> None:
    for bad in ("reviews\n", "x[/x]", "v1\r\n", "émile", " r", "r r", "a" * 129, ""):
        with pytest.raises(InvalidNameError) as exc:
            cat.append(bad, pa.table({"text": ["a"]}), license="MIT", source="s")
        assert exc.value.name == bad
    cat.append("ok", pa.table({"text": ["a"]}), license="MIT", source="s")
    for bad in ("v1\n", "[bold]v1", "v 1"):
        with pytest.raises(InvalidNameError):
            cat.tag("ok", bad)
    assert [d.name for d in cat.datasets()] == ["ok"] and cat.tags("ok") == []


def test_a_name_stored_before_whole_validation_does_not_break_listing(cat) -> None:
    """Catalogs written by older versions may hold `name\\n`: listing and gc keep working."""
    from curata.store.models import Dataset

    cat.append("ok", pa.table({"text": ["a"]}), license="MIT", source="s")
    with cat.store.session() as s:
        s.add(Dataset(name="legacy\n", description=""))
    assert {d.name: d.latest_version for d in cat.datasets()} == {"ok": 0}
    assert cat.gc(dry_run=True).dry_run is True


def test_license_verdicts_read_every_file_and_fail_on_a_missing_one(cat) -> None:
    """Previews count from the log; a verdict (`curata license`, bom, the export gate) reads
    the two license columns of every file, so a missing file is an integrity error."""
    from curata.errors import SnapshotDataError
    from curata.governance import license_report

    snap = _three_files(cat)
    assert license_report(cat.store, snap, "research").total_records == 4
    (Path(snap.table_uri) / snap.files()[-1]["path"]).unlink()
    assert sum(m["records"] for m in snap.licenses()) == 4
    with pytest.raises(SnapshotDataError):
        license_report(cat.store, snap, "research")
