"""verify() finds flipped bytes and deleted files; gc never removes what a tag needs;
compaction leaves the snapshot fingerprint unchanged."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from curata import fingerprint as fp
from deltalake import DeltaTable


def data(n: int, start: int = 0) -> pa.Table:
    return pa.table({"text": [f"row {i} " * 5 for i in range(start, start + n)]})


def _files(snap) -> list[Path]:
    return [Path(snap.table_uri) / f["path"] for f in snap.files()]


def test_verify_ok(cat) -> None:
    cat.append("r", data(100), license="CC0-1.0", source="s")
    report = cat.snapshot("r").verify()
    assert report.ok and report.actual == report.expected and report.problems == []


def test_flipped_byte_is_found_and_the_file_named(cat) -> None:
    cat.append("r", data(100), license="CC0-1.0", source="s")
    cat.append("r", data(50, 1000), license="CC0-1.0", source="s")
    snap = cat.snapshot("r")
    victim = _files(snap)[0]
    raw = bytearray(victim.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    victim.write_bytes(bytes(raw))
    report = snap.verify()
    assert not report.ok
    assert any(victim.name in p for p in report.problems)


def test_deleted_file_is_found_and_named(cat) -> None:
    cat.append("r", data(100), license="CC0-1.0", source="s")
    cat.append("r", data(10, 500), license="CC0-1.0", source="s")
    snap = cat.snapshot("r")
    victim = _files(snap)[-1]
    victim.unlink()
    report = snap.verify()
    assert not report.ok
    assert any("missing" in p and victim.name in p for p in report.problems)


def test_compaction_keeps_the_fingerprint(cat) -> None:
    for i in range(5):
        cat.append("r", data(20, i * 20), license="CC0-1.0", source="s")
    before = cat.snapshot("r")
    dt = DeltaTable(before.table_uri)
    dt.optimize.compact()
    after = cat.snapshot("r")
    assert after.version == before.version + 1
    assert len(after.files()) < len(before.files())
    assert after.fingerprint == before.fingerprint
    assert after.verify().ok


def test_gc_never_removes_files_of_tagged_snapshots(cat) -> None:
    cat.append("r", data(30), license="CC0-1.0", source="s")
    tagged = cat.tag("r", "v1")
    expected = tagged.to_arrow()
    # overwrite: the latest version no longer references the tagged files
    dt = DeltaTable(tagged.table_uri)
    from deltalake import write_deltalake

    write_deltalake(tagged.table_uri, cat.snapshot("r").to_arrow().slice(0, 5), mode="overwrite")
    cat.append("r", data(5, 900), license="CC0-1.0", source="s")
    assert dt is not None
    report = cat.gc(dry_run=False)
    assert cat.snapshot("r").num_rows == 10
    again = cat.snapshot("r@v1")
    assert again.to_arrow().equals(expected)
    assert again.verify().ok
    assert report.kept_versions["r"][0] == 0


def test_gc_removes_untagged_old_files_and_orphans(cat) -> None:
    cat.append("r", data(30), license="CC0-1.0", source="s")
    uri = cat.snapshot("r").table_uri
    from deltalake import write_deltalake

    write_deltalake(uri, cat.snapshot("r").to_arrow().slice(0, 5), mode="overwrite")
    orphan = Path(uri) / "part-orphan-from-killed-ingest.parquet"
    orphan.write_bytes(b"PAR1 partial")
    # Younger than the retention (default 1 hour): a running write may still need them.
    assert cat.gc(dry_run=True).count == 0
    dry = cat.gc(dry_run=True, retention_hours=0)
    assert orphan.exists() and dry.count >= 2
    done = cat.gc(dry_run=False, retention_hours=0)
    assert done.count == dry.count and not orphan.exists()
    assert cat.snapshot("r").verify().ok
    assert any(e.action == "gc" for e in cat.audit_log())


def test_catalog_heals_after_commit_without_catalog_record(cat) -> None:
    """A writer killed between the Delta commit and the catalog update: nothing disagrees."""
    cat.append("r", data(10), license="CC0-1.0", source="s")
    uri = cat.snapshot("r").table_uri
    extra = cat.snapshot("r").to_arrow().slice(0, 3)
    from deltalake import write_deltalake

    write_deltalake(uri, extra, mode="append")  # a commit the catalog never heard of
    snap = cat.snapshot("r")
    assert snap.version == 1 and snap.num_rows == 13
    assert snap.fingerprint == fp.snapshot_fingerprint(snap.to_arrow(), schema=snap.schema)
