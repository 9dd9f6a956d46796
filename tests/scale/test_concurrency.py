"""Several processes writing one dataset at once, and tags racing the writes (issue 8 §2).

Writers are separate OS processes against a PostgreSQL catalog and a local or S3 warehouse.
Every append either lands as its own version or fails with ``CommitConflictError`` leaving
nothing behind; afterwards row counts, versions, fingerprints and tags all reconcile.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import curata
import pyarrow as pa
import pyarrow.compute as pc
import pytest

ROOT = Path(__file__).resolve().parents[2]
WRITERS, APPENDS, ROWS = 3, 3, 50

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.scale._worker", *args], cwd=ROOT,
                            env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _collect(procs: list[subprocess.Popen[str]]) -> list[dict]:
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr[-3000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def test_parallel_appends_and_tags_reconcile(team) -> None:
    cat = curata.connect()
    base = cat.append("shared", pa.table({"worker": [-1], "batch": [-1], "row": [0]}),
                      license="CC0-1.0", source="seed")
    procs = [_spawn("append", "shared", str(w), str(APPENDS), str(ROWS)) for w in range(WRITERS)]
    procs.append(_spawn("tag", "shared", "race", "4"))
    results = _collect(procs)
    writers, tagger = results[:WRITERS], results[WRITERS]

    commits = [c for r in writers for c in r["committed"]]
    conflicts = sum(r["conflicts"] for r in writers)
    assert len(commits) + conflicts == WRITERS * APPENDS
    versions = sorted(c["version"] for c in commits)
    assert len(set(versions)) == len(versions), "two appends reported the same version"

    latest = cat.snapshot("shared")
    assert latest.version == base.version + len(commits)  # nothing else, nothing partial
    assert latest.num_rows == 1 + ROWS * len(commits)
    table = latest.to_arrow(columns=["worker", "batch", "_id"])
    assert pc.count_distinct(table.column("_id")).as_py() == table.num_rows
    landed = {(c["worker"], c["batch"]) for c in _with_worker(writers)}
    got = set(zip(table.column("worker").to_pylist(), table.column("batch").to_pylist(),
                  strict=True))
    assert got - {(-1, -1)} == landed

    _check_versions(cat, "shared")
    _check_tags(cat, tagger["tags"])
    runs = cat.runs("shared")
    assert not [r for r in runs if r.status == "running"]
    assert sorted(r.version for r in runs if r.status == "committed") == \
        sorted([base.version, *versions])


def _with_worker(writers: list[dict]) -> list[dict]:
    return [{**c, "worker": r["worker"]} for r in writers for c in r["committed"]]


def _check_versions(cat: curata.Catalog, dataset: str) -> None:
    """Every version's recorded fingerprint is what its stored files give (verify)."""
    infos = cat.versions(dataset)
    assert [v.version for v in infos] == list(range(len(infos)))[::-1]
    for v in infos:
        report = cat.snapshot(f"{dataset}@{v.version}").verify()
        assert report.ok, (report.problems, _record(cat, dataset, v.version), infos)
    from curata.store.models import DataFile
    from sqlalchemy import func, select

    with cat.store.session() as s:  # every file recorded once despite concurrent recorders
        n = s.scalar(select(func.count()).select_from(DataFile))
        distinct = s.scalar(select(func.count(func.distinct(DataFile.path))))
    assert n == distinct == len(cat.snapshot(dataset).files())


def _check_tags(cat: curata.Catalog, tags: list[dict]) -> None:
    for t in tags:
        snap = cat.snapshot(f"shared@{t['tag']}")
        assert (snap.version, snap.fingerprint) == (t["version"], t["fingerprint"])
        assert snap.fingerprint == cat.snapshot(f"shared@{t['version']}").fingerprint
        assert snap.verify().ok


def _record(cat: curata.Catalog, dataset: str, version: int) -> dict:
    r = cat.store.version_record(dataset, version)
    assert r is not None
    return {"operation": r.operation, "run_id": r.run_id, "num_rows": r.num_rows}
