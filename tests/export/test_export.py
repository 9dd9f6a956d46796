"""WebDataset export of real snapshots, read back with the real readers."""

from __future__ import annotations

import glob
import hashlib
import json
import subprocess
from pathlib import Path

import curata
import pyarrow as pa
import pytest
import webdataset as wds
from curata.errors import LicenseViolationError
from curata.export import ExportOptionError, export_webdataset

from tests.export._tables import content_table


def _rows_by_id(snap: curata.Snapshot) -> dict[str, dict]:
    return {r["_id"]: r for r in snap.to_arrow().to_pylist()}


def _wds_samples(paths: list[str]) -> list[dict]:
    return list(wds.WebDataset(paths, shardshuffle=False, empty_check=False))


def _check_sample(sample: dict, row: dict) -> None:
    """One webdataset sample against its snapshot row, member by member."""
    meta = json.loads(sample["json"])
    assert meta["_id"] == row["_id"] == sample["__key__"]
    assert meta["_license"] == row["_license"] and meta["_source"] == row["_source"]
    prov = row["_provenance"]
    assert meta["_provenance"]["uri"] == prov["uri"]
    assert meta["_provenance"]["retrieved_at"] == prov["retrieved_at"].isoformat()
    assert sample["text.txt"].decode() == row["text"]
    assert int(sample["label.cls"]) == row["label"]
    assert json.loads(sample["meta.json"]) == row["meta"]
    image_key = next(k for k in sample if k.startswith("image."))
    assert sample[image_key] == row["image"]


def test_webdataset_reader_sees_every_record_exactly(snapshot, tmp_path) -> None:
    m = export_webdataset(snapshot, tmp_path / "out", shard_size="64KB")
    assert m.status == "written" and m.num_samples == snapshot.num_rows and len(m.shards) > 3
    rows = _rows_by_id(snapshot)
    samples = _wds_samples([str(tmp_path / "out" / s.name) for s in m.shards])
    assert sorted(s["__key__"] for s in samples) == sorted(rows)
    for sample in samples:
        _check_sample(sample, rows[sample["__key__"]])


def test_gnu_tar_lists_members_with_fixed_metadata(snapshot, tmp_path) -> None:
    m = export_webdataset(snapshot, tmp_path, shard_count=2)
    names, rows = [], _rows_by_id(snapshot)
    for shard in m.shards:
        out = subprocess.run(["tar", "--numeric-owner", "-tvf", str(tmp_path / shard.name)],
                             check=True, capture_output=True, text=True).stdout.splitlines()
        assert all(" 0/0 " in line and "1970-01-01 00:00" in line for line in out)
        names += [line.split()[-1] for line in out]
    keys = {n.split(".", 1)[0] for n in names}
    assert keys == set(rows)
    assert all(not k.startswith("_") and "/" not in k for k in keys)
    suffixes = {n.split(".", 1)[1] for n in names}
    assert suffixes == {"json", "text.txt", "label.cls", "meta.json", "split.txt", "image.png"}


def test_huggingface_loads_the_shards(snapshot, tmp_path, monkeypatch) -> None:
    import datasets  # the `hf` extra, installed by the workspace
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    m = export_webdataset(snapshot, tmp_path / "out", shard_count=3)
    files = sorted(glob.glob(str(tmp_path / "out" / "*.tar")))
    assert [Path(f).name for f in files] == m.shard_names()
    ds = datasets.load_dataset("webdataset", data_files={"train": files}, split="train",
                               cache_dir=str(tmp_path / "hf"))
    rows = _rows_by_id(snapshot)
    assert ds.num_rows == snapshot.num_rows
    for ex in ds.select(range(50)):
        row = rows[ex["__key__"]]
        assert ex["text.txt"] == row["text"] and ex["label.cls"] == row["label"]
        assert ex["json"]["_license"] == row["_license"]
        assert ex["image.png"].size == (8, 8)


