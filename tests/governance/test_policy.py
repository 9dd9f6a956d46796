"""License policy evaluation: SPDX operators, purposes, obligations, conflicts, overrides."""

from __future__ import annotations

import json

import pytest
from curata.errors import LicenseError, UsageError
from curata.governance import (
    KNOWN_LICENSES,
    InvalidPurposeError,
    LicenseVerdict,
    evaluate,
    license_info,
)
from hypothesis import given, settings
from hypothesis import strategies as st

IDS = sorted(KNOWN_LICENSES)
ids = st.sampled_from(IDS + ["LicenseRef-acme"])
purposes = st.sampled_from(["commercial", "research", "internal"])


def permitted(expression: str, purpose: str, **kw) -> bool:
    return evaluate({expression: 1}, purpose, **kw).allowed


def test_nc_blocks_commercial_only_for_those_records():
    v = evaluate({"CC-BY-4.0": 10, "CC-BY-NC-4.0": 2}, "commercial")
    assert isinstance(v, LicenseVerdict)
    assert not v.allowed
    assert v.violations == {"CC-BY-NC-4.0": 2}
    assert v.total_records == 12
    assert evaluate({"CC-BY-4.0": 10, "CC-BY-NC-4.0": 2}, "research").allowed


def test_unknown_and_missing_licenses_are_refused_for_every_purpose():
    for purpose in ("commercial", "research", "internal"):
        v = evaluate({None: 3, "unknown": 1, "": 2}, purpose)
        assert not v.allowed
        assert sum(v.violations.values()) == 6


def test_or_picks_the_branch_that_permits_with_the_lightest_terms():
    v = evaluate({"CC-BY-NC-4.0 OR CC-BY-SA-4.0": 4}, "commercial")
    assert v.allowed
    (e,) = v.expressions
    assert e.applied == ("CC-BY-SA-4.0",)
    assert v.share_alike == {"CC-BY-SA-4.0": 4}
    assert v.binding_license == "CC-BY-SA-4.0"
    # For research both branches permit; the one without share-alike is lighter.
    r = evaluate({"CC-BY-NC-4.0 OR CC-BY-SA-4.0": 4}, "research")
    assert r.expressions[0].applied == ("CC-BY-NC-4.0",)
    assert r.share_alike == {}
    assert evaluate({"MIT OR GPL-3.0-only": 1}, "commercial").expressions[0].applied == ("MIT",)


def test_and_needs_every_part_and_collects_all_terms():
    v = evaluate({"CC-BY-4.0 AND CC-BY-NC-4.0": 5}, "commercial")
    assert not v.allowed
    assert v.expressions[0].blocking == ("CC-BY-NC-4.0",)
    r = evaluate({"MIT AND CC-BY-SA-4.0": 5}, "commercial")
    assert r.allowed
    assert set(r.attribution) == {"MIT", "CC-BY-SA-4.0"}
    assert r.share_alike == {"CC-BY-SA-4.0": 5}


def test_with_keeps_the_base_license_terms_and_reports_the_exception():
    v = evaluate({"GPL-3.0-only WITH Classpath-exception-2.0": 2}, "commercial")
    assert v.allowed
    (e,) = v.expressions
    assert e.applied == ("GPL-3.0-only",)
    assert e.exceptions == ("Classpath-exception-2.0",)
    assert v.share_alike == {"GPL-3.0-only": 2}


def test_conflict_share_alike_and_non_commercial():
    v = evaluate({"CC-BY-SA-4.0": 3, "CC-BY-NC-4.0": 2}, "research")
    assert v.allowed  # both may be used for research ...
    assert not v.releasable  # ... but not released together under one license
    (c,) = v.conflicts
    assert c.kind == "non-commercial"
    assert set(c.licenses) == {"CC-BY-SA-4.0", "CC-BY-NC-4.0"}
    assert c.records == 5


def test_conflict_between_share_alike_families():
    v = evaluate({"CC-BY-SA-4.0": 1, "ODbL-1.0": 1, "GPL-3.0-only": 1}, "commercial")
    kinds = [c.kind for c in v.conflicts]
    assert kinds == ["share-alike"]
    assert set(v.conflicts[0].licenses) == {"CC-BY-SA-4.0", "ODbL-1.0", "GPL-3.0-only"}
    assert v.binding_license is None


def test_compatible_mixes_have_no_conflict():
    v = evaluate({"CC-BY-SA-4.0": 1, "CC-BY-SA-3.0": 1, "CC-BY-4.0": 5, "CC0-1.0": 2}, "commercial")
    assert v.releasable
    assert v.binding_license == "CC-BY-SA-4.0"
    nc = evaluate({"CC-BY-NC-SA-4.0": 1, "CC-BY-NC-4.0": 3}, "research")
    assert nc.releasable
    assert nc.binding_license == "CC-BY-NC-SA-4.0"


