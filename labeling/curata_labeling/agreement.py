"""Inter-annotator agreement coefficients, vectorised with numpy.

All multi-rater functions take *reliability data*: a ``(raters, items)`` float matrix whose cells
hold a numeric code for the value a rater gave an item and ``NaN`` where that rater did not rate
it (the layout of the ``krippendorff`` package). :func:`encode` turns arbitrary labels into such
codes. Internally everything reduces to a ``(items, values)`` count matrix built with one
``np.bincount``, so a million annotations cost a few array passes, not a Python loop.

The numbers match the reference implementations: scikit-learn ``cohen_kappa_score``, statsmodels
``fleiss_kappa`` (complete data; with missing ratings it is Gwet's generalisation), the
``krippendorff`` package, and Gwet (2014) for AC1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Level = Literal["nominal", "ordinal", "interval", "ratio"]
Weights = Literal["linear", "quadratic"] | None

__all__ = [
    "Level",
    "Weights",
    "cohen_kappa",
    "encode",
    "fleiss_kappa",
    "gwet_ac1",
    "krippendorff_alpha",
    "mean_pairwise_cohen_kappa",
    "percent_agreement",
    "value_counts",
]


def encode(labels: Sequence[Sequence[Any]]) -> tuple[npt.NDArray[np.float64], list[Any]]:
    """Encode a raters × items grid of labels (``None`` = not rated) as reliability data.

    Returns the float matrix of codes (index into the sorted distinct labels) and those labels.
    """
    flat = [v for row in labels for v in row if v is not None]
    domain = sorted(set(flat), key=lambda v: (str(type(v)), v))
    index = {v: i for i, v in enumerate(domain)}
    data = np.array(
        [[np.nan if v is None else index[v] for v in row] for row in labels], dtype=np.float64
    ).reshape(len(labels), -1)
    return data, domain


def value_counts(
    data: npt.ArrayLike, domain: npt.ArrayLike | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Count matrix ``(items, values)`` and the sorted value domain of reliability data.

    Args:
        data: ``(raters, items)`` matrix, ``NaN`` = missing.
        domain: the possible values; defaults to the distinct values present. Values outside it
            are an error rather than silently dropped.
    """
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"reliability data must be 2-D (raters, items), got shape {arr.shape}")
    mask = ~np.isnan(arr)
    values = arr[mask]
    dom = np.unique(values) if domain is None else np.asarray(domain, dtype=np.float64)
    codes = np.searchsorted(dom, values)
    if values.size and (codes.max() >= dom.size or not np.array_equal(dom[codes], values)):
        raise ValueError("reliability data holds values outside the given domain")
    items = np.nonzero(mask)[1]
    n_items, n_values = arr.shape[1], dom.size
    counts = np.bincount(items * n_values + codes, minlength=n_items * n_values)
    return counts.reshape(n_items, n_values).astype(np.float64), dom


