"""A worker node killed mid-run: the Ray engines retry its task elsewhere and the result is
the local engine's, byte for byte (issue 22 item 1).

Both engines run plain Ray tasks with ``max_retries=3`` (``MAX_RETRIES`` in
``curata_ingest.engines.ray`` and ``curata.export.ray``), and a task whose node dies is a
*system* failure, which Ray retries on a live node; the driver, on the head node, keeps
the run's state and commits (ingest) or publishes (export) only once every task returned.
So the behaviour asserted here is **retried and committed**, not "failed with nothing
committed": the run must end exactly as the same run on the local engine does (same
snapshot fingerprint and rows, same rejects; same shard bytes and manifest), with nothing
of the killed attempt in it.

How the kill lands on a running task (``tests/scale/_gate.py``): the task stops at a gate on
disk (a JSON Lines source that waits before reading one file; an export filter that waits
on the batch holding one row) after recording its node id and pid. The test kills that node
(``LocalCluster.kill_worker``: raylet, object store and workers, no grace), checks the
task's process is gone, and only then opens the gate, so the retry runs through and the
killed attempt can never resume. The killed ingest attempt has already written the shards of
the file before the gated one: they stay in the table folder, referenced by no commit, for
``curata gc``.

Each test replaces the killed node (``add_worker``), so later tests of the session find the
usual head and two 1-CPU worker nodes.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import curata
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.export._tables import content_table
from tests.fixtures._services import require_module
from tests.scale._cluster import LocalCluster
from tests.scale._gate import Gate, GatedJsonl, gated_filter, ship

ray = require_module("ray", "uv sync --all-packages (the curata-ingest[ray] extra)")
from curata.export import export_webdataset  # noqa: E402
from curata_ingest.engines.ray import make_tasks  # noqa: E402
from curata_ingest.pipeline import ingest  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

WORKERS = 2
FILES, ROWS = 16, 500


@pytest.fixture
def cluster(ray_cluster: LocalCluster) -> Iterator[LocalCluster]:
    """The session's cluster; a worker node killed by the test is replaced afterwards, and
    the replacement warmed up: a node with a worker process of this driver ready takes all
    the tasks of a small run before a cold one has started its first, and later tests
    (``test_ray.py``, ``test_ray_near.py``) expect their tasks on both worker nodes."""
    ship()
    assert len(ray_cluster.workers) == WORKERS
    yield ray_cluster
    while len(ray_cluster.workers) < WORKERS:
        _warm(ray_cluster.add_worker().node_id)
    deadline = time.monotonic() + 60
    while _alive_workers() != WORKERS:  # the dead node has left the cluster's view
        assert time.monotonic() < deadline, ray.nodes()
        time.sleep(0.5)


def _warm(node_id: str) -> None:
    """Run the engines' warm-up task on ``node_id``: its worker process stays, imports done."""
    from curata_ingest.engines.ray import warm_task
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    pinned = NodeAffinitySchedulingStrategy(node_id, soft=False)
    ray.get(ray.remote(warm_task).options(num_cpus=1, scheduling_strategy=pinned).remote(),
            timeout=120)


def _alive_workers() -> int:
    return sum(1 for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) > 0)


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie left by a killed raylet is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Killer(threading.Thread):
    """Waits for the gate's ``number``-th arrival (and for ``ready()`` to return something
    true, kept as ``.ready``), kills that task's worker node, waits for the task's process to
    be gone and opens the gate (also on any error, so the run never waits forever)."""

    def __init__(self, cluster: LocalCluster, gate: Gate, number: int,
                 ready: Callable[[], Any] = lambda: True) -> None:
        super().__init__(daemon=True)
        self.cluster, self.gate, self.number, self._ready = cluster, gate, number, ready
        self.arrival: dict[str, Any] | None = None
        self.ready: Any = None
        self.error: BaseException | None = None
        self.seconds = self.killed_at = 0.0

    def run(self) -> None:
        try:
            self.arrival = self.gate.wait_for(self.number, timeout=150)
            deadline = time.monotonic() + 60
            while not (ready := self._ready()):
                assert time.monotonic() < deadline, "the gated task did not get ready"
                time.sleep(0.1)
            self.ready = ready
            node = next(n for n in self.cluster.workers if n.node_id == self.arrival["node"])
            t0, self.killed_at = time.perf_counter(), time.time()
            self.cluster.kill_worker(node)
            deadline = time.monotonic() + 30
            while _running(self.arrival["pid"]):
                assert time.monotonic() < deadline, "the killed node's task still runs"
                time.sleep(0.05)
            self.seconds = time.perf_counter() - t0
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.gate.release()

    def result(self) -> dict[str, Any]:
        self.join(timeout=200)
        assert not self.is_alive()
        if self.error is not None:
            raise self.error
        assert self.arrival is not None
        return self.arrival


