"""Agreement coefficients against scikit-learn, statsmodels, krippendorff and published examples."""

import krippendorff
import numpy as np
import pytest
from curata_labeling import agreement as ag
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

TOL = 1e-9

# Krippendorff (2011) "Computing Krippendorff's alpha-reliability", the package's docstring data.
KRIPP = np.array(
    [
        [np.nan, np.nan, np.nan, np.nan, np.nan, 3, 4, 1, 2, 1, 1, 3, 3, np.nan, 3],
        [1, np.nan, 2, 1, 3, 3, 4, 3, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
        [np.nan, np.nan, 2, 1, 3, 4, 4, np.nan, 2, 1, 1, 3, 3, np.nan, 4],
    ]
)

# Gwet (2014) Handbook of Inter-Rater Reliability, pp. 55-56: 12 units, 4 raters, 5 categories.
GWET_4RATERS = np.array(
    [
        [1, 1, np.nan, 1],
        [2, 2, 3, 2],
        [3, 3, 3, 3],
        [3, 3, 3, 3],
        [2, 2, 2, 2],
        [1, 2, 3, 4],
        [4, 4, 4, 4],
        [1, 1, 2, 1],
        [2, 2, 2, 2],
        [np.nan, 5, 5, 5],
        [np.nan, np.nan, 1, 1],
        [np.nan, np.nan, 3, np.nan],
    ]
).T


def test_krippendorff_published_example():
    assert ag.krippendorff_alpha(KRIPP, level="nominal") == pytest.approx(0.691358, abs=1e-6)
    assert ag.krippendorff_alpha(KRIPP, level="interval") == pytest.approx(0.810845, abs=1e-6)


def test_gwet_published_example():
    assert ag.gwet_ac1(GWET_4RATERS) == pytest.approx(0.77544, abs=5e-6)
    assert ag.percent_agreement(GWET_4RATERS) == pytest.approx(0.81818, abs=5e-6)
    # The same source gives Fleiss' kappa generalised to missing ratings.
    assert ag.fleiss_kappa(GWET_4RATERS) == pytest.approx(0.76117, abs=5e-6)


def test_cohen_kappa_textbook_example():
    # Cohen (1960)-style 2x2: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> kappa 0.4.
    a = ["y"] * 25 + ["n"] * 25
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert ag.cohen_kappa(a, b) == pytest.approx(0.4, abs=TOL)


@st.composite
def reliability(draw, *, min_raters=2, max_raters=6, full=False):
    raters = draw(st.integers(min_raters, max_raters))
    items = draw(st.integers(2, 40))
    k = draw(st.integers(2, 6))
    cells = draw(st.lists(st.integers(0, k - 1), min_size=raters * items, max_size=raters * items))
    data = np.array(cells, dtype=np.float64).reshape(raters, items)
    if not full:
        holes = draw(st.lists(st.booleans(), min_size=raters * items, max_size=raters * items))
        data[np.array(holes).reshape(raters, items)] = np.nan
    return data


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 5), min_size=2, max_size=60).flatmap(
        lambda a: st.tuples(
            st.just(a), st.lists(st.integers(0, 5), min_size=len(a), max_size=len(a))
        )
    ),
    st.sampled_from([None, "linear", "quadratic"]),
)
def test_cohen_kappa_matches_sklearn(pair, weights):
    a, b = pair
    with np.errstate(all="ignore"), _quiet():
        expected = cohen_kappa_score(a, b, weights=weights)
    got = ag.cohen_kappa(a, b, weights=weights)
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=TOL)


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


@settings(max_examples=150, deadline=None)
@given(reliability(full=True))
def test_fleiss_matches_statsmodels(data):
    table, _ = aggregate_raters(data.T.astype(int))
    with _quiet():
        expected = sm_fleiss(table)
    got = ag.fleiss_kappa(data)
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=TOL)


@settings(max_examples=200, deadline=None)
@given(reliability(), st.sampled_from(["nominal", "ordinal", "interval", "ratio"]))
def test_krippendorff_matches_package(data, level):
    try:
        with _quiet():
            expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    except ValueError:
        # The package refuses degenerate input (one value, no pairable unit); we return NaN.
        assert np.isnan(ag.krippendorff_alpha(data, level=level))
        return
    got = ag.krippendorff_alpha(data, level=level)
    if np.isnan(expected):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=TOL)


@settings(max_examples=100, deadline=None)
@given(reliability(min_raters=2, max_raters=2, full=True))
def test_two_rater_ac1_matches_closed_form(data):
    a, b = data
    k = int(max(a.max(), b.max())) + 1
    cats = np.unique(data)
    p_a = float((a == b).mean())
    pi = np.array([((a == c).mean() + (b == c).mean()) / 2 for c in cats])
    q = len(cats)
    p_e = float((pi * (1 - pi)).sum() / (q - 1)) if q > 1 else 0.0
    expected = (p_a - p_e) / (1 - p_e) if p_e != 1 else np.nan
    assert k >= 1
    assert ag.gwet_ac1(data) == pytest.approx(expected, abs=TOL, nan_ok=True)


@settings(max_examples=100, deadline=None)
@given(reliability())
def test_percent_agreement_is_share_of_agreeing_pairs(data):
    agree = total = 0.0
    per_item = []
    for col in data.T:
        vals = col[~np.isnan(col)]
        if len(vals) < 2:
            continue
        pairs = [(x, y) for i, x in enumerate(vals) for j, y in enumerate(vals) if i != j]
        per_item.append(sum(x == y for x, y in pairs) / len(pairs))
        agree += 1
        total += 1
    expected = np.mean(per_item) if per_item else np.nan
    assert ag.percent_agreement(data) == pytest.approx(expected, abs=TOL, nan_ok=True)


def test_pairwise_kappa_averages_sklearn_over_pairs():
    rng = np.random.default_rng(7)
    data = rng.integers(0, 3, size=(4, 50)).astype(float)
    data[rng.random(data.shape) < 0.2] = np.nan
    expected = []
    for i in range(4):
        for j in range(i + 1, 4):
            both = ~np.isnan(data[i]) & ~np.isnan(data[j])
            expected.append(cohen_kappa_score(data[i, both], data[j, both], weights="linear"))
    got = ag.mean_pairwise_cohen_kappa(data, weights="linear")
    assert got == pytest.approx(np.mean(expected), abs=TOL)


def test_encode_keeps_missing_and_sorts_domain():
    data, domain = ag.encode([["cat", "dog", None], ["dog", "dog", "cat"]])
    assert domain == ["cat", "dog"]
    assert np.isnan(data[0, 2])
    assert data[1].tolist() == [1.0, 1.0, 0.0]


def test_value_outside_domain_is_an_error():
    with pytest.raises(ValueError):
        ag.value_counts(np.array([[0.0, 1.0, 7.0]]), domain=[0, 1])


def test_large_input_matches_package():
    rng = np.random.default_rng(3)
    data = rng.integers(0, 4, size=(5, 20_000)).astype(float)
    data[rng.random(data.shape) < 0.3] = np.nan
    for level in ("nominal", "ordinal", "interval", "ratio"):
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        assert ag.krippendorff_alpha(data, level=level) == pytest.approx(expected, abs=TOL)
