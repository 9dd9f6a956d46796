"""The license knowledge table and SPDX expression handling."""

from __future__ import annotations

import pytest
from curata.errors import LicenseError, UsageError
from curata.governance import (
    KNOWN_LICENSES,
    PURPOSES,
    InvalidPurposeError,
    license_info,
    normalize_license,
)
from curata.governance.licenses import check_purpose
from license_expression import get_spdx_licensing

# The licenses issue 7 names, with the conditions a reviewer would state for each.
# (id, commercial, attribution, share_alike, no_derivatives)
EXPECTED = [
    ("CC-BY-4.0", True, True, False, False),
    ("CC-BY-SA-4.0", True, True, True, False),
    ("CC-BY-NC-4.0", False, True, False, False),
    ("CC-BY-ND-4.0", True, True, False, True),
    ("CC-BY-NC-SA-4.0", False, True, True, False),
    ("CC-BY-3.0", True, True, False, False),
    ("CC-BY-SA-3.0", True, True, True, False),
    ("CC-BY-NC-3.0", False, True, False, False),
    ("CC-BY-ND-3.0", True, True, False, True),
    ("CC-BY-NC-SA-3.0", False, True, True, False),
    ("CC0-1.0", True, False, False, False),
    ("PDDL-1.0", True, False, False, False),
    ("ODC-By-1.0", True, True, False, False),
    ("ODbL-1.0", True, True, True, False),
    ("CDLA-Permissive-2.0", True, False, False, False),
    ("CDLA-Sharing-1.0", True, True, True, False),
    ("Apache-2.0", True, True, False, False),
    ("MIT", True, True, False, False),
    ("BSD-3-Clause", True, True, False, False),
    ("GPL-3.0-only", True, True, True, False),
    ("GPL-3.0-or-later", True, True, True, False),
    ("LicenseRef-OpenRAIL-M", True, True, False, False),
    ("LicenseRef-OpenRAIL-D", True, True, False, False),
]


@pytest.mark.parametrize(("lid", "commercial", "attribution", "share_alike", "nd"), EXPECTED)
def test_table_conditions(lid, commercial, attribution, share_alike, nd):
    info = license_info(lid)
    assert info.known
    assert info.id == lid
    assert (info.commercial, info.attribution, info.share_alike, info.no_derivatives) == (
        commercial,
        attribution,
        share_alike,
        nd,
    )
    # Every known license permits research; non-commercial ones permit only research.
    assert "research" in info.permits
    assert info.non_commercial == (not commercial)


def test_every_entry_has_a_reference_url_and_a_real_id():
    spdx = get_spdx_licensing()
    for lid, info in KNOWN_LICENSES.items():
        assert info.url.startswith("https://"), lid
        assert info.name
        if lid.startswith("LicenseRef-") or lid == "unknown":
            continue
        # Ids that are not LicenseRef- must be real SPDX ids (the SPDX list is the oracle).
        assert not spdx.unknown_license_keys(spdx.parse(lid)), lid
        if info.share_alike:
            assert info.family


def test_openrail_variants_carry_use_restrictions():
    rails = [i for i in KNOWN_LICENSES.values() if "RAIL" in i.id]
    assert len(rails) >= 5
    assert all(i.use_restrictions and i.commercial for i in rails)


@pytest.mark.parametrize(
    ("alias", "lid"),
    [
        ("openrail", "LicenseRef-OpenRAIL"),
        ("creativeml-openrail-m", "LicenseRef-CreativeML-OpenRAIL-M"),
        ("cc-by-sa-4.0", "CC-BY-SA-4.0"),
        ("GPL-3.0", "GPL-3.0-only"),
        ("NOASSERTION", "unknown"),
        ("odbl", "ODbL-1.0"),
    ],
)
def test_aliases_resolve(alias, lid):
    assert license_info(alias).id == lid


# SSPL-1.0 and Aladdin are SPDX licenses on neither the OSI nor the FSF list (source-available;
# non-commercial copyleft): a person reviews them.
@pytest.mark.parametrize("key", ["unknown", "LicenseRef-acme-internal", "SSPL-1.0", "Aladdin"])
def test_unknown_custom_and_undescribed_permit_nothing(key):
    info = license_info(key)
    assert not info.known
    assert info.permits == frozenset()
    assert info.url.startswith("https://")


def test_normalize_canonical_spelling():
    assert normalize_license("mit or cc-by-sa-4.0") == "MIT OR CC-BY-SA-4.0"
    assert normalize_license("(mit and apache-2.0) or cc0-1.0") == "(MIT AND Apache-2.0) OR CC0-1.0"
    assert normalize_license("gpl-3.0-only with classpath-exception-2.0").startswith(
        "GPL-3.0-only WITH"
    )
    assert normalize_license("LicenseRef-acme") == "LicenseRef-acme"
    assert normalize_license("unknown") == "unknown"


@pytest.mark.parametrize("bad", ["CC-BY-4", "MIT AND", "MIT OR OR MIT", "(MIT", "MIT WITH MIT"])
def test_normalize_rejects_bad_expressions(bad):
    with pytest.raises(LicenseError) as err:
        normalize_license(bad)
    assert err.value.license == bad
    assert isinstance(err.value, UsageError)


def test_normalize_suggests_close_ids():
    with pytest.raises(LicenseError) as err:
        normalize_license("CC-BY-4")
    assert "CC-BY-4.0" in err.value.suggestions


def test_purposes():
    assert set(PURPOSES) == {"commercial", "research", "internal"}
    with pytest.raises(InvalidPurposeError) as err:
        check_purpose("fun")
    assert err.value.purpose == "fun"
    assert err.value.exit_code == 2


def test_single_id_fast_path_agrees_with_the_full_parser():
    """A lone table id skips building the SPDX index; the result must be what the parser gives."""
    from curata.governance import licenses as lic

    spellings = set(KNOWN_LICENSES) | set(lic._ALIASES) | {k.lower() for k in KNOWN_LICENSES}
    spellings |= {k.upper() for k in KNOWN_LICENSES} | {" MIT ", "Apache-2.0"}
    fast_hits = 0
    for text in sorted(spellings):
        fast = lic._single_known(text)
        if fast is None:
            continue
        fast_hits += 1
        tree = lic.parse_expression(text)
        assert fast == lic.render(tree), text
    assert fast_hits >= len(KNOWN_LICENSES)
    # Not single table ids: the full parser decides (and still rejects typos).
    for text in ("MIT OR Apache-2.0", "GPL-2.0-only WITH Classpath-exception-2.0", "CC-BY-4.O",
                 "LicenseRef-acme", "0BSD", "(MIT)"):
        assert lic._single_known(text) is None or text == "0BSD"
    with pytest.raises(LicenseError):
        normalize_license("CC-BY-4.O")
