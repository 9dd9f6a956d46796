"""The governance commands through Typer, against a real catalog (CURATA_HOME)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from curata.errors import LicenseViolationError
from curata.governance.bom import InvalidBomFormatError
from curata.governance.licenses import InvalidPurposeError
from curata.governance.report import OverrideReasonRequiredError
from curata_ingest.cli.governance import app
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture
def gov_home(scenario, monkeypatch):
    monkeypatch.setenv("CURATA_HOME", str(scenario.cat.settings.home))
    for var in ("CURATA_CATALOG_URL", "CURATA_WAREHOUSE"):
        monkeypatch.delenv(var, raising=False)
    return scenario


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_license_json_matches_the_library(gov_home):
    res = invoke("license", gov_home.raw.ref, "--purpose", "commercial", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["allowed"] is False
    assert data["verdict"]["violations"] == {"CC-BY-NC-4.0": 2}
    assert {(m["license"], m["records"]) for m in data["mix"]} == {
        ("CC-BY-4.0", 3),
        ("CC-BY-NC-4.0", 2),
    }
    assert {c["name"]: c["attribution"] for c in data["credits"]} == {
        "web-reviews": "Example Reviews Ltd.",
        "forum-dump": None,
    }
    research = json.loads(
        invoke("license", gov_home.raw.ref, "--purpose", "research", "--json").output
    )
    assert research["allowed"] is True


def test_license_text_output_and_check_mode(gov_home):
    res = invoke("license", gov_home.raw.ref)
    assert res.exit_code == 0, res.output
    res = invoke("license", gov_home.raw.ref, "--check")
    assert isinstance(res.exception, LicenseViolationError)
    assert res.exception.exit_code == 6
    res = invoke("license", gov_home.raw.ref, "--check", "--allow-license", "CC-BY-NC-4.0")
    assert isinstance(res.exception, OverrideReasonRequiredError)
    res = invoke(
        "license",
        gov_home.raw.ref,
        "--check",
        "--allow-license",
        "CC-BY-NC-4.0",
        "--reason",
        "separate agreement",
    )
    assert res.exit_code == 0, res.output
    audit = json.loads(
        invoke("audit", "--dataset", "reviews", "--action", "license", "--json").output
    )
    assert [a["details"]["reason"] for a in audit] == ["separate agreement"]
    assert isinstance(
        invoke("license", gov_home.raw.ref, "--purpose", "fun").exception, InvalidPurposeError
    )


def test_bom_command_writes_a_valid_cyclonedx(gov_home, tmp_path):
    out = tmp_path / "bom.json"
    res = invoke("bom", gov_home.labeled.ref, "--format", "cyclonedx", "--out", str(out), "--json")
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["path"] == str(out) and info["derived_from"] == 1
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(out.read_text()) is None
    for fmt in ("spdx", "datasheet", "croissant"):
        assert (
            invoke("bom", gov_home.labeled.ref, "-f", fmt, "-o", str(tmp_path / fmt)).exit_code == 0
        )
    res = invoke("bom", gov_home.labeled.ref, "--format", "xml", "--out", str(out))
    assert isinstance(res.exception, InvalidBomFormatError)


def test_audit_lists_tags_and_filters(gov_home):
    res = invoke("audit", "--json")
    assert res.exit_code == 0, res.output
    entries = json.loads(res.output)
    tags = [(e["dataset"], e["details"]["tag"]) for e in entries if e["action"] == "tag"]
    assert tags == [("reviews", "v1"), ("reviews", "labeled"), ("reviews-clean", "v1")]
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    only = json.loads(invoke("audit", "--dataset", "reviews-clean", "--json").output)
    assert {e["dataset"] for e in only} == {"reviews-clean"}
    newest = json.loads(invoke("audit", "--limit", "1", "--json").output)
    assert newest == entries[-1:]
    assert invoke("audit").exit_code == 0


def test_exit_codes_through_the_main_error_mapping(gov_home):
    """Through the CLI's own error handler: policy refusals exit 6, bad input exits 2."""
    code = (
        "import typer; from curata_ingest.cli._errors import run; "
        "from curata_ingest.cli import governance; "
        "app = typer.Typer(); governance.register(app); run(app)"
    )
    env = {**os.environ, "CURATA_HOME": str(gov_home.cat.settings.home)}
    env.pop("CURATA_DEBUG", None)

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    refused = cli("license", gov_home.raw.ref, "--check", "--json")
    assert refused.returncode == 6, refused.stderr
    assert json.loads(refused.stdout)["error"] == "LicenseViolationError"
    assert cli("license", gov_home.raw.ref, "--purpose", "fun").returncode == 2
