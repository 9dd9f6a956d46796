"""Two writers with different schemas cannot both commit (issue: hostile input and faults,
item 3): the commit re-checks the schema it was made for (optimistic concurrency); the loser
commits nothing. `verify` checks every file's schema against its version's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import curata
import pyarrow as pa
import pytest

from tests.ingest._helpers import PAUSED_RUNNER

pytestmark = pytest.mark.slow


def _start(home: Path, tmp: Path, name: str, rows: list[dict]) -> tuple[subprocess.Popen, Path]:
    src = tmp / f"{name}.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    paused = tmp / f"paused-{name}"
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSED_RUNNER, "ingest", str(src), "-d", "shared", "-l", "MIT",
         "--json", "--source-name", name],
        env={**os.environ, "CURATA_HOME": str(home), "PAUSED": str(paused),
             "GO": str(tmp / "go")}, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc, paused


def test_two_writers_with_different_schemas_one_commits(tmp_path: Path) -> None:
    home = tmp_path / "h"
    a, pa_ = _start(home, tmp_path, "a", [{"text": f"t{i}", "n": i} for i in range(3000)])
    b, pb = _start(home, tmp_path, "b", [{"text": i, "other": f"o{i}"} for i in range(3000)])
    deadline = time.monotonic() + 180
    while not (pa_.exists() and pb.exists()):  # both wrote their shards, neither committed
        if a.poll() is not None or b.poll() is not None or time.monotonic() > deadline:
            (tmp_path / "go").touch()  # never leave the other one waiting
            raise AssertionError([p.communicate(timeout=180) for p in (a, b)])
        time.sleep(0.05)
    (tmp_path / "go").touch()
    results = sorted([(p.wait(timeout=180), p) for p in (a, b)], key=lambda x: x[0])
    (ok, winner), (code, loser) = results
    assert ok == 0 and code == 5, [p.communicate() for p in (a, b)]
    err = json.loads(loser.communicate()[0])["error"]
    assert err["error"] == "CommitConflictError" and "nothing was committed" in err["message"]
    cat = curata.connect(home=home)
    snap = cat.snapshot("shared")
    assert [v.version for v in cat.versions("shared")] == [0] and snap.num_rows == 3000
    assert snap.verify().ok
    statuses = sorted(r.status for r in cat.runs("shared"))
    assert statuses == ["committed", "failed"]
    cat.engine.dispose()


def test_verify_checks_each_files_schema(tmp_path: Path) -> None:
    """A file of another schema slipped into a version (what the race once committed)."""
    import pyarrow.parquet as pq
    from deltalake import DeltaTable

    cat = curata.connect(home=tmp_path / "h")
    snap = cat.append("d", pa.table({"text": ["a", "b"], "n": [1, 2]}), license="MIT",
                      source="s")
    root = Path(snap.table_uri)
    bad = pa.table({"_id": ["x"], "_source": ["s"], "_license": ["MIT"],
                    "text": pa.array([7], pa.int64()), "other": ["o"]})
    pq.write_table(bad, root / "part-foreign.parquet")
    dt = DeltaTable(str(root))
    from deltalake.transaction import AddAction

    dt.create_write_transaction([AddAction(
        path="part-foreign.parquet", size=(root / "part-foreign.parquet").stat().st_size,
        partition_values={}, modification_time=0, data_change=True,
        stats=json.dumps({"numRecords": 1}))], mode="append", schema=dt.schema())
    # The catalog never recorded version 1 (nothing of Curata's committed it): verify it as
    # a snapshot value pinned to that version.
    from curata.snapshot import Snapshot

    report = Snapshot(dataset="d", version=1, fingerprint="0" * 64, num_rows=3,
                      table_uri=snap.table_uri, store=cat.store).verify()
    assert not report.ok
    assert any("column 'text' is int64" in p for p in report.problems)
    assert any("column 'other' is not in the table schema" in p for p in report.problems)
    cat.engine.dispose()
