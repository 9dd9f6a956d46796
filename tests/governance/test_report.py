"""License reports, the license gate and the provenance chain against a real catalog."""

from __future__ import annotations

import pytest
from curata.errors import LicenseViolationError
from curata.governance.audit import audit_entries
from curata.governance.provenance import provenance_chain
from curata.governance.report import (
    OverrideReasonRequiredError,
    check_license,
    license_report,
)


def test_license_report_mix_counts_and_credits(scenario):
    cat, snap = scenario.cat, scenario.raw
    report = license_report(cat.store, cat.snapshot(snap.ref), "commercial")
    # Oracle: the same counts straight from the Arrow table.
    table = snap.to_arrow(columns=["_license", "_source"])
    expected = {}
    for lic, src in zip(table["_license"].to_pylist(), table["_source"].to_pylist(), strict=True):
        expected[(lic, src)] = expected.get((lic, src), 0) + 1
    assert {(m.license, m.source): m.records for m in report.mix} == expected
    assert report.total_records == snap.num_rows == 5
    assert {m.source_name for m in report.mix} == {"web-reviews", "forum-dump"}
    assert not report.allowed
    assert report.verdict.violations == {"CC-BY-NC-4.0": 2}
    credits = {c.name: c for c in report.credits}
    assert credits["web-reviews"].attribution == "Example Reviews Ltd."
    assert credits["web-reviews"].licenses == ("CC-BY-4.0",)
    assert credits["forum-dump"].attribution is None  # required but never recorded: a gap
    assert license_report(cat.store, snap, "research").allowed


def test_report_reads_the_pinned_version(scenario):
    cat = scenario.cat
    before = license_report(cat.store, scenario.raw, "research")
    cat.append(
        "reviews",
        __import__("pyarrow").table({"text": ["new"], "stars": [3]}),
        license="unknown",
        source="mystery",
    )
    after = license_report(cat.store, cat.snapshot(scenario.raw.ref), "research")
    assert after.mix == before.mix and after.allowed
    latest = license_report(cat.store, cat.snapshot("reviews"), "research")
    assert not latest.allowed and latest.verdict.violations == {"unknown": 1}


def test_gate_refuses_with_structured_error(scenario):
    with pytest.raises(LicenseViolationError) as err:
        check_license(scenario.cat.store, scenario.raw, "commercial")
    assert err.value.violations == {"CC-BY-NC-4.0": 2}
    assert err.value.sources == ["forum-dump"]
    assert err.value.purpose == "commercial"
    assert err.value.exit_code == 6


def test_gate_override_needs_reason_and_is_audited(scenario):
    cat, snap = scenario.cat, scenario.raw
    with pytest.raises(OverrideReasonRequiredError):
        check_license(cat.store, snap, "commercial", allow=["CC-BY-NC-4.0"])
    assert not audit_entries(cat.store, "reviews", actions=["license"])
    report = check_license(
        cat.store, snap, "commercial", allow=["CC-BY-NC-4.0"], reason="licensed separately, contract 42"
    )
    assert report.allowed and report.verdict.overridden == {"CC-BY-NC-4.0": 2}
    (entry,) = audit_entries(cat.store, "reviews", actions=["license"])
    assert entry.action == "license.override"
    assert entry.details["fingerprint"] == snap.fingerprint
    assert entry.details["overridden"] == {"CC-BY-NC-4.0": 2}
    assert entry.details["reason"] == "licensed separately, contract 42"
    # A clean pass records nothing.
    check_license(cat.store, snap, "research")
    assert len(audit_entries(cat.store, "reviews", actions=["license"])) == 1


def test_provenance_chain_follows_ancestors(scenario):
    chain = provenance_chain(scenario.cat.store, scenario.derived)
    assert [(d.depth, d.ref, d.kind) for d in chain] == [
        (1, scenario.labeled.ref, "filter"),
        (2, scenario.raw.ref, "labels"),
    ]
    assert chain[0].fingerprint == scenario.labeled.fingerprint
    assert chain[1].details == {
        "label_project": 12,
        "schema_version": 3,
        "adjudication": "majority",
        "columns": ["sentiment"],
    }
    assert provenance_chain(scenario.cat.store, scenario.raw) == ()


def test_record_derivation_is_additive_idempotent_and_audited(scenario):
    import pyarrow as pa
    from curata.errors import UsageError
    from curata.governance.provenance import derivation, record_derivation

    cat = scenario.cat
    snap = cat.append("copy", pa.table({"x": [1]}), license="CC0-1.0", source="s")
    entry = derivation(scenario.raw, "copy", note="sample")
    assert record_derivation(cat.store, snap, [entry]) == (entry,)
    assert record_derivation(cat.store, snap, [entry]) == ()  # already there: not repeated
    label_project = derivation("label-studio:project/12", "label-project", schema_version=3)
    record_derivation(cat.store, snap, [label_project])
    chain = provenance_chain(cat.store, snap)
    assert [(d.ref, d.kind) for d in chain] == [
        (scenario.raw.ref, "copy"),
        ("label-studio:project/12", "label-project"),
    ]
    assert cat.snapshot("copy").fingerprint == snap.fingerprint  # data untouched
    logged = audit_entries(cat.store, "copy", actions=["provenance"])
    assert [len(e.details["entries"]) for e in logged] == [1, 1]
    with pytest.raises(UsageError):
        record_derivation(cat.store, snap, [{"kind": "copy"}])
