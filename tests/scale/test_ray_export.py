"""``curata export --engine ray`` writes the local engine's export, byte for byte (issue 8 §3).

Every case exports the same pinned snapshot twice, with ``engine="local"`` and
``engine="ray"``, and compares the folders file by file: shard names, shard bytes (so every
sha256), ``manifest.json``, the ``wids`` indexes and ``ATTRIBUTION.md``. The manifest records
no engine (it describes content, and both engines write the same content); the audit log does.

Runs on the session's cluster (``ray_cluster`` in ``conftest.py``: a head and two 1-CPU worker
nodes); the CLI test reaches it through ``RAY_ADDRESS``, as a user points ``curata export`` at
a cluster.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import curata
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import webdataset as wds
from curata.errors import LicenseViolationError, UsageError
from curata.export import ExportFolderError, ExportOptionError, export_webdataset

from tests.export._tables import append_mix, append_repeats, content_table

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> curata.Catalog:
    return curata.connect(home=tmp_path_factory.mktemp("ray-export") / "home")


@pytest.fixture(scope="module")
def texts(catalog: curata.Catalog) -> curata.Snapshot:
    """600 records (text, label, JSON meta, split) in three files under three licenses."""
    return append_mix(catalog, content_table(600, images=None), "texts")


@pytest.fixture(scope="module")
def images(catalog: curata.Catalog) -> curata.Snapshot:
    """240 records with PNG and JPEG images besides the text columns."""
    return append_mix(catalog, content_table(240, images="mixed", seed=3), "images")


@pytest.fixture(scope="module")
def repeats(catalog: curata.Catalog) -> curata.Snapshot:
    return append_repeats(catalog)


def _numbered(ids: list[str]) -> list[str]:
    """Reference for sample keys: the n-th direct repeat of an _id gets ``-n``."""
    out, run = [], 0
    for i, key in enumerate(ids):
        run = run + 1 if i and key == ids[i - 1] else 0
        out.append(f"{key}-{run}" if run else key)
    return out


def _folder(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def _same_export(snap: curata.Snapshot, tmp_path: Path, **options) -> curata.export.ExportManifest:
    local = export_webdataset(snap, tmp_path / "local", **options)
    ray = export_webdataset(snap, tmp_path / "ray", engine="ray", **options)
    a, b = _folder(tmp_path / "local"), _folder(tmp_path / "ray")
    assert list(b) == list(a)  # same files: shards, wids indexes, ATTRIBUTION.md, manifest
    assert not [n for n in b if n.startswith(".")]  # no temp files left behind
    for name in a:
        assert b[name] == a[name], name
    assert ray.to_dict() == {**local.to_dict(), "out": str(tmp_path / "ray")}  # all but `out`
    assert ray.manifest_uri.endswith("/ray/manifest.json")
    assert [(s.name, s.sha256) for s in ray.shards] == [(s.name, s.sha256) for s in local.shards]
    for s in ray.shards:
        data = b[s.name]
        assert hashlib.sha256(data).hexdigest() == s.sha256 and len(data) == s.bytes
    return ray


def _read_back(folder: Path, m: curata.export.ExportManifest) -> list[dict]:
    samples = list(wds.WebDataset([str(folder / n) for n in m.shard_names()],
                                  shardshuffle=False, empty_check=False))
    assert len(samples) == m.num_samples
    return samples


@pytest.mark.parametrize("options", [
    {"shard_size": "20KB"},
    {"shard_count": 3},
    {"shuffle": True, "seed": 7, "shard_size": "30KB"},
    {"split_by": "split", "filter": "label < 4", "shard_size": "25KB"},
    {"shuffle": True, "split_by": "split", "shard_count": 2, "filter": pc.field("label") >= 1},
    {"columns": ["text", "label"], "shard_count": 50},
], ids=["size", "count", "shuffle", "split-filter", "shuffle-split-count-arrowfilter", "many"])
def test_text_export_matches_local(texts, tmp_path, ray_cluster, options) -> None:
    m = _same_export(texts, tmp_path, **options)
    assert len(m.shards) > 1
    samples = _read_back(tmp_path / "ray", m)
    rows = {r["_id"]: r for r in texts.to_arrow().to_pylist()}
    for sample in samples[:50]:
        row = rows[sample["__key__"]]
        assert sample["text.txt"].decode() == row["text"]
        assert json.loads(sample["json"])["_license"] == row["_license"]


@pytest.mark.parametrize("options", [
    {"shard_size": "64KB"},
    {"shuffle": True, "seed": 1, "split_by": "split", "shard_size": "40KB"},
], ids=["size", "shuffle-split"])
def test_image_export_matches_local(images, tmp_path, ray_cluster, options) -> None:
    m = _same_export(images, tmp_path, **options)
    assert len(m.shards) > 2
    rows = {r["_id"]: r for r in images.to_arrow().to_pylist()}
    for sample in _read_back(tmp_path / "ray", m):
        image = next(k for k in sample if k.startswith("image."))
        assert sample[image] == rows[sample["__key__"]]["image"]


@pytest.mark.parametrize("options", [
    {"shard_size": "20KB"}, {"shuffle": True, "seed": 3, "shard_size": "20KB"},
    {"shard_count": 7},
], ids=["size", "shuffle", "count"])
def test_repeated_records_and_pax_headers_match_local(repeats, tmp_path, ray_cluster,
                                                      options) -> None:
    m = _same_export(repeats, tmp_path, **options)
    keys = [s["__key__"] for s in _read_back(tmp_path / "ray", m)]
    assert all(a != b for a, b in zip(keys, keys[1:], strict=False))  # no two samples merge
    # every run of three is numbered through; in stored order one record's copies sit at the
    # start of one file and the end of the other (not adjacent), shuffled they all meet
    assert sum(k.endswith("-2") for k in keys) == (30 if options.get("shuffle") else 29)
    if not options.get("shuffle"):  # stored order: runs are numbered across the files
        assert keys == _numbered(repeats.to_arrow(columns=["_id"]).column(0).to_pylist())


def test_failed_task_leaves_no_manifest_and_no_shard(catalog, tmp_path, ray_cluster) -> None:
    """A data file whose ``text`` column is corrupt: the census (other columns) passes, the
    write task that reads it raises; the other tasks' shards never get their final names."""
    snap = append_mix(catalog, content_table(300, images=None, seed=9), "broken")
    path = Path(snap.table_uri) / snap.files()[-1]["path"]
    meta = pq.ParquetFile(path).metadata
    col = meta.row_group(0).column(meta.schema.names.index("text"))
    start = min(o for o in (col.dictionary_page_offset, col.data_page_offset) if o is not None)
    with open(path, "r+b") as f:
        f.seek(start)
        f.write(b"\xff" * col.total_compressed_size)
    out = tmp_path / "out"
    import ray

    with pytest.raises(ray.exceptions.RayError) as err:  # raised by a task, not the driver
        export_webdataset(snap, out, engine="ray", shard_count=6)
    assert "write_task" in str(err.value)  # the write stage; the scan read other columns
    left = [p.name for p in out.iterdir()]
    assert "manifest.json" not in left and not [n for n in left if n.endswith(".tar")]
    assert all(n.startswith(".") and n.endswith(".partial") for n in left)
    with pytest.raises(Exception):  # noqa: B017 - the local engine fails on the same file
        export_webdataset(snap, tmp_path / "local", shard_count=6)


