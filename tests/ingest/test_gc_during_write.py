"""`gc` during a write never removes what the write will commit (issue: hostile input and
faults, item 2). A write whose files are gone anyway fails before its commit.

The ingest runs in a real subprocess that pauses right before its commit (its shards are
written, no commit references them yet) until the test lets it go.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import curata
import pytest

pytestmark = pytest.mark.slow

_PAUSED = """
import os, time
import curata_ingest.pipeline as p
original = p.commit_files
def paused(*args, **kwargs):
    open(os.environ["PAUSED"], "w").close()
    while not os.path.exists(os.environ["GO"]):
        time.sleep(0.05)
    return original(*args, **kwargs)
p.commit_files = paused
from curata_ingest.cli import main
main()
"""


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from curata_ingest.cli import main; main()",
                           *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CURATA_HOME": str(home)})


def _paused_ingest(home: Path, tmp_path: Path, src: Path) -> tuple[subprocess.Popen[str], Path]:
    paused, go = tmp_path / "paused", tmp_path / "go"
    proc = subprocess.Popen(
        [sys.executable, "-c", _PAUSED, "ingest", str(src), "-d", "d", "-l", "MIT", "--json",
         "--source-name", "second"],
        env={**os.environ, "CURATA_HOME": str(home), "PAUSED": str(paused), "GO": str(go)},
        text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not paused.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the ingest never reached its commit"
        time.sleep(0.05)
    return proc, go


def _corpus(path: Path, start: int, n: int) -> Path:
    path.write_text("".join(json.dumps({"t": f"doc {i}", "i": i}) + "\n"
                            for i in range(start, start + n)))
    return path


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    home = tmp_path / "h"
    assert _cli(home, "ingest", str(_corpus(tmp_path / "a.jsonl", 0, 100)), "-d", "d", "-l",
                "MIT").returncode == 0
    return home


def test_gc_during_an_ingest_keeps_its_files(seeded: Path, tmp_path: Path) -> None:
    proc, go = _paused_ingest(seeded, tmp_path, _corpus(tmp_path / "b.jsonl", 100, 5000))
    staged = {p.name for p in (seeded / "warehouse" / "d" / "records").glob("*.parquet")}
    for extra in ([], ["--retention-hours", "0"]):  # not even an explicit zero retention
        r = _cli(seeded, "gc", "--json", *extra)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["count"] == 0
    go.touch()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert json.loads(out)["status"] == "committed"
    assert {p.name for p in (seeded / "warehouse" / "d" / "records").glob("*.parquet")} == staged
    cat = curata.connect(home=seeded)
    assert cat.snapshot("d").num_rows == 5100 and cat.snapshot("d").verify().ok
    assert [d.name for d in cat.datasets()] == ["d"]
    cat.engine.dispose()


def test_a_write_whose_files_vanished_fails_before_committing(seeded: Path,
                                                              tmp_path: Path) -> None:
    before = {p.name for p in (seeded / "warehouse" / "d" / "records").glob("*.parquet")}
    proc, go = _paused_ingest(seeded, tmp_path, _corpus(tmp_path / "b.jsonl", 100, 5000))
    for p in (seeded / "warehouse" / "d" / "records").glob("*.parquet"):
        if p.name not in before:
            p.unlink()  # what a careless `rm` or an old gc did
    go.touch()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 7, err
    assert json.loads(out)["error"]["error"] == "StorageError"
    cat = curata.connect(home=seeded)
    assert [v.version for v in cat.versions("d")] == [0]
    assert [r.status for r in cat.runs("d")] == ["failed", "committed"]
    assert cat.snapshot("d").verify().ok
    cat.engine.dispose()
