"""Adjudication: majority vote and Dawid–Skene on simulated annotators."""

import numpy as np
import pytest
from curata_labeling.adjudicate import dawid_skene, majority_vote, resolve_control


def _simulate(rng, n_items=600, k=3):
    truth = rng.integers(0, k, n_items)
    # Two reliable annotators and three that are biased towards class 0 or noisy.
    good = np.full((k, k), 0.05) + np.eye(k) * (0.9 - 0.05)
    biased = np.full((k, k), 0.05)
    biased[:, 0] = 0.9
    biased /= biased.sum(axis=1, keepdims=True)
    noisy = np.full((k, k), 0.3) + np.eye(k) * 0.1
    noisy /= noisy.sum(axis=1, keepdims=True)
    confusions = [good, good, biased, biased, noisy]
    labels = np.stack(
        [np.array([rng.choice(k, p=c[t]) for t in truth]) for c in confusions], axis=1
    )
    return truth, labels, confusions


def test_dawid_skene_beats_majority_vote():
    rng = np.random.default_rng(0)
    truth, labels, confusions = _simulate(rng)
    post, conf = dawid_skene(labels, 3)
    ds_acc = (post.argmax(axis=1) == truth).mean()
    mv = []
    for row in labels:
        label, _ = majority_vote([str(x) for x in row])
        mv.append(-1 if label is None else int(label))
    mv_acc = (np.array(mv) == truth).mean()
    assert ds_acc > mv_acc + 0.05
    assert ds_acc > 0.9
    # The recovered confusion matrices are close to the true ones.
    assert np.abs(conf[0] - confusions[0]).max() < 0.1
    assert np.abs(conf[2] - confusions[2]).max() < 0.1


def test_majority_ties_go_to_review():
    res = resolve_control(
        {"r1": {"a": "x", "b": "x", "c": "y"}, "r2": {"a": "x", "b": "y"}},
        strategy="majority",
        min_agreement=0.7,
    )
    by = {r.record_id: r for r in res}
    assert by["r1"].label == "x" and by["r1"].confidence == pytest.approx(2 / 3)
    assert by["r1"].needs_review  # 0.67 < 0.7
    assert by["r2"].label is None and by["r2"].needs_review
    assert by["r1"].n_annotations == 3


def test_dawid_skene_strategy_through_resolve_control():
    rng = np.random.default_rng(1)
    truth, labels, _ = _simulate(rng, n_items=200)
    items = {
        f"r{i}": {f"a{j}": str(labels[i, j]) for j in range(labels.shape[1])}
        for i in range(len(truth))
    }
    res = resolve_control(items, strategy="dawid-skene")
    acc = np.mean([r.label == str(truth[int(r.record_id[1:])]) for r in res])
    assert acc > 0.85
