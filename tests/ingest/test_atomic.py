"""SIGKILL at several moments of an ingest leaves the previous version intact and loadable,
the interrupted run marked failed, and leftover files collectable by gc."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import curata
import pytest
from curata_ingest import ingest
from deltalake import DeltaTable

ROWS = 40_000
SCRIPT = textwrap.dedent("""
    import sys, time
    import curata_ingest.sources.jsonl as jsonl
    from curata_ingest import ingest
    jsonl.BLOCK_BYTES = 64 * 1024   # many small batches: many moments to be killed at
    rows = 0
    def progress(nbytes, nrows):
        global rows
        rows += nrows
        if nrows:
            print(rows, flush=True)
            time.sleep(0.02)
    ingest([sys.argv[1]], dataset="k", license="MIT", progress=progress)
    print("done", flush=True)
""")


@pytest.fixture
def big_corpus(tmp_path):
    path = tmp_path / "big.jsonl"
    with path.open("w") as fh:
        for i in range(ROWS):
            fh.write(json.dumps({"text": f"document {i} " + "lorem ipsum " * 8, "i": i}) + "\n")
    return str(path)


def _run_and_kill(corpus: str, kill_at: int) -> str:
    """Run the ingest in a subprocess; SIGKILL it once it reports ``kill_at`` rows read."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, corpus],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    last = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        last = line.strip()
        if last == "done" or int(last) >= kill_at:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return last


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [1, ROWS // 2, ROWS])
def test_sigkill_leaves_previous_version_intact(home, tmp_path, big_corpus, kill_at):
    seed = tmp_path / "seed.jsonl"
    seed.write_text('{"text": "seed", "i": -1}\n')
    cat = curata.connect()
    before = ingest([str(seed)], dataset="k", license="MIT", catalog=cat)
    last = _run_and_kill(big_corpus, kill_at)
    assert last != "done"
    cat = curata.connect()
    snap = cat.snapshot("k")
    assert snap.version == before.version and snap.fingerprint == before.fingerprint
    assert snap.to_arrow().num_rows == 1 and snap.verify().ok
    runs = cat.runs("k")
    assert runs[0].status == "failed" and runs[1].status == "committed"
    # A new run is not fooled into "unchanged" and commits everything once.
    report = ingest([big_corpus], dataset="k", license="MIT", catalog=cat)
    assert report.status == "committed" and report.rows_written == ROWS
    assert cat.snapshot("k").num_rows == ROWS + 1 and cat.snapshot("k").verify().ok
    # Files the killed run wrote but never committed are collected by gc; committed ones stay.
    root = Path(cat.table_uri("k"))
    cat.gc(dry_run=False, dataset="k", retention_hours=0)  # the killed run is not running
    on_disk = {p.resolve() for p in root.rglob("*.parquet")}
    assert on_disk == {
        Path(u.removeprefix("file://")).resolve() for u in DeltaTable(str(root)).file_uris()
    }
    assert cat.snapshot("k").to_arrow().num_rows == ROWS + 1 and cat.snapshot("k").verify().ok


RACE = textwrap.dedent("""
    import sys
    from curata_ingest import ingest
    r = ingest([sys.argv[1]], dataset="race", license="MIT")
    print(r.status, r.version, r.rows_written, flush=True)
""")


def test_two_ingests_racing_to_create_a_dataset_both_commit(tmp_path, home):
    """Both runs write their shards, then race to create the table: the loser appends."""
    corpora = []
    for k in range(2):
        path = tmp_path / f"c{k}.jsonl"
        path.write_text("".join(json.dumps({"k": k, "i": i}) + "\n" for i in range(20_000)))
        corpora.append(str(path))
    curata.connect().engine.dispose()  # the catalog exists before the writers start
    procs = [subprocess.Popen([sys.executable, "-c", RACE, c], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ})
             for c in corpora]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outs]
    results = sorted(out.split() for out, _ in outs)
    assert [r[0] for r in results] == ["committed", "committed"]
    assert sorted(int(r[1]) for r in results) == [0, 1]
    snap = curata.connect().snapshot("race")
    assert snap.num_rows == 40_000 and snap.verify().ok
