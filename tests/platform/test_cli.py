"""The `curata` CLI: --json for scripts, one-line errors with the next command, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

CURATA = [sys.executable, "-c", "from curata_ingest.cli import main; main()"]


def run(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "CURATA_HOME": str(home), **env}
    e.pop("CURATA_DEBUG", None) if "CURATA_DEBUG" not in env else None
    return subprocess.run([*CURATA, *args], capture_output=True, text=True, env=e, timeout=120)


@pytest.fixture
def filled(cat, home: Path) -> Path:
    cat.append("reviews", pa.table({"text": ["good", "bad", "ok"]}), license="CC-BY-4.0",
               source="upload")
    cat.append("reviews", pa.table({"text": ["new"]}), license="CC0-1.0", source="more")
    return home


def test_init_and_datasets_json(home: Path) -> None:
    r = run(["init", "--json"], home)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["home"] == str(home)
    r = run(["datasets", "--json"], home)
    assert json.loads(r.stdout) == {"datasets": []}


def test_versions_tag_show_verify_diff_gc(filled: Path) -> None:
    v = json.loads(run(["versions", "reviews", "--json"], filled).stdout)
    assert [x["version"] for x in v["versions"]] == [1, 0]
    t = json.loads(run(["tag", "reviews", "v1", "--version", "0", "--json"], filled).stdout)
    assert t["version"] == 0 and t["num_rows"] == 3
    s = json.loads(run(["show", "reviews@v1", "--json"], filled).stdout)
    assert s["fingerprint"] == t["fingerprint"] and len(s["head"]) == 3
    ok = run(["verify", "reviews@v1", "--json"], filled)
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    d = json.loads(run(["diff", "reviews@v1", "reviews", "--json"], filled).stdout)
    assert d["counts"] == {"added": 1, "removed": 0, "changed": 0}
    g = json.loads(run(["gc", "--dry-run", "--json"], filled).stdout)
    assert g["dry_run"] is True
    runs = json.loads(run(["runs", "reviews", "--json"], filled).stdout)["runs"]
    assert {r["status"] for r in runs} == {"committed"}


def test_errors_are_one_line_with_next_command_and_exit_code(filled: Path) -> None:
    r = run(["show", "reviews@nope"], filled)
    assert r.returncode == 3
    assert "Traceback" not in r.stderr
    assert "curata versions reviews" in r.stderr
    r = run(["tag", "reviews", "v1", "--version", "0"], filled)
    assert r.returncode == 0
    r = run(["tag", "reviews", "v1", "--version", "1", "--json"], filled)
    assert r.returncode == 5 and json.loads(r.stdout.splitlines()[0])["error"] == "TagExistsError"
    r = run(["show", "reviews@nope"], filled, CURATA_DEBUG="1")
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_verify_failure_exits_4(filled: Path) -> None:
    import curata

    snap = curata.connect(home=filled).snapshot("reviews")
    (Path(snap.table_uri) / snap.files()[0]["path"]).unlink()
    r = run(["verify", "reviews", "--json"], filled)
    assert r.returncode == 4 and json.loads(r.stdout)["ok"] is False


def test_help_documents_exit_codes(home: Path) -> None:
    r = run(["--help"], home)
    assert r.returncode == 0 and "Exit codes" in r.stdout
