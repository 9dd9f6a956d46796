"""Ctrl-C and SIGTERM cancel: the command stops within about a second, commits nothing, marks
its run `cancelled`, says so in one line and exits 130 (issue: ingest and CLI robustness, 1).

Each case runs the real `curata` CLI in a subprocess and signals it at a chosen moment: while
it reads and writes, just before the commit, and during the commit (which then completes).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import curata
import pytest

pytestmark = pytest.mark.slow

# The CLI, with an optional hook run first: PATCH names a function to wrap so that the
# process signals itself at that moment (the signal is then delivered as from outside).
_RUNNER = """
import os, signal, sys, time
hook = os.environ.get("CURATA_TEST_SIGNAL_AT")
if hook:
    import importlib
    module, _, name = hook.rpartition(".")
    owner, _, attr = module.rpartition(":") if ":" in module else (module, "", "")
    mod = importlib.import_module(owner)
    target = getattr(mod, attr) if attr else mod
    original = getattr(target, name)
    sig = getattr(signal, os.environ.get("CURATA_TEST_SIGNAL", "SIGINT"))
    def wrapped(*args, _original=original, **kwargs):
        if os.environ.get("CURATA_TEST_SIGNAL_AFTER"):
            result = _original(*args, **kwargs)
            os.kill(os.getpid(), sig)
            time.sleep(0.2)
            return result
        os.kill(os.getpid(), sig)
        time.sleep(0.2)
        return _original(*args, **kwargs)
    setattr(target, name, wrapped)
from curata_ingest.cli import main
main()
"""


def _corpus(path: Path, mb: int) -> str:
    line = json.dumps({"text": "x" * 200, "n": 0})
    per = len(line) + 1
    with path.open("w") as f:
        for i in range(mb * 1_000_000 // per):
            f.write(json.dumps({"text": f"{i} " + "x" * 200, "n": i}) + "\n")
    return str(path)


def _start(home: Path, args: list[str], **env: str) -> subprocess.Popen[str]:
    e = {**os.environ, "CURATA_HOME": str(home), **env}
    e.pop("CURATA_DEBUG", None)
    return subprocess.Popen([sys.executable, "-c", _RUNNER, *args], env=e, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_running(home: Path, dataset: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            cat = curata.connect(home=home)
            runs = cat.runs(dataset)
            cat.engine.dispose()
            if runs and runs[0].status == "running":
                return
        except curata.errors.CurataError:
            pass
        time.sleep(0.1)
    raise AssertionError("the ingest never started")


def _state(home: Path, dataset: str) -> tuple[list[str], list[int]]:
    cat = curata.connect(home=home)
    statuses = [r.status for r in cat.runs(dataset)]
    try:
        versions = [v.version for v in cat.versions(dataset)]
    except curata.errors.CurataError:
        versions = []
    cat.engine.dispose()
    return statuses, versions


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _corpus(tmp_path_factory.mktemp("cancel") / "big.jsonl", 150)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_while_reading_cancels_within_a_second(tmp_path: Path, big: str, sig) -> None:
    home = tmp_path / "h"
    proc = _start(home, ["ingest", big, "-d", "big", "-l", "MIT", "--shard-size", "8MB"])
    _wait_running(home, "big")
    time.sleep(0.3)  # well inside reading and writing shards (the run takes several seconds)
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "cancelled: nothing was committed"
    assert took < 3.0, f"took {took:.2f} s to stop"  # about a second; the machine is shared
    statuses, versions = _state(home, "big")
    assert statuses == ["cancelled"] and versions == []
    # nothing left behind for the table: the staged shard files were deleted
    table = home / "warehouse" / "big" / "records"
    assert not table.exists() or not list(table.glob("*.parquet"))


def test_signal_just_before_the_commit_commits_nothing(tmp_path: Path) -> None:
    home = tmp_path / "h"
    small = _corpus(tmp_path / "small.jsonl", 2)
    ok = _start(home, ["ingest", small, "-d", "d", "-l", "MIT", "--json"])
    assert ok.wait(timeout=120) == 0
    more = _corpus(tmp_path / "more.jsonl", 3)
    # ShardWriter.close returns once every shard is written: the next step is the commit.
    proc = _start(home, ["ingest", more, "-d", "d", "-l", "MIT", "--source-name", "more",
                         "--json"],
                  CURATA_TEST_SIGNAL_AT="curata.write.shards:ShardWriter.close",
                  CURATA_TEST_SIGNAL_AFTER="1")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert json.loads(out.strip().splitlines()[-1])["status"] == "cancelled"
    statuses, versions = _state(home, "d")
    assert statuses == ["cancelled", "committed"] and versions == [0]


def test_signal_during_the_commit_lets_it_complete(tmp_path: Path) -> None:
    home = tmp_path / "h"
    small = _corpus(tmp_path / "small.jsonl", 2)
    proc = _start(home, ["ingest", small, "-d", "d", "-l", "MIT"],
                  CURATA_TEST_SIGNAL_AT="curata_ingest.run.commit_files")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "the new version is committed" in err.strip().splitlines()[-1]
    statuses, versions = _state(home, "d")
    assert statuses == ["committed"] and versions == [0]
    cat = curata.connect(home=home)
    assert cat.snapshot("d").verify().ok
    cat.engine.dispose()


def _filled(tmp_path: Path, big: str) -> Path:
    home = tmp_path / "h"
    proc = _start(home, ["ingest", big, "-d", "big", "-l", "MIT", "--json"])
    assert proc.wait(timeout=300) == 0
    return home


def test_signal_during_derive_and_export_cancels(tmp_path: Path, big: str) -> None:
    home = _filled(tmp_path, big)
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("steps:\n  - filter: \"n % 2 = 0\"\n  - dedup: {}\n")
    proc = _start(home, ["derive", "big", "--pipeline", str(pipeline), "--into", "even"])
    _wait_running(home, "even")
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "cancelled: nothing was committed"
    statuses, versions = _state(home, "even")
    assert statuses == ["cancelled"] and versions == []

    out = tmp_path / "shards"
    proc = _start(home, ["export", "big", "--out", str(out), "--shard-size", "16MB"])
    deadline = time.monotonic() + 60
    while not (out.exists() and any(out.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.05)  # the first staged shard is being written
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "cancelled: nothing was committed"
    assert not out.exists() or list(out.iterdir()) == []  # staged shards discarded