def test_reexport_is_unchanged_across_engines(texts, catalog, tmp_path, ray_cluster) -> None:
    out = tmp_path / "out"
    seen: list[int] = []
    first = export_webdataset(texts, out, engine="ray", shard_size="50KB", shuffle=True,
                              progress=seen.append)
    assert first.status == "written"
    assert seen == sorted(seen) and seen[-1] == first.num_samples == 600
    before = _folder(out)
    again = export_webdataset(texts, out, engine="ray", shard_size="50KB", shuffle=True)
    assert again.status == "unchanged" and _folder(out) == before
    # the local engine recognises the Ray engine's export as its own, and back
    assert export_webdataset(texts, out, shard_size="50KB", shuffle=True).status == "unchanged"
    exports = [e.details for e in catalog.audit_log("texts")
               if e.action == "export" and e.details["out"] == str(out)]
    assert [e["engine"] for e in exports] == ["ray"]  # `unchanged` is not logged again


def test_license_gate_refuses_as_local(texts, tmp_path, ray_cluster) -> None:
    errors = []
    for engine in ("local", "ray"):
        with pytest.raises(LicenseViolationError) as err:
            export_webdataset(texts, tmp_path / engine, purpose="commercial", engine=engine)
        errors.append((err.value.violations, err.value.sources))
        assert not (tmp_path / engine).exists() or not list((tmp_path / engine).iterdir())
    assert errors[0] == errors[1]
    assert errors[0][0] == {"CC-BY-NC-4.0": 200, "unknown": 100}
    _same_export(texts, tmp_path, purpose="commercial", shard_count=2,
                 allow_license=["CC-BY-NC-4.0", "unknown"], reason="contract 42")


