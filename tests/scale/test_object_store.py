"""The same scenario on a local warehouse and on the S3 endpoint gives the same fingerprints
(issue 8 §1): ingest, load, tag, diff, verify, gc and export. Run ids and retrieval times are
NOT pinned: snapshot fingerprints are content-defined (curata-fp-2), so two runs of the same
data agree wherever they are written.

Object-store credentials come only from the environment (``AWS_*``), as in production; the
catalog is PostgreSQL, shared the way a team would share it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import curata
import pytest
from curata_ingest.pipeline import ingest

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
_results: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    (root / "one").mkdir()
    (root / "two").mkdir()
    (root / "one" / "a.jsonl").write_text("".join(
        json.dumps({"text": f"review {i}", "stars": i % 5}) + "\n" for i in range(200)))
    (root / "two" / "b.jsonl").write_text("".join(
        json.dumps({"text": f"review {i}", "stars": i % 5}) + "\n" for i in range(150, 260))
        + "not json\n")
    return root


def _scenario(corpus: Path, out: Path) -> dict[str, Any]:
    cat = curata.connect()
    first = ingest([str(corpus / "one")], dataset="reviews", license="CC-BY-4.0",
                   catalog=cat, shard_size=8192)
    cat.tag("reviews", "v1")
    second = ingest([str(corpus / "two")], dataset="reviews", license="CC-BY-4.0",
                    catalog=cat, shard_size=8192)
    v1, latest = cat.snapshot("reviews@v1"), cat.snapshot("reviews")
    loaded = curata.load("reviews@v1", expect_fingerprint=first.fingerprint)
    table = loaded.to_arrow(columns=["text", "stars"])
    assert latest.to_polars().height == latest.num_rows
    diff = cat.diff("reviews@v1", "reviews")
    gc = cat.gc(dry_run=False)
    export = v1.export_webdataset(str(out), shard_count=2)
    return {
        "fingerprints": [first.fingerprint, second.fingerprint, latest.fingerprint],
        "counts": [first.rows_written, second.rows_written, second.duplicates, second.rejected],
        "rows": sorted(table.column("text").to_pylist()),
        "diff": dict(diff.counts),
        "verify": [cat.snapshot(r).verify().ok for r in ("reviews@v1", "reviews")],
        "tagged_kept": v1.version in gc.kept_versions["reviews"],
        # Shard bytes carry each record's provenance (its run id): names and counts agree.
        "shards": [(s.name, s.samples) for s in export.shards],
        "run_ids": [first.run_id, second.run_id],
        "rejects": cat.rejects("reviews").num_rows,
    }


def test_same_fingerprints_local_and_s3(team, corpus: Path, tmp_path: Path) -> None:
    _results[team.kind] = _scenario(corpus, tmp_path / "export")
    got = _results[team.kind]
    assert got["counts"] == [200, 60, 50, 1]
    assert got["verify"] == [True, True] and got["tagged_kept"]
    assert got["diff"]["added"] == 60 and got["diff"]["removed"] == 0
    if team.kind == "s3":  # the local run of this test comes first (fixture parameter order)
        assert set(_results) == {"local", "s3"}
        assert set(got["run_ids"]).isdisjoint(_results["local"]["run_ids"])
        assert {k: v for k, v in got.items() if k != "run_ids"} == {
            k: v for k, v in _results["local"].items() if k != "run_ids"}
        assert team.env["CURATA_WAREHOUSE"].startswith("s3://")


def test_croissant_written_outside_the_warehouse_loads_the_records(team, tmp_path: Path) -> None:
    """`curata bom --format croissant --out` anywhere: mlcroissant reads every record (it once
    read zero, the FileSet naming files relative to a folder that did not hold them)."""
    import os
    import subprocess
    import sys

    import mlcroissant as mlc
    import pyarrow as pa

    cat = curata.connect()
    cat.append("c", pa.table({"text": [f"t{i}" for i in range(30)], "n": list(range(30))}),
               license="CC0-1.0", source="s")
    cat.append("c", pa.table({"text": ["late"], "n": [99]}), license="CC0-1.0", source="s")
    cat.tag("c", "v1")
    out = tmp_path / "elsewhere" / "meta" / "croissant.json"
    for _ in range(2):  # a second write replaces the file view it made
        r = subprocess.run([sys.executable, "-c", "from curata_ingest.cli import main; main()",
                            "bom", "c@v1", "--format", "croissant", "--out", str(out), "--json"],
                           capture_output=True, text=True, env={**os.environ}, timeout=300)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["file_view"] == str(out.parent / "croissant.json.files")
    ds = mlc.Dataset(jsonld=str(out))
    got = sorted((rec["records/text"].decode(), rec["records/n"]) for rec in ds.records("records"))
    t = cat.snapshot("c@v1").to_arrow(columns=["text", "n"])
    assert got == sorted(zip(t["text"].to_pylist(), t["n"].to_pylist(), strict=True))
    assert len(got) == 31
    doc = json.loads(out.read_text())
    same = [d["sameAs"] for d in doc["distribution"] if d.get("@type") == "cr:FileObject"]
    assert same and all(u.startswith("s3://" if team.kind == "s3" else "file://") for u in same)
    # A folder of that name Curata did not make is never replaced.
    other = tmp_path / "mine" / "croissant.json.files"
    other.mkdir(parents=True)
    (other / "keep.txt").write_text("mine")
    r = subprocess.run([sys.executable, "-c", "from curata_ingest.cli import main; main()",
                        "bom", "c@v1", "--format", "croissant", "--out",
                        str(other.parent / "croissant.json")],
                       capture_output=True, text=True, env={**os.environ}, timeout=300)
    assert r.returncode == 2 and (other / "keep.txt").read_text() == "mine"
    cat.engine.dispose()


def test_export_to_s3_honours_the_endpoint_of_curata_storage_options(s3, tmp_path, monkeypatch):
    """Only CURATA_STORAGE_OPTIONS names the endpoint (no AWS_ENDPOINT_URL): the shards land
    on that server, not on AWS."""
    import os
    import subprocess
    import sys

    import pyarrow as pa

    bucket = s3.bucket("curata-export")
    home = tmp_path / "h"
    cat = curata.connect(home=home)
    cat.append("e", pa.table({"text": [f"t{i}" for i in range(40)]}), license="CC0-1.0",
               source="s")
    cat.engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(CURATA_HOME=str(home), CURATA_STORAGE_OPTIONS=json.dumps({
        "aws_endpoint_url": s3.endpoint_url, "aws_access_key_id": s3.key,
        "aws_secret_access_key": s3.secret, "aws_region": s3.region}))
    env.pop("CURATA_WAREHOUSE", None)
    env.pop("CURATA_CATALOG_URL", None)
    r = subprocess.run([sys.executable, "-c", "from curata_ingest.cli import main; main()",
                        "export", "e", "--out", f"s3://{bucket}/shards", "--json"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    names = {p.rsplit("/", 1)[1] for p in s3.filesystem().ls(f"{bucket}/shards")}
    assert "manifest.json" in names and any(n.endswith(".tar") for n in names)
