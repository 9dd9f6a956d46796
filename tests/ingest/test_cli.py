"""The `ingest` and `rejects` commands through Typer's runner and as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import typer
from curata_ingest.cli.ingest import ingest, parse_size, rejects
from typer.testing import CliRunner

app = typer.Typer()
app.command("ingest")(ingest)
app.command("rejects")(rejects)
runner = CliRunner()


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "a"}\n{"text": "b"}\n{"text": "a"}\nbroken\n')
    return str(path)


def test_json_report(home, corpus):
    result = runner.invoke(app, ["ingest", corpus, "--dataset", "c", "--license", "MIT", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {
        k: out[k]
        for k in (
            "status",
            "dataset",
            "version",
            "rows_read",
            "rows_written",
            "duplicates",
            "rejected",
        )
    } == {
        "status": "committed",
        "dataset": "c",
        "version": 0,
        "rows_read": 4,
        "rows_written": 2,
        "duplicates": 1,
        "rejected": 1,
    }
    assert len(out["fingerprint"]) == 64
    again = json.loads(
        runner.invoke(app, ["ingest", corpus, "-d", "c", "-l", "MIT", "--json"]).stdout
    )
    assert again["status"] == "unchanged" and again["version"] == 0


def test_failures_exit_with_codes_and_json(home, corpus, tmp_path):
    result = runner.invoke(app, ["ingest", corpus, "-d", "c", "-l", "CC-BY-40", "--json"])
    assert result.exit_code == 2
    out = json.loads(result.stdout.splitlines()[0])
    assert out["status"] == "failed" and out["error"]["error"] == "LicenseError"
    assert "CC-BY-4.0" in out["error"]["suggestions"]
    result = runner.invoke(
        app, ["ingest", corpus, "-d", "c", "-l", "MIT", "--max-reject-ratio", "0.1", "--json"]
    )
    assert result.exit_code == 6 and json.loads(result.stdout.splitlines()[0])["status"] == "failed"
    # A missing file is "not found" (3) and a format Curata cannot read is bad input (2), as
    # the README documents (it was a generic external error, 7).
    result = runner.invoke(app, ["ingest", "/no/such/file.jsonl", "-d", "c", "-l", "MIT"])
    assert result.exit_code == 3
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "blob").write_bytes(b"\x00\x01 not any format")
    result = runner.invoke(app, ["ingest", str(odd), "-d", "c", "-l", "MIT", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout.splitlines()[0])["error"]["error"] == "UnsupportedFormatError"


def test_rejects_command(home, corpus):
    runner.invoke(app, ["ingest", corpus, "-d", "c", "-l", "MIT", "--quiet"])
    out = json.loads(runner.invoke(app, ["rejects", "c", "--json"]).stdout)
    assert out["total"] == 1 and out["rejects"][0]["reason"] == "malformed_json"
    assert (
        out["rejects"][0]["locator"].endswith("c.jsonl:4") and out["rejects"][0]["raw"] == "broken"
    )
    assert "malformed_json" in runner.invoke(app, ["rejects", "c"]).stdout


def test_parse_size():
    assert parse_size("128MB") == 128_000_000 and parse_size("64MiB") == 64 * 2**20
    assert parse_size("1000") == 1000 and parse_size("1.5k") == 1500


def test_subprocess_is_quiet_in_a_pipe(home, corpus):
    code = (
        "import sys; from curata_ingest.cli.ingest import ingest_main; "
        "sys.argv = ['ingest'] + sys.argv[1:]; ingest_main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, corpus, "-d", "p", "-l", "MIT"],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "━" not in proc.stderr and "committed" in proc.stdout


def test_register_adds_commands_to_an_app(home, corpus):
    from curata_ingest.cli.ingest import register

    curata_app = typer.Typer()
    register(curata_app)

    @curata_app.command()
    def noop() -> None:  # a second command so Typer keeps sub-command names
        pass

    result = runner.invoke(curata_app, ["ingest", corpus, "-d", "r", "-l", "MIT", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "committed"