def _pair_agreement(counts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per item with ≥ 2 ratings: the share of rater pairs that agree."""
    m = counts.sum(axis=1)
    ok = m >= 2
    c, mm = counts[ok], m[ok]
    return (c * (c - 1)).sum(axis=1) / (mm * (mm - 1))


def percent_agreement(data: npt.ArrayLike) -> float:
    """Share of agreeing rater pairs, averaged over items rated at least twice.

    Returns ``NaN`` when no item has two ratings.
    """
    counts, _ = value_counts(data)
    per_item = _pair_agreement(counts)
    return float(per_item.mean()) if per_item.size else float("nan")


def _weight_matrix(k: int, weights: Weights) -> npt.NDArray[np.float64]:
    idx = np.arange(k)
    diff = np.abs(idx[:, None] - idx[None, :]).astype(np.float64)
    if weights is None:
        return (diff > 0).astype(np.float64)
    if weights == "linear":
        return diff
    if weights == "quadratic":
        return diff**2
    raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")


def cohen_kappa(y1: npt.ArrayLike, y2: npt.ArrayLike, *, weights: Weights = None) -> float:
    """Cohen's kappa of two raters over the same items (as scikit-learn computes it).

    Weighted variants weigh disagreements by the distance between label *ranks* in the sorted
    union of labels, exactly like ``sklearn.metrics.cohen_kappa_score``.
    """
    a, b = np.asarray(y1), np.asarray(y2)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"y1 and y2 must be 1-D of equal length, got {a.shape} and {b.shape}")
    labels, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    k, n = labels.size, a.size
    confusion = np.bincount(inverse[:n] * k + inverse[n:], minlength=k * k).reshape(k, k)
    confusion = confusion.astype(np.float64)
    expected = np.outer(confusion.sum(axis=1), confusion.sum(axis=0)) / confusion.sum()
    w = _weight_matrix(k, weights)
    denom = (w * expected).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(1 - (w * confusion).sum() / denom)


def mean_pairwise_cohen_kappa(data: npt.ArrayLike, *, weights: Weights = None) -> float:
    """Cohen's kappa averaged over rater pairs, each on the items both rated (≥ 2 of them)."""
    arr = np.asarray(data, dtype=np.float64)
    kappas = []
    for i in range(arr.shape[0]):
        for j in range(i + 1, arr.shape[0]):
            both = ~np.isnan(arr[i]) & ~np.isnan(arr[j])
            if both.sum() >= 2:
                kappa = cohen_kappa(arr[i, both], arr[j, both], weights=weights)
                if not np.isnan(kappa):
                    kappas.append(kappa)
    return float(np.mean(kappas)) if kappas else float("nan")


def fleiss_kappa(
    data: npt.ArrayLike | None = None, *, counts: npt.ArrayLike | None = None
) -> float:
    """Fleiss' kappa from reliability data or an ``(items, categories)`` count table.

    With the same number of raters per item this is statsmodels' ``fleiss_kappa``; with missing
    ratings it is Gwet's (2014) generalisation: observed agreement over items rated at least
    twice, category shares averaged over all rated items.
    """
    if (data is None) == (counts is None):
        raise ValueError("pass exactly one of data or counts")
    table = value_counts(data)[0] if counts is None else np.asarray(counts, dtype=np.float64)
    table = table[table.sum(axis=1) > 0]
    p_a = _pair_agreement(table).mean()
    shares = (table / table.sum(axis=1, keepdims=True)).mean(axis=0)
    p_e = (shares**2).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return float((p_a - p_e) / (1 - p_e))


def gwet_ac1(data: npt.ArrayLike, *, n_categories: int | None = None) -> float:
    """Gwet's AC1 for any number of raters and missing ratings (Gwet 2014, ch. 4).

    Args:
        data: ``(raters, items)`` reliability data.
        n_categories: categories available to raters; defaults to those used.
    """
    table, domain = value_counts(data)
    table = table[table.sum(axis=1) > 0]
    q = n_categories or domain.size
    p_a = _pair_agreement(table).mean()
    shares = (table / table.sum(axis=1, keepdims=True)).mean(axis=0)
    # With one category there is no chance disagreement to correct for.
    p_e = (shares * (1 - shares)).sum() / (q - 1) if q > 1 else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return float((p_a - p_e) / (1 - p_e))


def _distances(domain: npt.NDArray[np.float64], n_v: npt.NDArray[np.float64], level: Level):
    v1, v2 = domain[:, None], domain[None, :]
    if level == "nominal":
        return (v1 != v2).astype(np.float64)
    if level == "interval":
        return (v1 - v2) ** 2
    if level == "ratio":
        total = v1 + v2
        ratio = np.divide(v1 - v2, total, out=np.zeros_like(total), where=total != 0)
        return ratio**2
    if level == "ordinal":
        # Krippendorff: (sum of n_g for g between c and k) - (n_c + n_k) / 2, squared.
        cum = np.concatenate([[0.0], np.cumsum(n_v)])
        idx = np.arange(domain.size)
        lo, hi = np.minimum(idx[:, None], idx[None, :]), np.maximum(idx[:, None], idx[None, :])
        between = cum[hi + 1] - cum[lo]
        return (between - (n_v[:, None] + n_v[None, :]) / 2) ** 2
    raise ValueError(f"level must be nominal, ordinal, interval or ratio, got {level!r}")


def krippendorff_alpha(
    data: npt.ArrayLike | None = None,
    *,
    counts: npt.ArrayLike | None = None,
    domain: npt.ArrayLike | None = None,
    level: Level = "nominal",
) -> float:
    """Krippendorff's alpha for any number of raters, missing data and four levels.

    Matches ``krippendorff.alpha`` but builds the coincidence matrix with one matrix product
    over the ``(items, values)`` counts instead of an ``(items, V, V)`` tensor.

    Args:
        data: ``(raters, items)`` reliability data (``NaN`` = missing); or
        counts: an ``(items, values)`` count table with its ``domain``.
        level: the level of measurement of the values.
    """
    if (data is None) == (counts is None):
        raise ValueError("pass exactly one of data or counts")
    if counts is None:
        table, dom = value_counts(data, domain)
    else:
        table = np.asarray(counts, dtype=np.float64)
        dom = np.arange(table.shape[1], dtype=np.float64) if domain is None else np.asarray(domain)
    m = table.sum(axis=1)
    pairable = m >= 2
    table, m = table[pairable], m[pairable]
    if dom.size <= 1 or table.shape[0] == 0:
        return float("nan")
    weighted = table / (m - 1)[:, None]
    o = weighted.T @ table
    o[np.diag_indices_from(o)] -= weighted.sum(axis=0)
    n_v = o.sum(axis=0)
    e = (np.outer(n_v, n_v) - np.diag(n_v)) / (n_v.sum() - 1)
    d = _distances(dom.astype(np.float64), n_v, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(1 - (o * d).sum() / (e * d).sum())