def test_obligations_attribution_notice_nd_and_use_restrictions():
    v = evaluate({"CC-BY-ND-4.0": 1, "Apache-2.0": 2, "openrail": 3, "CC0-1.0": 4}, "commercial")
    got = {(o.kind, o.license): o.records for o in v.obligations}
    assert got == {
        ("attribution", "CC-BY-ND-4.0"): 1,
        ("no-derivatives", "CC-BY-ND-4.0"): 1,
        ("attribution", "Apache-2.0"): 2,
        ("notice", "Apache-2.0"): 2,
        ("attribution", "LicenseRef-OpenRAIL"): 3,
        ("notice", "LicenseRef-OpenRAIL"): 3,
        ("use-restrictions", "LicenseRef-OpenRAIL"): 3,
    }
    assert all(o.url == license_info(o.license).url for o in v.obligations)


def test_allow_overrides_ids_and_whole_expressions():
    v = evaluate(
        {"CC-BY-NC-4.0": 2, "LicenseRef-acme": 1},
        "commercial",
        allow=["cc-by-nc-4.0", "LicenseRef-acme"],
    )
    assert v.allowed
    assert v.overridden == {"CC-BY-NC-4.0": 2, "LicenseRef-acme": 1}
    w = evaluate({"unknown AND MIT": 1}, "internal", allow=["MIT AND unknown"])
    assert not w.allowed  # a whole expression matches only as written (canonically)
    w = evaluate({"unknown AND MIT": 1}, "internal", allow=["unknown AND mit"])
    assert w.allowed and w.overridden == {"unknown AND MIT": 1}
    assert evaluate({"CC-BY-NC-4.0": 1}, "commercial", allow="CC-BY-NC-4.0").allowed


def test_invalid_expressions_block_and_bad_input_raises():
    v = evaluate({"MIT AND": 2}, "research")
    assert not v.allowed and v.violations == {"MIT AND": 2}
    assert v.expressions[0].reason
    with pytest.raises(InvalidPurposeError):
        evaluate({"MIT": 1}, "fun")  # type: ignore[arg-type]
    with pytest.raises(LicenseError):
        evaluate({"MIT": 1}, "research", allow=["MIT AND"])
    with pytest.raises(UsageError):
        evaluate({"MIT": -1}, "research")


def test_verdict_is_frozen_and_json_ready():
    v = evaluate({"CC-BY-SA-4.0": 3, "CC-BY-NC-4.0": 2}, "commercial")
    with pytest.raises(AttributeError):
        v.allowed = True  # type: ignore[misc]
    d = json.loads(json.dumps(v.to_dict()))
    assert d["violations"] == {"CC-BY-NC-4.0": 2}
    assert d["releasable"] is False
    assert d["conflicts"][0]["kind"] == "non-commercial"


def test_empty_mix_is_allowed():
    v = evaluate({}, "commercial")
    assert v.allowed and v.total_records == 0 and v.expressions == ()
    assert evaluate({"MIT": 0}, "commercial").expressions == ()


# --- properties ---------------------------------------------------------------------------------


@settings(deadline=None)  # a shared 2-core machine: timing is not the property
@given(ids, ids, purposes)
def test_or_is_disjunction_and_commutes(a, b, purpose):
    expected = permitted(a, purpose) or permitted(b, purpose)
    assert permitted(f"{a} OR {b}", purpose) == expected
    assert permitted(f"{b} OR {a}", purpose) == expected


@settings(deadline=None)  # a shared 2-core machine: timing is not the property
@given(ids, ids, purposes)
def test_and_is_conjunction_and_commutes(a, b, purpose):
    expected = permitted(a, purpose) and permitted(b, purpose)
    assert permitted(f"{a} AND {b}", purpose) == expected
    assert permitted(f"({b}) AND ({a})", purpose) == expected


@settings(deadline=None)  # a shared 2-core machine: timing is not the property
@given(st.dictionaries(ids, st.integers(0, 1000), max_size=8), purposes)
def test_allowing_every_license_allows_the_mix(counts, purpose):
    v = evaluate(counts, purpose, allow=list(counts))
    assert v.allowed
    assert v.total_records == sum(counts.values())
    assert sum(v.violations.values()) == 0


@settings(deadline=None)  # a shared 2-core machine: timing is not the property
@given(st.dictionaries(ids, st.integers(1, 1000), max_size=8), purposes)
def test_violations_are_exactly_the_records_whose_license_forbids(counts, purpose):
    v = evaluate(counts, purpose)
    expected = {k: n for k, n in counts.items() if purpose not in license_info(k).permits}
    assert v.violations == expected
    assert v.allowed == (not expected)
    assert sum(e.records for e in v.expressions) == sum(counts.values())


@settings(deadline=None)  # a shared 2-core machine: timing is not the property
@given(st.dictionaries(ids, st.integers(1, 50), min_size=1, max_size=6), purposes)
def test_commercial_is_the_strictest_purpose(counts, purpose):
    if evaluate(counts, "commercial").allowed:
        assert evaluate(counts, purpose).allowed