def _assert_retried_elsewhere(cluster: LocalCluster, gate: Gate, killed: dict[str, Any],
                              number: int) -> None:
    """The gated task arrived once more after the kill, on a live node, in a new process."""
    arrivals = gate.arrivals()
    assert [a["number"] for a in arrivals] == list(range(1, number + 2)), arrivals
    retry = arrivals[number]
    assert retry["what"] == killed["what"]
    assert retry["node"] != killed["node"] and retry["pid"] != killed["pid"]
    # (the killed node may still count as alive: Ray's health check has not missed enough
    # heartbeats yet when the retry has already finished)
    assert retry["node"] in {n.node_id for n in cluster.workers}


# --- ingest ---------------------------------------------------------------------------------

WORDS = [f"w{i:03d}x" for i in range(800)]


def _corpus(root: Path) -> Path:
    """16 JSON Lines files of ~100 KB: rows repeated within a file and from the file before
    (so fix-up tasks run after the node loss) and one bad line."""
    rng = random.Random(7)
    root.mkdir()
    before: list[str] = []
    for f in range(FILES):
        lines = [f'{{"text": "doc {f}-{i} {" ".join(rng.choices(WORDS, k=28))}", "n": {i}}}'
                 for i in range(ROWS)]
        body = lines + before[:25] + lines[:5] + (["{oops"] if f == 9 else [])
        (root / f"f{f:02d}.jsonl").write_text("\n".join(body) + "\n")
        before = lines
    return root


def _ingest(cat: curata.Catalog, src: Path, gate: Gate, gated: str, engine: str) -> Any:
    return ingest(GatedJsonl(str(src), gate=gate, gated=gated), dataset="corpus",
                  license="CC-BY-4.0", catalog=cat, engine=engine, run_id=f"{engine}-1",
                  shard_size=4096)


def _rows(snap: Any) -> list[dict[str, Any]]:
    return sorted(snap.to_arrow(columns=["_id", "text", "n"]).to_pylist(), key=lambda r: r["_id"])


def _texts(path: Path) -> pa.ChunkedArray | None:
    try:
        return pq.read_table(path, columns=["text"]).column(0)
    except (OSError, pa.ArrowInvalid):  # still being written: no footer yet
        return None


def _shards_of(folder: Path, prefix: str) -> list[str]:
    """The complete Parquet files in ``folder`` holding rows whose text starts with
    ``prefix`` (the rows of one input file)."""
    out = []
    for path in folder.glob("*.parquet"):
        texts = _texts(path)
        if texts is not None and pc.any(pc.starts_with(texts, prefix)).as_py():
            out.append(path.name)
    return sorted(out)


