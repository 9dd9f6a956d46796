"""``curata export`` end to end, through the real CLI entry point in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SCRIPT = """
import sys
from curata_ingest.cli import main
sys.argv = ["curata", *sys.argv[1:]]
main()
"""


@pytest.fixture
def cli(catalog, monkeypatch):
    def invoke(*args: str) -> subprocess.CompletedProcess:
        env = {"CURATA_HOME": str(catalog.settings.home), "PATH": "/usr/bin:/bin",
               "HOME": str(catalog.settings.home)}
        return subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True,
                              text=True, env=env)

    return invoke


def test_export_json_then_unchanged(snapshot, cli, tmp_path) -> None:
    out = str(tmp_path / "out")
    first = cli("export", "reviews@v1", "--format", "webdataset", "--out", out,
                "--shard-count", "3", "--columns", "text,label", "--json")
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["status"] == "written" and doc["num_samples"] == snapshot.num_rows
    assert [f["column"] for f in doc["fields"]] == ["text", "label"]
    again = cli("export", "reviews@v1", "--out", out, "--shard-count", "3",
                "--columns", "text", "--columns", "label", "--json")
    assert json.loads(again.stdout)["status"] == "unchanged"


def test_license_gate_exit_code_and_override(snapshot, cli, catalog, tmp_path) -> None:
    out = str(tmp_path / "out")
    refused = cli("export", "reviews@v1", "--out", out, "--purpose", "commercial", "--json")
    assert refused.returncode == 6
    err = json.loads(refused.stdout)
    assert err["error"] == "LicenseViolationError"
    assert err["violations"] == {"CC-BY-NC-4.0": 200, "unknown": 100}
    assert any("forum crawl" in s for s in err["sources"])
    ok = cli("export", "reviews@v1", "--out", out, "--purpose", "commercial",
             "--allow-license", "CC-BY-NC-4.0", "--allow-license", "unknown",
             "--reason", "contract 42")
    assert ok.returncode == 0, ok.stderr
    assert {e.details["license"] for e in catalog.audit_log("reviews")
            if e.action == "license_override"} == {"CC-BY-NC-4.0", "unknown"}


def test_bad_option_is_usage_error(snapshot, cli, tmp_path) -> None:
    res = cli("export", "reviews@v1", "--out", str(tmp_path / "o"), "--shard-size", "lots")
    assert res.returncode == 2 and "Traceback" not in res.stderr
