"""Every error is one clear line with the right exit code (issue: ingest robustness 5, hostile
input and faults 10), through the real CLI in a subprocess."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import curata
import pyarrow as pa
import pytest
import zstandard
from curata.errors import SnapshotDataError

pytestmark = pytest.mark.slow


def run(home: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CURATA_HOME": str(home)}
    env.pop("CURATA_DEBUG", None)
    return subprocess.run([sys.executable, "-c", "from curata_ingest.cli import main; main()",
                           *args], capture_output=True, text=True, env=env, timeout=300,
                          cwd=cwd)


def _one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, stderr  # one line, no traceback
    return lines[0]


def _jsonl(n: int) -> bytes:
    return b"".join(json.dumps({"t": "x" * 80, "i": i}).encode() + b"\n" for i in range(n))


@pytest.mark.parametrize("suffix", ["gz", "zst"])
def test_truncated_compressed_input_names_the_file_and_offset(tmp_path, suffix):
    data = _jsonl(50_000)
    packed = gzip.compress(data) if suffix == "gz" else zstandard.ZstdCompressor().compress(data)
    path = tmp_path / f"cut.jsonl.{suffix}"
    path.write_bytes(packed[: len(packed) // 2])
    r = run(tmp_path / "h", "ingest", str(path), "-d", "d", "-l", "MIT")
    assert r.returncode == 2
    line = _one_line(r.stderr)
    assert str(path) in line and "compressed byte" in line and "nothing was committed" in line
    r = run(tmp_path / "h", "ingest", str(path), "-d", "d", "-l", "MIT", "--json")
    err = json.loads(r.stdout.splitlines()[0])["error"]
    assert err["error"] == "CorruptInputError" and err["offset"] > 0
    cat = curata.connect(home=tmp_path / "h")
    assert cat.datasets() == []
    cat.engine.dispose()


def test_missing_sqlite_database_is_not_found_and_never_created(tmp_path):
    db = tmp_path / "missing.db"
    r = run(tmp_path / "h", "ingest", f"sqlite:///{db}#table=t", "-d", "d", "-l", "MIT")
    assert r.returncode == 3, r.stderr
    assert "no SQLite database" in _one_line(r.stderr)
    assert not db.exists()


def test_derive_step_error_is_exit_2(tmp_path):
    home = tmp_path / "h"
    cat = curata.connect(home=home)
    cat.append("d", pa.table({"t": ["a", "b"]}), license="MIT", source="s")
    cat.engine.dispose()
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text('steps:\n  - filter: "no_such_column > 1"\n')
    r = run(home, "derive", "d", "--pipeline", str(pipeline), "--into", "e")
    assert r.returncode == 2, r.stderr
    assert "no_such_column" in _one_line(r.stderr)


def test_usage_errors_print_json_under_json(tmp_path):
    r = run(tmp_path / "h", "datasets", "--no-such-option", "--json")
    assert r.returncode == 2
    assert json.loads(r.stdout)["error"] == "UsageError"
    assert "--no-such-option" in _one_line(r.stderr)


@pytest.fixture
def broken(tmp_path: Path) -> tuple[Path, str]:
    """A tagged snapshot one of whose Parquet files was deleted behind Curata's back."""
    home = tmp_path / "h"
    cat = curata.connect(home=home)
    cat.append("d", pa.table({"t": [f"r{i}" for i in range(20)]}), license="MIT", source="a")
    cat.append("d", pa.table({"t": ["late"]}), license="MIT", source="b")
    cat.tag("d", "v1")
    victim = sorted(Path(cat.table_uri("d")).glob("*.parquet"))[0]
    cat.engine.dispose()
    victim.unlink()
    return home, victim.name


def test_reading_a_snapshot_with_a_missing_file_is_an_integrity_error(broken):
    home, name = broken
    cat = curata.connect(home=home)
    with pytest.raises(SnapshotDataError) as info:
        cat.snapshot("d@v1").to_arrow()
    assert info.value.exit_code == 4 and name in str(info.value)
    assert "curata verify d@v1" in info.value.hint
    cat.engine.dispose()


@pytest.mark.parametrize("args", [
    ["export", "d@v1", "--out", "{tmp}/shards"],
    ["diff", "d@v1", "d"],
    ["bom", "d@v1", "--format", "cyclonedx", "--out", "{tmp}/bom.json"],
    ["license", "d@v1", "--purpose", "research"],
])
def test_commands_on_a_missing_file_exit_4_naming_verify(broken, tmp_path, args):
    home, name = broken
    r = run(home, *[a.format(tmp=tmp_path) for a in args])
    assert r.returncode == 4, r.stdout + r.stderr
    line = _one_line(r.stderr)
    assert "curata verify d@v1" in line