def test_ingest_retries_the_killed_nodes_task(tmp_path: Path, cluster: LocalCluster) -> None:
    """Ingest retries the task of a killed node and commits the local engine's snapshot;
    the shards the killed attempt wrote are in no commit."""
    src = _corpus(tmp_path / "src")
    gate = Gate.make(tmp_path / "gate")
    # The input tasks of this run (as `_RayRun` makes them for two task slots): the gate
    # holds the second file of the third; the node is killed once the first one's rows
    # are in shards.
    states: Any = [SimpleNamespace(source=GatedJsonl(str(src), gate=gate, gated=""))]
    tasks = make_tasks(states, WORKERS)
    files = [Path(f).name for f in tasks[2].source.files()]
    assert len(tasks) == 8 and len(files) == 2
    gated, first = files[1], f"doc {int(files[0][1:3])}-"
    local_cat, ray_cat = (curata.connect(home=tmp_path / n) for n in ("local", "ray"))
    local = _ingest(local_cat, src, gate, gated, "local")  # the driver never waits at the gate
    assert gate.arrivals() == []

    folder = Path(ray_cat.table_uri("corpus"))
    killer = Killer(cluster, gate, 1, ready=lambda: _shards_of(folder, first))
    killer.start()
    t0 = time.time()
    report = _ingest(ray_cat, src, gate, gated, "ray")
    seconds = time.time() - t0
    killed = killer.result()
    _assert_retried_elsewhere(cluster, gate, killed, 1)
    assert killed["what"].endswith(gated)

    assert report.status == local.status == "committed"
    assert report.fingerprint == local.fingerprint
    for attr in ("rows_read", "rows_written", "duplicates", "rejected", "reject_reasons"):
        assert getattr(report, attr) == getattr(local, attr), attr
    assert local.rows_written == FILES * ROWS and local.duplicates == FILES * 30 - 25
    snap = ray_cat.snapshot("corpus")
    assert snap.version == 0 and snap.fingerprint == local_cat.snapshot("corpus").fingerprint
    assert _rows(snap) == _rows(local_cat.snapshot("corpus"))
    assert snap.verify().ok
    keep = ["reason", "source", "locator"]
    assert (sorted(ray_cat.rejects("corpus").select(keep).to_pylist(), key=str)
            == sorted(local_cat.rejects("corpus").select(keep).to_pylist(), key=str))
    assert [r.status for r in ray_cat.runs("corpus")] == ["committed"]

    # The killed attempt's shards (rows of its first file only): in the folder, in no
    # commit, and what `curata gc` collects.
    referenced = {f["path"] for f in snap.files()}
    orphans = {p.name for p in folder.glob("*.parquet")} - referenced
    assert referenced <= {p.name for p in folder.glob("*.parquet")}
    assert set(killer.ready) <= orphans
    lines = (src / files[0]).read_text().splitlines()
    for name in orphans:
        texts = _texts(folder / name)
        assert texts is None or set(texts.to_pylist()) <= {json.loads(x)["text"] for x in lines}
    gc = ray_cat.gc(dry_run=True, retention_hours=0)
    assert {Path(p).name for p in gc.files.get("corpus/records", [])} == orphans
    print(f"ingest: node killed {killer.killed_at - t0:.1f} s into the run, gone in "
          f"{killer.seconds:.1f} s, run {seconds:.1f} s, {len(orphans)} orphan shard(s)")


# --- export ---------------------------------------------------------------------------------

EXPORT_ROWS = 1000  # per file: ~5 MB of tar


def _folder(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_export_retries_the_killed_nodes_task(tmp_path: Path, cluster: LocalCluster) -> None:
    """A write task's node dies halfway through its shard: the task writes the shard again
    on a live node and the published export is the local engine's, byte for byte."""
    cat = curata.connect(home=tmp_path / "home")
    table = content_table(4 * EXPORT_ROWS, images=None, seed=4)
    for i in range(4):  # four files; two shards, one write task each
        cat.append("texts", table.slice(EXPORT_ROWS * i, EXPORT_ROWS), license="CC-BY-4.0",
                   source=f"s{i}")
    snap = cat.snapshot("texts")
    # The first shard's write task reads the first file into its shard (~5 MB: the tar
    # writer has flushed 4 MiB of it to the temporary file), then waits on the batch of the
    # second file. Arrival 1 is the scan task of that file, 2 the write task (killed), 3 its
    # retry.
    text = snap.to_arrow(columns=["text"]).column(0)[EXPORT_ROWS + 5].as_py()
    gate = Gate.make(tmp_path / "gate", block_from=2)
    options = {"shard_count": 2, "filter": gated_filter(gate, "text", text)}
    local = export_webdataset(snap, tmp_path / "local", **options)
    assert gate.arrivals() == []

    out = tmp_path / "ray"

    def half_written() -> list[tuple[str, int]]:
        return [(p.name, p.stat().st_size) for p in out.glob(".texts-000000.tar.*.partial")
                if p.stat().st_size]

    killer = Killer(cluster, gate, 2, ready=half_written)
    killer.start()
    t0 = time.time()
    m = export_webdataset(snap, out, engine="ray", **options)
    seconds = time.time() - t0
    killed = killer.result()
    _assert_retried_elsewhere(cluster, gate, killed, 2)
    assert gate.arrivals()[0]["what"] == killed["what"] == f"batch of {EXPORT_ROWS} rows"

    assert m.status == local.status == "written" and m.num_samples == 4 * EXPORT_ROWS
    a, b = _folder(tmp_path / "local"), _folder(out)
    assert list(b) == list(a)  # shards, wids indexes, ATTRIBUTION.md, manifest; no temp file
    for name in a:
        assert b[name] == a[name], name
    assert m.to_dict() == {**local.to_dict(), "out": str(out)}
    assert [s.samples for s in m.shards] == [2 * EXPORT_ROWS] * 2
    assert 0 < killer.ready[0][1] < m.shards[0].bytes  # the killed attempt's part of shard 0
    print(f"export: node killed {killer.killed_at - t0:.1f} s into the run, gone in "
          f"{killer.seconds:.1f} s, run {seconds:.1f} s, shard 0 had {killer.ready[0][1]} "
          f"of {m.shards[0].bytes} bytes")
