"""Governance on a PostgreSQL catalog (the team setup), alongside the SQLite default."""

from __future__ import annotations

from datetime import UTC, datetime

import curata
import pytest
from curata.governance import (
    audit_entries,
    check_license,
    collect_facts,
    license_report,
    provenance_chain,
    render_bom,
)
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from tests.governance.conftest import build_scenario


@pytest.mark.postgres
def test_report_gate_audit_and_bom_on_postgres(pg_url, tmp_path):
    cat = curata.connect(
        home=tmp_path, catalog_url=pg_url, warehouse=str(tmp_path / "wh"), upgrade=True
    )
    try:
        sc = build_scenario(cat)
        report = license_report(cat.store, sc.raw, "commercial")
        assert report.verdict.violations == {"CC-BY-NC-4.0": 2}
        start = datetime.now(UTC)
        check_license(cat.store, sc.raw, "commercial", allow=["CC-BY-NC-4.0"], reason="contract 7")
        (entry,) = audit_entries(cat.store, "reviews", since=start)
        assert entry.action == "license.override" and entry.at.tzinfo is not None
        assert [d.ref for d in provenance_chain(cat.store, sc.derived)] == [sc.labeled.ref, sc.raw.ref]
        facts = collect_facts(cat.store, sc.labeled)
        assert (
            JsonStrictValidator(SchemaVersion.V1_6).validate_str(render_bom(facts, "cyclonedx"))
            is None
        )
    finally:
        cat.engine.dispose()
