"""Annotator quality: accuracy and confusion against scikit-learn, Dawid–Skene recovering
simulated annotators, weekly drift; `curata label agreement --by annotator` on Label Studio."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import curata
import numpy as np
import pytest
from curata_labeling.annotators import Vote, quality_report, reference_labels
from curata_labeling.cli import app
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, confusion_matrix
from typer.testing import CliRunner

from tests.labeling.helpers import SENTIMENT, choice, make_dataset, unique

CLASSES = ["a", "b", "c"]


def _simulate(n_items=400, accuracies=(0.95, 0.8, 0.6), seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, size=n_items)
    start = datetime(2026, 11, 2, tzinfo=UTC)
    votes = []
    for j, acc in enumerate(accuracies):
        right = rng.random(n_items) < acc
        noise = (truth + rng.integers(1, 3, size=n_items)) % 3
        given = np.where(right, truth, noise)
        for i in range(n_items):
            votes.append(Vote(record_id=f"r{i:04d}", annotator=f"ann{j}", label=CLASSES[given[i]],
                              created_at=start + timedelta(days=int(i * 21 / n_items))))
    return truth, votes


def test_accuracy_and_confusion_match_sklearn_against_the_majority():
    _, votes = _simulate(300, seed=1)
    report = quality_report(votes, project="p", control="c", classes=CLASSES)
    ref, counts = reference_labels(votes, {})
    assert counts["majority"] + counts["none"] == 300 and counts["adjudicated"] == 0
    for a in report.annotators:
        mine = [v for v in votes if v.annotator == a.annotator and v.record_id in ref]
        y_true, y_pred = [ref[v.record_id] for v in mine], [v.label for v in mine]
        assert a.n == len(mine)
        assert a.accuracy == pytest.approx(accuracy_score(y_true, y_pred))
        cm = confusion_matrix(y_true, y_pred, labels=CLASSES)  # rows true, columns given
        for gi, g in enumerate(CLASSES):
            for ti, t in enumerate(CLASSES):
                assert a.confusion.get(g, {}).get(t, 0) == cm[ti, gi]


def test_adjudicated_labels_take_precedence_over_the_majority():
    votes = [Vote(record_id="x", annotator=a, label=lab) for a, lab in
             (("u", "a"), ("v", "a"), ("w", "b"))]
    votes += [Vote(record_id="y", annotator=a, label=lab) for a, lab in (("u", "a"), ("v", "b"))]
    report = quality_report(votes, project="p", control="c", classes=CLASSES,
                            adjudicated={"x": "b"})
    acc = {a.annotator: (a.n, a.accuracy) for a in report.annotators}
    assert report.reference == {"adjudicated": 1, "majority": 0, "none": 1}
    assert acc == {"u": (1, 0.0), "v": (1, 0.0), "w": (1, 1.0)}


def test_dawid_skene_recovers_the_simulated_accuracies():
    _, votes = _simulate(1500, accuracies=(0.95, 0.8, 0.6), seed=2)
    report = quality_report(votes, project="p", control="c", classes=CLASSES)
    est = [a.dawid_skene["accuracy"] for a in report.annotators]
    np.testing.assert_allclose(est, [0.95, 0.8, 0.6], atol=0.04)
    for a in report.annotators:
        for row in a.dawid_skene["confusion"].values():
            assert sum(row.values()) == pytest.approx(1.0)


def test_weekly_drift_is_visible():
    rng = np.random.default_rng(4)
    start = datetime(2026, 11, 2, tzinfo=UTC)
    votes = []
    for i in range(300):
        week = i // 100
        truth = CLASSES[i % 3]
        for a in ("u", "v", "w"):
            wrong = a == "w" and rng.random() < 0.3 * week  # w drifts: 0%, 30%, 60% wrong
            lab = CLASSES[(i + 1) % 3] if wrong else truth
            votes.append(Vote(record_id=f"r{i}", annotator=a, label=lab,
                              created_at=start + timedelta(weeks=week)))
    report = quality_report(votes, project="p", control="c", classes=CLASSES)
    w = next(a for a in report.annotators if a.annotator == "w")
    assert [x["week"] for x in w.weekly] == ["2026-W45", "2026-W46", "2026-W47"]
    accs = [x["accuracy"] for x in w.weekly]
    assert accs[0] == 1.0 and accs[0] > accs[1] > accs[2]
    assert sum(x["n"] for x in w.weekly) == w.n


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.sampled_from(["u", "v", "w"]),
                          st.sampled_from(CLASSES)), min_size=1, max_size=60))
def test_counts_add_up(rows):
    seen = {}
    for item, ann, lab in rows:
        seen[(item, ann)] = lab
    votes = [Vote(record_id=f"r{i}", annotator=a, label=lab) for (i, a), lab in seen.items()]
    report = quality_report(votes, project="p", control="c", classes=CLASSES)
    ref, counts = reference_labels(votes, {})
    assert sum(counts.values()) == len({v.record_id for v in votes})
    for a in report.annotators:
        assert a.n == sum(sum(r.values()) for r in a.confusion.values())
        scored = [v for v in votes if v.annotator == a.annotator and v.record_id in ref]
        assert a.n == len(scored)
        if a.n:
            assert a.accuracy == pytest.approx(np.mean([ref[v.record_id] == v.label
                                                         for v in scored]))


@pytest.mark.label_studio
@pytest.mark.slow
def test_cli_agreement_by_annotator_json_contract(home, ls_env, tmp_path):
    cat = curata.connect()
    snap = make_dataset(cat, unique("ds"), 9)
    schema = tmp_path / "s.xml"
    schema.write_text(SENTIMENT)
    project = unique("p")
    runner = CliRunner()
    pushed = json.loads(runner.invoke(app, ["push", snap.ref, "--project", project, "--schema",
                                            str(schema), "--overlap", "3", "--json"],
                                      catch_exceptions=False).output.splitlines()[-1])
    users = [ls_env.create_annotator() for _ in range(3)]
    tasks = list(ls_env.client().tasks.list(project=pushed["project_id"]))
    for i, t in enumerate(tasks):
        labels = ["positive", "positive", "negative" if i % 3 == 0 else "positive"]
        for u, lab in zip(users, labels, strict=True):
            ls_env.annotate(t.id, choice(lab), annotator=u)
    runner.invoke(app, ["pull", "--project", project], catch_exceptions=False)
    runner.invoke(app, ["resolve", "--project", project], catch_exceptions=False)
    res = runner.invoke(app, ["agreement", "--project", project, "--by", "annotator", "--json"],
                        catch_exceptions=False)
    report = json.loads(res.output.strip().splitlines()[-1])
    assert report["reference"] == {"adjudicated": 9, "majority": 0, "none": 0}
    rows = report["annotators"]
    assert len(rows) == 3 and all(r["annotator"].endswith("@example.com") for r in rows)
    for r in rows:
        assert {"annotator", "n", "accuracy", "confusion", "weekly"} <= set(r)
        assert r["n"] == 9 and r["weekly"][0]["n"] == 9
    accuracies = sorted(r["accuracy"] for r in rows)
    assert accuracies == pytest.approx([6 / 9, 1.0, 1.0])
    third = next(r for r in rows if r["accuracy"] < 1)
    assert third["confusion"] == {"negative": {"positive": 3}, "positive": {"positive": 6}}
    assert "controls" in report  # the inter-annotator report is still there