def _cli(catalog: curata.Catalog, *args: str, ray_address: str | None = None
         ) -> subprocess.CompletedProcess:
    env = {"CURATA_HOME": str(catalog.settings.home), "PATH": os.environ["PATH"],
           "HOME": str(catalog.settings.home), "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}
    if ray_address:  # what a user sets to reach a cluster: its address and, with Ray's token
        env["RAY_ADDRESS"] = ray_address  # auth, the token (a file here, as `ray start` makes)
        env.update({k: v for k, v in os.environ.items() if k.startswith("RAY_AUTH_")})
        token = Path.home() / ".ray" / "auth_token"
        if token.exists() and "RAY_AUTH_TOKEN" not in env:
            env.setdefault("RAY_AUTH_TOKEN_PATH", str(token))
    code = ("import sys; from curata_ingest.cli import app; from curata_ingest.cli._errors "
            "import run; sys.argv = ['curata', *sys.argv[1:]]; run(app)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=300)


def test_cli_engine_ray_json(texts, catalog, tmp_path, ray_cluster) -> None:
    local = export_webdataset(texts, tmp_path / "local", shard_size="40KB", split_by="split")
    res = _cli(catalog, "export", "texts@v1", "--out", str(tmp_path / "ray"), "--engine", "ray",
               "--shard-size", "40KB", "--split-by", "split", "--json",
               ray_address=ray_cluster.address)
    assert res.returncode == 0, res.stderr[-3000:]
    doc = json.loads(res.stdout)
    assert doc["status"] == "written"
    assert [(s["name"], s["sha256"]) for s in doc["shards"]] == [
        (s.name, s.sha256) for s in local.shards]
    assert (tmp_path / "ray" / "manifest.json").read_bytes() == (
        tmp_path / "local" / "manifest.json").read_bytes()


def test_cli_unknown_engine_is_usage_error(texts, catalog, tmp_path) -> None:
    res = _cli(catalog, "export", "texts@v1", "--out", str(tmp_path / "o"), "--engine", "spark")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "local" in res.stderr and "ray" in res.stderr


def test_engine_refusals(texts, tmp_path, monkeypatch) -> None:
    with pytest.raises(ExportOptionError) as err:
        export_webdataset(texts, tmp_path / "a", engine="spark")
    assert err.value.valid == ["local", "ray"] and isinstance(err.value, UsageError)
    with pytest.raises(UsageError, match="credentials"):  # secrets never go to the cluster
        export_webdataset(texts, tmp_path / "b", engine="ray",
                          storage_options={"key": "AKIA", "secret": "s3cr3t"})
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(UsageError, match=r"pip install 'curata-ingest\[ray\]'"):
        export_webdataset(texts, tmp_path / "c", engine="ray")
    assert not (tmp_path / "c").exists()


def test_ray_export_to_object_store(texts, tmp_path, ray_cluster, s3, monkeypatch) -> None:
    """Tasks write the shards straight into the bucket; the driver publishes them there.
    Credentials come from the environment only: the driver's here, the workers' from the
    cluster's ``runtime_env`` (``RAY_WORKER_ENV`` in conftest.py)."""
    from tests.scale.conftest import RAY_WORKER_ENV

    assert (s3.key, s3.secret) == (RAY_WORKER_ENV["AWS_ACCESS_KEY_ID"],
                                   RAY_WORKER_ENV["AWS_SECRET_ACCESS_KEY"])
    for k, v in RAY_WORKER_ENV.items():
        monkeypatch.setenv(k, v)
    bucket = s3.bucket("ray-export")
    options = {"client_kwargs": {"endpoint_url": s3.endpoint_url, "region_name": s3.region}}
    local = export_webdataset(texts, tmp_path / "local", shard_size="60KB", split_by="split")
    m = export_webdataset(texts, f"s3://{bucket}/texts", engine="ray", shard_size="60KB",
                          split_by="split", storage_options=options)
    fs = s3.filesystem()
    names = sorted(p.rsplit("/", 1)[1] for p in fs.ls(f"{bucket}/texts", refresh=True))
    assert names == sorted(p.name for p in (tmp_path / "local").iterdir())
    for name in names:
        assert fs.cat(f"{bucket}/texts/{name}") == (tmp_path / "local" / name).read_bytes(), name
    assert [s.sha256 for s in m.shards] == [s.sha256 for s in local.shards]
    again = export_webdataset(texts, f"s3://{bucket}/texts", engine="ray", shard_size="60KB",
                              split_by="split", storage_options=options)
    assert again.status == "unchanged"


def test_hostile_manifest_is_refused_as_locally(texts, tmp_path, ray_cluster) -> None:
    """An old manifest naming ``../victim/file``: refused before the cluster is used, nothing
    deleted or written (issue 24 item 1); a clean one still has its stale shards removed."""
    out = tmp_path / "out"
    export_webdataset(texts, out, engine="ray", shard_count=3)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "file").write_text("precious")
    doc = json.loads((out / "manifest.json").read_text())
    doc["shards"].append({"name": "../victim/file", "split": "", "samples": 1, "bytes": 8,
                          "sha256": "0"})
    (out / "manifest.json").write_text(json.dumps(doc))
    before = _folder(out)
    with pytest.raises(ExportFolderError) as err:
        export_webdataset(texts, out, engine="ray", shard_count=2)
    assert err.value.name == "../victim/file"
    assert (victim / "file").read_text() == "precious" and _folder(out) == before
    doc["shards"].pop()
    (out / "manifest.json").write_text(json.dumps(doc))
    m = export_webdataset(texts, out, engine="ray", shard_count=2)
    assert sorted(p.name for p in out.glob("*.tar")) == m.shard_names()
