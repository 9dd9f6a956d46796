"""IoU matching for multi-choice and region controls (spans, boxes).

Label Studio compares such annotations by intersection over union: two sets of choices by the
Jaccard index, two sets of regions by matching each region to its best partner with the same
labels. Here a pair of annotations scores the summed IoU of the matched region pairs (IoU at or
above ``threshold``, greedily by decreasing IoU) divided by the larger region count, so missing
or extra regions lower the score. Two empty annotations agree fully.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def set_iou(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Jaccard index of two sets of choices; 1.0 when both are empty."""
    sa, sb = set(map(str, a or [])), set(map(str, b or []))
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def span_iou(a: dict[str, Any], b: dict[str, Any]) -> float:
    """IoU of two text spans ``[start, end)``."""
    s1, e1, s2, e2 = (float(a["start"]), float(a["end"]), float(b["start"]), float(b["end"]))
    inter = max(0.0, min(e1, e2) - max(s1, s2))
    union = max(e1, e2) - min(s1, s2)
    return inter / union if union > 0 else float(s1 == s2 and e1 == e2)


def box_iou(a: dict[str, Any], b: dict[str, Any]) -> float:
    """IoU of two axis-aligned boxes given as ``x, y, width, height`` (percent of the image)."""
    ax2, ay2 = a["x"] + a["width"], a["y"] + a["height"]
    bx2, by2 = b["x"] + b["width"], b["y"] + b["height"]
    iw = max(0.0, min(ax2, bx2) - max(a["x"], b["x"]))
    ih = max(0.0, min(ay2, by2) - max(a["y"], b["y"]))
    inter = iw * ih
    union = a["width"] * a["height"] + b["width"] * b["height"] - inter
    return inter / union if union > 0 else 0.0


def _iou_matrix(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]]) -> np.ndarray:
    iou = span_iou if a and "start" in a[0] else box_iou
    m = np.zeros((len(a), len(b)))
    for i, ra in enumerate(a):
        for j, rb in enumerate(b):
            if sorted(ra.get("labels", [])) == sorted(rb.get("labels", [])):
                m[i, j] = iou(ra, rb)
    return m


def region_agreement(
    a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]], *, threshold: float = 0.5
) -> float:
    """Agreement of two region annotations in [0, 1] by greedy IoU matching."""
    a, b = list(a or []), list(b or [])
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    m = _iou_matrix(a, b)
    total = 0.0
    while m.size and m.max() >= threshold:
        i, j = np.unravel_index(int(m.argmax()), m.shape)
        total += float(m[i, j])
        m[i, :] = -1.0
        m[:, j] = -1.0
    return total / max(len(a), len(b))


def pairwise_mean(values: Sequence[Any], score: Any) -> float:
    """Mean of ``score(x, y)`` over all unordered pairs of annotations of one item."""
    scores = [
        score(values[i], values[j]) for i in range(len(values)) for j in range(i + 1, len(values))
    ]
    return float(np.mean(scores)) if scores else float("nan")
