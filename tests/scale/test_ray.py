"""The Ray Data engine gives the local engine's snapshot, byte for byte (issue 8 §3).

A local Ray cluster with 2 CPUs is started once for the session (``ray_cluster`` in
``conftest.py``, shared with ``test_ray_export.py``). Run ids and retrieval times differ
between the engines' runs: the snapshot fingerprint is content-defined (curata-fp-2).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import curata
import pyarrow as pa
import pytest

from tests.fixtures._services import require_module

# Under `uv run` Ray would ship the whole working tree (.venv included) to its workers; the
# flag is read when Ray is imported.
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
ray = require_module("ray", "uv sync --all-packages (the curata-ingest[ray] extra)")
from curata_ingest.pipeline import ingest  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(ray_cluster) -> None:
    """The session's cluster: a head and two 1-CPU worker nodes."""


def _corpus(root: Path) -> Path:
    """Three JSONL files: duplicates within and across files, a bad line, a bad type."""
    root.mkdir()
    rows = [{"text": f"doc {i % 40}", "n": i % 40} for i in range(60)]
    (root / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows[:30]) + "\n")
    # The bad line is longer than the raw bytes a reject keeps: it must say it was truncated.
    (root / "b.jsonl").write_text("\n".join(json.dumps(r) for r in rows[30:])
                                  + "\n{oops" + "x" * 70_000 + "\n")
    (root / "c.jsonl").write_text(json.dumps({"text": "typed", "n": "not a number"}) + "\n"
                                  + json.dumps({"text": "doc 1", "n": 1}) + "\n")
    return root


def _cat(tmp: Path, name: str) -> curata.Catalog:
    return curata.connect(home=tmp / name)


def _run(cat: curata.Catalog, src: Path, engine: str, run: str) -> object:
    return ingest([str(src)], dataset="corpus", license="CC-BY-4.0", catalog=cat,
                  engine=engine, run_id=f"{engine}-{run}", shard_size=4096)


def test_ray_engine_matches_local(tmp_path: Path, cluster: None) -> None:
    src = _corpus(tmp_path / "src")
    local, distributed = _cat(tmp_path, "local"), _cat(tmp_path, "ray")
    a = _run(local, src, "local", "run-1")
    b = _run(distributed, src, "ray", "run-1")
    assert b.status == a.status == "committed"
    assert b.fingerprint == a.fingerprint
    for attr in ("rows_read", "rows_written", "duplicates", "rejected", "reject_reasons"):
        assert getattr(b, attr) == getattr(a, attr), attr
    assert a.rows_written == 40 and a.duplicates > 0 and a.rejected == 2
    assert distributed.snapshot("corpus").verify().ok
    run = distributed.runs("corpus")[0]
    assert run.stats["engine"] == "ray" and run.stats["ray_nodes"] == 2  # both worker nodes
    keep = ["reason", "source", "locator", "raw", "raw_truncated"]
    rows_of = [sorted(cat.rejects("corpus").select(keep).to_pylist(), key=lambda r: r["locator"])
               for cat in (local, distributed)]
    assert rows_of[0] == rows_of[1]
    assert [r["raw_truncated"] for r in rows_of[0]].count(True) == 1

    # A second run dedups against the dataset in both engines alike.
    more = tmp_path / "more"
    more.mkdir()
    (more / "d.jsonl").write_text("\n".join(json.dumps({"text": f"doc {i}", "n": i})
                                            for i in range(35, 50)) + "\n")
    a2 = _run(local, more, "local", "run-2")
    b2 = _run(distributed, more, "ray", "run-2")
    assert (b2.rows_written, b2.duplicates) == (a2.rows_written, a2.duplicates) == (10, 5)
    assert b2.fingerprint == a2.fingerprint
    assert distributed.snapshot("corpus").verify().ok


def test_to_ray_reads_the_pinned_version(tmp_path: Path, cluster: None) -> None:
    cat = _cat(tmp_path, "h")
    first = cat.append("t", pa.table({"x": list(range(100))}), license="CC0-1.0", source="s")
    cat.tag("t", "v1")
    cat.append("t", pa.table({"x": list(range(100, 150))}), license="CC0-1.0", source="s")
    pinned = cat.snapshot("t@v1")
    ds = pinned.to_ray()
    assert isinstance(ds, ray.data.Dataset)
    assert ds.count() == first.num_rows == 100
    got = pa.concat_tables([pa.table(b) for b in ds.iter_batches(batch_format="pyarrow")])
    expected = pinned.to_arrow().column("_id").to_pylist()
    assert sorted(got.column("_id").to_pylist()) == sorted(expected)
    assert pinned.to_ray(columns=["x"]).schema().names == ["x"]


def test_engine_refusals_commit_nothing(tmp_path: Path) -> None:
    from curata.errors import DatasetNotFoundError, SnapshotNotFoundError, UsageError

    src = _corpus(tmp_path / "src")
    cat = _cat(tmp_path, "h")
    with pytest.raises(UsageError):
        ingest([str(src)], dataset="corpus", license="CC0-1.0", catalog=cat, engine="spark")
    with pytest.raises(UsageError):  # near dedup needs a text column: refused before the run
        ingest([str(src)], dataset="corpus", license="CC0-1.0", catalog=cat, engine="ray",
               dedup="near", text_column="missing")
    with pytest.raises((DatasetNotFoundError, SnapshotNotFoundError)):
        cat.snapshot("corpus")