def test_wids_index_gives_random_access(snapshot, tmp_path) -> None:
    import wids  # dev dependency
    m = export_webdataset(snapshot, tmp_path, shard_count=4)
    index = tmp_path / m.wids_indexes[""]
    ds = wids.ShardListDataset(str(index), cache_dir=str(tmp_path / "cache"), transformations=[])
    rows = _rows_by_id(snapshot)
    assert len(ds) == snapshot.num_rows
    for i in (0, 1, len(ds) // 2, len(ds) - 1):
        sample = ds[i]
        assert sample[".text.txt"].read().decode() == rows[sample["__key__"]]["text"]


def _digests(m) -> list[tuple[str, str]]:
    return [(s.name, s.sha256) for s in m.shards]


def test_reexport_is_byte_identical(snapshot, tmp_path) -> None:
    a = export_webdataset(snapshot, tmp_path / "a", shard_size="100KB", shuffle=True, seed=7)
    b = export_webdataset(snapshot, tmp_path / "b", shard_size="100KB", shuffle=True, seed=7)
    assert _digests(a) == _digests(b)
    for s in a.shards:
        data = (tmp_path / "a" / s.name).read_bytes()
        assert data == (tmp_path / "b" / s.name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == s.sha256 and len(data) == s.bytes
    manifests = [(tmp_path / d / "manifest.json").read_bytes() for d in ("a", "b")]
    assert manifests[0] == manifests[1]


def test_shuffle_depends_on_seed_only(snapshot, tmp_path) -> None:
    def keys(seed: int, name: str) -> list[str]:
        m = export_webdataset(snapshot, tmp_path / name, shard_count=1, shuffle=True, seed=seed)
        return [s["__key__"] for s in _wds_samples([str(tmp_path / name / m.shards[0].name)])]

    one, again, other = keys(1, "a"), keys(1, "b"), keys(2, "c")
    assert one == again and one != other and sorted(one) == sorted(other)
    plain = export_webdataset(snapshot, tmp_path / "d", shard_count=1)
    assert [s["__key__"] for s in _wds_samples([str(tmp_path / "d" / plain.shards[0].name)])] != one


def test_spilled_shuffle_is_byte_identical_to_in_memory(snapshot, tmp_path, monkeypatch) -> None:
    from curata.export import shuffle

    in_memory = export_webdataset(snapshot, tmp_path / "a", shard_size="200KB", shuffle=True,
                                  seed=3, filter="label <> 1")
    spilled_to = []
    real = shuffle._spill

    def spy(rows, pos, per_bucket, folder):
        spilled_to.append((per_bucket, folder))
        return real(rows, pos, per_bucket, folder)

    monkeypatch.setattr(shuffle, "SPILL_BYTES", 20_000)  # a few dozen rows per bucket
    monkeypatch.setattr(shuffle, "_spill", spy)
    spilled = export_webdataset(snapshot, tmp_path / "b", shard_size="200KB", shuffle=True,
                                seed=3, filter="label <> 1")
    assert spilled_to and spilled_to[0][0] < in_memory.num_samples // 4
    assert _digests(spilled) == _digests(in_memory)
    assert not Path(spilled_to[0][1]).exists()  # spill files are removed


def test_manifest_records_snapshot_options_and_shards(snapshot, tmp_path) -> None:
    m = export_webdataset(snapshot, tmp_path, shard_size="50KB", columns=["text", "label"])
    doc = json.loads((tmp_path / "manifest.json").read_text())
    assert doc["snapshot"] == {"ref": "reviews@v1", "dataset": "reviews",
                               "version": snapshot.version, "fingerprint": snapshot.fingerprint}
    assert doc["options"]["columns"] == ["text", "label"] and doc["options"]["shard_size"] == 50_000
    assert sum(s["samples"] for s in doc["shards"]) == snapshot.num_rows == doc["num_samples"]
    for s in doc["shards"]:
        data = (tmp_path / s["name"]).read_bytes()
        assert len(data) == s["bytes"] and hashlib.sha256(data).hexdigest() == s["sha256"]
        assert s["bytes"] <= 50_000 or s["samples"] == 1
    assert doc["licenses"] == {"CC-BY-4.0": 300, "CC-BY-NC-4.0": 200, "unknown": 100}
    assert m.to_dict()["shards"] == doc["shards"]


def test_attribution_lists_licenses_sources_and_texts(snapshot, tmp_path) -> None:
    export_webdataset(snapshot, tmp_path)
    text = (tmp_path / "ATTRIBUTION.md").read_text()
    for needle in ("CC-BY-4.0 | 300", "CC-BY-NC-4.0 | 200", "unknown | 100", "wiki dump",
                   "forum crawl", "scraped misc", "Text from Wikipedia, CC BY 4.0",
                   "Forum posts courtesy of ForumCo", "https://example.org/wiki-dump"):
        assert needle in text


def test_filter_columns_and_split_by(snapshot, tmp_path) -> None:
    m = export_webdataset(snapshot, tmp_path, filter="label >= 2 AND _license <> 'unknown'",
                          columns=["text", "label"], split_by="split", shard_count=2)
    table = snapshot.to_arrow()
    expected = {r["_id"]: r for r in table.to_pylist()
                if r["label"] >= 2 and r["_license"] != "unknown"}
    assert m.num_samples == len(expected)
    assert {s.split for s in m.shards} == {"train", "test"}
    for split in ("train", "test"):
        names = m.shard_names(split)
        assert names == [f"reviews-{split}-000000.tar", f"reviews-{split}-000001.tar"]
        samples = _wds_samples([str(tmp_path / n) for n in names])
        assert all(expected[s["__key__"]]["split"] == split for s in samples)
        assert all(set(s) - {"__key__", "__url__", "__local_path__"} ==
                   {"json", "text.txt", "label.cls"} for s in samples)
        assert len(samples) == sum(1 for r in expected.values() if r["split"] == split)
        assert (tmp_path / f"reviews-{split}.wids.json").exists()


def test_same_export_reports_unchanged_and_changes_rewrite(snapshot, tmp_path) -> None:
    first = export_webdataset(snapshot, tmp_path, shard_count=3)
    mtimes = {s.name: (tmp_path / s.name).stat().st_mtime_ns for s in first.shards}
    again = export_webdataset(snapshot, tmp_path, shard_count=3)
    assert again.status == "unchanged" and _digests(again) == _digests(first)
    assert {s.name: (tmp_path / s.name).stat().st_mtime_ns for s in first.shards} == mtimes
    fewer = export_webdataset(snapshot, tmp_path, shard_count=2)
    assert fewer.status == "written"
    assert sorted(p.name for p in tmp_path.glob("*.tar")) == fewer.shard_names()
    (tmp_path / fewer.shards[0].name).write_bytes(b"truncated")
    assert export_webdataset(snapshot, tmp_path, shard_count=2).status == "written"


def test_interrupted_export_leaves_no_manifest_and_no_shard(snapshot, tmp_path) -> None:
    def stop(written: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_webdataset(snapshot, tmp_path / "out", shard_size="20KB", progress=stop)
    assert list((tmp_path / "out").iterdir()) == []


KILL_SCRIPT = """
import os, signal, sys
import curata
from curata.export import export_webdataset
snap = curata.connect(home=sys.argv[1]).snapshot("reviews@v1")
def die(n):
    os.kill(os.getpid(), signal.SIGKILL)
export_webdataset(snap, sys.argv[2], shard_size="20KB", progress=die)
"""


def test_killed_export_leaves_nothing_that_looks_complete(snapshot, catalog, tmp_path) -> None:
    import sys

    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(catalog.settings.home),
                           str(out)], capture_output=True)
    assert proc.returncode == -9
    left = [p.name for p in out.iterdir()]
    assert left and all(n.startswith(".") and n.endswith(".partial") for n in left)
    m = export_webdataset(snapshot, out, shard_size="20KB")
    assert m.status == "written" and (out / "manifest.json").exists()


def test_license_gate_refuses_and_names_sources(snapshot, tmp_path) -> None:
    with pytest.raises(LicenseViolationError) as err:
        export_webdataset(snapshot, tmp_path, purpose="commercial")
    assert err.value.violations == {"CC-BY-NC-4.0": 200, "unknown": 100}
    assert len(err.value.sources) == 2
    assert not (tmp_path / "manifest.json").exists() and not list(tmp_path.glob("*.tar"))
    ok = export_webdataset(snapshot, tmp_path / "r", purpose="research",
                           filter="_license <> 'unknown'")
    assert ok.num_samples == 500


def test_license_override_goes_to_audit_log_and_manifest(snapshot, catalog, tmp_path) -> None:
    with pytest.raises(ExportOptionError):
        export_webdataset(snapshot, tmp_path, purpose="commercial",
                          allow_license=["CC-BY-NC-4.0", "unknown"])
    m = export_webdataset(snapshot, tmp_path, purpose="commercial",
                          allow_license=["CC-BY-NC-4.0", "unknown"],
                          reason="licensed by contract 42")
    overrides = {o["license"]: o["records"] for o in m.overrides}
    assert overrides == {"CC-BY-NC-4.0": 200, "unknown": 100}
    doc = json.loads((tmp_path / "manifest.json").read_text())
    assert [o["reason"] for o in doc["license_overrides"]] == ["licensed by contract 42"] * 2
    log = catalog.audit_log("reviews")
    overrides = [e for e in log if e.action == "license_override"]
    assert {e.details["license"] for e in overrides} == {"CC-BY-NC-4.0", "unknown"}
    assert all(e.details["reason"] == "licensed by contract 42" for e in overrides)
    assert any(e.action == "export" for e in log)
    assert "licensed by contract 42" in (tmp_path / "ATTRIBUTION.md").read_text()


def test_mixed_image_formats_keep_their_extension(catalog, tmp_path) -> None:
    catalog.append("imgs", content_table(20, images="mixed"), license="CC0-1.0", source="cam")
    snap = catalog.snapshot("imgs")
    m = export_webdataset(snap, tmp_path)
    samples = _wds_samples([str(tmp_path / m.shards[0].name)])
    exts = {k for s in samples for k in s if k.startswith("image.")}
    assert exts == {"image.png", "image.jpg"}
    for s in samples:
        data = s.get("image.png") or s["image.jpg"]
        assert data[:4] == (b"\x89PNG" if "image.png" in s else b"\xff\xd8\xff\xe0")


def test_nulls_write_no_member(catalog, tmp_path) -> None:
    table = pa.table({"text": ["a", None, "c"], "label": [1, 2, None]})
    catalog.append("nulls", table, license="CC0-1.0", source="x")
    m = export_webdataset(catalog.snapshot("nulls"), tmp_path)
    samples = _wds_samples([str(tmp_path / m.shards[0].name)])
    assert sorted(tuple(sorted(k for k in s if not k.startswith("__"))) for s in samples) == [
        ("json", "label.cls"), ("json", "label.cls", "text.txt"), ("json", "text.txt"),
    ]


@pytest.mark.parametrize("kwargs, option", [
    ({"shard_size": "12 parsecs"}, "shard_size"),
    ({"shard_size": "1KB"}, "shard_size"),
    ({"shard_size": "1MB", "shard_count": 2}, "shard_count"),
    ({"shard_count": 0}, "shard_count"),
    ({"columns": ["nope"]}, "columns"),
    ({"filter": "nope > 1"}, "filter/split_by"),
    ({"filter": "label >>> 1"}, "filter"),
    ({"split_by": "nope"}, "filter/split_by"),
    ({"purpose": "fun"}, "purpose"),
])
def test_bad_options_raise_before_writing(snapshot, tmp_path, kwargs, option) -> None:
    with pytest.raises(ExportOptionError) as err:
        export_webdataset(snapshot, tmp_path / "o", **kwargs)
    assert err.value.option == option
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_export_to_object_store_matches_local(snapshot, tmp_path, s3_options) -> None:
    import fsspec
    from curata.export import open_webdataset

    bucket, options = s3_options
    uri = f"s3://{bucket}/reviews/v1"
    local = export_webdataset(snapshot, tmp_path, shard_count=3)
    remote = export_webdataset(snapshot, uri, shard_count=3, storage_options=options)
    assert _digests(remote) == _digests(local) and remote.status == "written"
    fs = fsspec.filesystem("s3", **options)
    listed = sorted(p.rsplit("/", 1)[1] for p in fs.ls(f"{bucket}/reviews/v1"))
    assert listed == sorted([*local.shard_names(), "manifest.json", "ATTRIBUTION.md",
                             "reviews.wids.json"])
    again = export_webdataset(snapshot, uri, shard_count=3, storage_options=options)
    assert again.status == "unchanged"
    keys = [s["__key__"] for s in open_webdataset(uri, storage_options=options)]
    assert sorted(keys) == sorted(_rows_by_id(snapshot))


def test_huggingface_finds_split_by_splits(snapshot, tmp_path, monkeypatch) -> None:
    import datasets

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    m = export_webdataset(snapshot, tmp_path / "out", split_by="split", columns=["text"])
    files = {s: [str(tmp_path / "out" / n) for n in m.shard_names(s)] for s in ("train", "test")}
    ds = datasets.load_dataset("webdataset", data_files=files, cache_dir=str(tmp_path / "hf"))
    table = snapshot.to_arrow(columns=["split"]).column("split").to_pylist()
    assert {k: v.num_rows for k, v in ds.items()} == {
        s: table.count(s) for s in ("train", "test")}
    # glob patterns per split, as HF users write them (data_dir would also pick up the
    # manifest and sidecar files, which are not tars)
    pattern = str(tmp_path / "out" / "reviews-{}-*.tar")
    globbed = datasets.load_dataset(
        "webdataset", data_files={s: pattern.format(s) for s in ("train", "test")},
        cache_dir=str(tmp_path / "hf2"))
    assert {k: v.num_rows for k, v in globbed.items()} == {k: v.num_rows for k, v in ds.items()}
