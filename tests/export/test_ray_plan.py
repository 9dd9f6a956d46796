"""The Ray export engine's scan, plan and write steps, run in this process (no cluster).

``tests/scale/test_ray_export.py`` runs the same steps as Ray tasks on a local cluster; here
they run as plain functions so that a plan that disagrees with the local engine shows up in
the fast suite, shard by shard.
"""

from __future__ import annotations

import itertools
import random
import tarfile
import uuid

import fsspec
import numpy as np
import pyarrow as pa
import pytest
from curata.export import export_webdataset
from curata.export.options import build_options
from curata.export.publish import Staging
from curata.export.ray import make_job, plan_shards, scan_file, write_pieces, write_tasks
from curata.export.samples import plan_fields
from curata.export.selection import Selection

from tests.export._tables import append_mix, append_repeats

CASES = [
    {"shard_size": "20KB"},
    {"shard_count": 4},
    {"shuffle": True, "seed": 3, "shard_size": "30KB"},
    {"split_by": "split", "filter": "label < 3", "shard_size": "25KB"},
    {"split_by": "split", "shuffle": True, "shard_count": 3},
]


def _plan(snapshot, out, options, files=3):
    opts = build_options(name=snapshot.dataset, shard_size=options.get("shard_size"),
                         shard_count=options.get("shard_count"), columns=None,
                         filter=options.get("filter"), shuffle=options.get("shuffle", False),
                         seed=options.get("seed", 0), split_by=options.get("split_by"),
                         purpose=None, allow_license=(), reason=None)
    fields = plan_fields(snapshot.schema, None)
    selection = Selection(snapshot, opts, options.get("filter"), [f.column for f in fields])
    census = selection.census()
    fs, root = fsspec.core.url_to_fs(str(out))
    staging = Staging(fs, root, token=uuid.uuid4().hex[:12])
    job, entries, _ = make_job(snapshot, selection, fields, opts, filter=options.get("filter"),
                               staging=staging, storage_options=None)
    scans = [scan_file(job, f, entry) for f, entry in enumerate(entries)]
    assert len(entries) == files  # one per append: runs and repeats are stitched across files
    return job, entries, scans, plan_shards(scans, opts, census), staging


@pytest.mark.parametrize("options", CASES)
def test_plan_is_the_local_engines_sharding(snapshot, tmp_path, options) -> None:
    local = export_webdataset(snapshot, tmp_path / "local", **options)
    *_, plans, _ = _plan(snapshot, tmp_path / "plan", options)
    by_size = "shard_size" in options
    assert sorted((p.split, p.name, p.samples, p.bytes) for p in plans) == [
        (s.split, s.name, s.samples, s.bytes if by_size else None) for s in local.shards]


@pytest.mark.parametrize("options", [c for c in CASES if not c.get("shuffle")])
def test_write_tasks_write_the_local_bytes(snapshot, tmp_path, options) -> None:
    local = export_webdataset(snapshot, tmp_path / "local", **options)
    job, entries, scans, plans, staging = _plan(snapshot, tmp_path / "tasks", options)
    offsets = np.cumsum([0] + [s.num_rows for s in scans])
    tasks = write_tasks(plans, entries, offsets, 3, shuffle=False)
    assert 1 < len(tasks) < len(plans)  # several shards per task
    written = sorted((r for t in tasks for r in write_pieces(job, t)),
                     key=lambda r: (r["split"], r["name"]))
    assert written == [s.to_dict() for s in local.shards]
    for s in local.shards:
        temp = tmp_path / "tasks" / f".{s.name}.{staging.token}.partial"
        assert temp.read_bytes() == (tmp_path / "local" / s.name).read_bytes()


@pytest.fixture
def varied(catalog):
    """Rows of very different sizes (text of 0 to 3,000 bytes), so that shards end at every
    possible distance from a tar record boundary."""
    rng = random.Random(11)
    table = pa.table({"text": ["".join(rng.choices("abcdefgh ", k=rng.randrange(3000)))
                               for _ in range(300)],
                      "label": [rng.randrange(3) for _ in range(300)]})
    return append_mix(catalog, table, "varied")


def test_size_boundaries_match_across_shard_sizes(varied, tmp_path) -> None:
    """A plan off by one tar block at a shard's end would differ here."""
    for i, size in enumerate([10240, 12000, 15000, 20480, 25000, 33333, 40960, 65536]):
        options = {"shard_size": size, "shuffle": bool(i % 2)}
        local = export_webdataset(varied, tmp_path / f"local-{i}", **options)
        *_, plans, _ = _plan(varied, tmp_path / f"plan-{i}", options)
        assert [(p.name, p.samples, p.bytes) for p in plans] == [
            (s.name, s.samples, s.bytes) for s in local.shards], size


@pytest.mark.parametrize("options", [  # sizes where a plan ignoring the suffix cuts elsewhere
    {"shard_size": 31_480}, {"shard_size": 55_480}, {"shard_count": 7},
    {"shard_size": 55_480, "shuffle": True},
])
def test_repeated_records_and_pax_headers(catalog, tmp_path, options) -> None:
    """Key numbering across files, and the PAX header sizes it changes, planned exactly."""
    snap = append_repeats(catalog)
    local = export_webdataset(snap, tmp_path / "local", **options)
    job, entries, scans, plans, staging = _plan(snap, tmp_path / "tasks", options, files=2)
    by_size = "shard_size" in options
    assert [(p.name, p.samples, p.bytes) for p in plans] == [
        (s.name, s.samples, s.bytes if by_size else None) for s in local.shards]
    first_runs = []
    for s in local.shards:  # the repeat number of each shard's first key, as written
        with tarfile.open(tmp_path / "local" / s.name) as tar:
            key = tar.next().name.split(".", 1)[0]
        first_runs.append(int(key.rsplit("-", 1)[1]) if "-" in key else 0)
    assert [p.first_run for p in plans] == first_runs
    if not options.get("shuffle"):  # one task per shard: each starts from the plan's state
        offsets = np.cumsum([0] + [s.num_rows for s in scans])
        tasks = write_tasks(plans, entries, offsets, 10 * len(plans), shuffle=False)
        assert len(tasks) == len(plans)
        written = [r for t in tasks for r in write_pieces(job, t)]
        assert written == [s.to_dict() for s in local.shards]


def test_local_key_numbering_continues_across_files(catalog, tmp_path) -> None:
    """The local engine numbers a run of repeats through a file (batch) boundary."""
    snap = append_repeats(catalog)
    m = export_webdataset(snap, tmp_path, shard_count=1)
    with tarfile.open(tmp_path / m.shards[0].name) as tar:
        keys = [k for k, _ in itertools.groupby(n.split(".", 1)[0] for n in tar.getnames())]
    ids = snap.to_arrow(columns=["_id"]).column(0).to_pylist()
    expected, run = [], 0
    for i, key in enumerate(ids):
        run = run + 1 if i and key == ids[i - 1] else 0
        expected.append(f"{key}-{run}" if run else key)
    assert keys == expected and sum(k.endswith("-2") for k in keys) == 29
