"""Faults get the documented exit code and one clear line (issue: hostile input and faults,
item 10): an unreachable catalog or object store, a read-only warehouse, a damaged, empty or
newer catalog. Each case runs the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import curata
import pyarrow as pa
import pytest

pytestmark = pytest.mark.slow


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "CURATA_HOME": str(home), **env}
    for k in ("CURATA_DEBUG", "CURATA_CATALOG_URL", "CURATA_WAREHOUSE"):
        if k not in env:
            e.pop(k, None)
    return subprocess.run([sys.executable, "-c", "from curata_ingest.cli import main; main()",
                           *args], capture_output=True, text=True, env=e, timeout=300)


def one_line(r: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    home = tmp_path / "h"
    cat = curata.connect(home=home)
    cat.append("d", pa.table({"t": [f"r{i}" for i in range(300)]}), license="MIT", source="s")
    cat.engine.dispose()
    return home


def test_unreachable_postgres_is_exit_7_naming_it(tmp_path):
    url = "postgresql+psycopg://curata:secret@127.0.0.1:1/catalog"
    r = run(tmp_path / "h", "datasets", CURATA_CATALOG_URL=url)
    assert r.returncode == 7
    line = one_line(r)
    assert "127.0.0.1" in line and "secret" not in line


def test_unreachable_s3_endpoint_is_exit_7_naming_it(filled):
    r = run(filled, "datasets", CURATA_WAREHOUSE="s3://bucket/wh",
            AWS_ENDPOINT_URL="http://127.0.0.1:1", AWS_ACCESS_KEY_ID="k",
            AWS_SECRET_ACCESS_KEY="s", AWS_REGION="us-east-1", AWS_ALLOW_HTTP="true")
    assert r.returncode == 7
    line = one_line(r)
    assert "s3://bucket/wh/d" in line and "http://127.0.0.1:1" in line


def test_read_only_warehouse_is_exit_7_naming_the_path(tmp_path):
    if not os.path.isdir("/sys/fs"):
        pytest.skip("no read-only /sys on this machine")
    src = tmp_path / "a.jsonl"
    src.write_text('{"a": 1}\n')
    r = run(tmp_path / "h", "ingest", str(src), "-d", "x", "-l", "MIT",
            CURATA_WAREHOUSE="/sys/fs/curata-warehouse")
    assert r.returncode == 7
    assert "/sys/fs/curata-warehouse" in one_line(r)


def test_truncated_catalog_is_exit_7_naming_the_file(filled):
    db = filled / "catalog.db"
    data = db.read_bytes()
    db.write_bytes(data[:2048])  # the header survives, the pages do not
    r = run(filled, "datasets")
    assert r.returncode == 7
    assert "catalog.db" in one_line(r)


def test_empty_catalog_file_is_an_error_never_recreated(filled, tmp_path):
    """A zero-byte catalog.db was silently made a new, empty catalog: the next ingest wrote
    the same 300 rows into the warehouse a second time."""
    db = filled / "catalog.db"
    db.write_bytes(b"")
    src = tmp_path / "a.jsonl"
    src.write_text("".join(json.dumps({"t": f"r{i}"}) + "\n" for i in range(300)))
    for args in (["datasets"], ["ingest", str(src), "-d", "d", "-l", "MIT"]):
        r = run(filled, *args)
        assert r.returncode == 7
        assert "empty (0 bytes)" in one_line(r)
    assert db.stat().st_size == 0


def test_catalog_from_a_newer_curata_is_exit_5(filled):
    with sqlite3.connect(filled / "catalog.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    r = run(filled, "datasets", "--json")
    assert r.returncode == 5
    assert "Upgrade Curata" in one_line(r)
    assert json.loads(r.stdout)["error"] == "CatalogTooNewError"
