"""Label-error detection against a real Label Studio, checked against cleanlab on the same
inputs; the review list pushed back."""

from __future__ import annotations

import json

import curata
import numpy as np
import pyarrow as pa
import pytest
from cleanlab.filter import find_label_issues
from cleanlab.rank import get_label_quality_scores
from curata_labeling import sync
from curata_labeling.cli import app
from curata_labeling.label_issues import LabelIssuesError, find_issues, rank_issues
from typer.testing import CliRunner

from tests.labeling.helpers import SENTIMENT, choice, unique

CLASSES = ["positive", "negative", "neutral"]


def _noisy(n=60, seed=0, flip=0.2):
    """True classes, given labels with ``flip`` of them wrong, and out-of-sample probs."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, size=n)
    given = truth.copy()
    flipped = rng.random(n) < flip
    given[flipped] = (truth[flipped] + rng.integers(1, 3, size=flipped.sum())) % 3
    probs = rng.dirichlet(np.ones(3) * 0.3, size=n) * 0.3
    probs[np.arange(n), truth] += 0.7
    return truth, given, probs / probs.sum(axis=1, keepdims=True)


def test_rank_issues_is_cleanlabs_set_in_quality_order():
    _, given, probs = _noisy(200, seed=3)
    ids = [f"{i:04d}" for i in range(200)]
    issues = rank_issues(ids, given, probs, CLASSES)
    mask = find_label_issues(given, probs, n_jobs=1)
    quality = get_label_quality_scores(given, probs)
    assert {i.record_id for i in issues} == {ids[k] for k in np.flatnonzero(mask)}
    assert [i.label_quality for i in issues] == sorted(i.label_quality for i in issues)
    for i in issues:
        k = ids.index(i.record_id)
        assert i.label_quality == pytest.approx(quality[k])
        assert (i.given, i.suggested) == (CLASSES[given[k]], CLASSES[int(probs[k].argmax())])


def _annotated(cat, ls, given, labels_of):
    """A dataset of ``len(given)`` records pushed, annotated with ``labels_of(given[k])`` (one
    label per annotator) and pulled; returns the snapshot, project and ids in row order."""
    snap = cat.append(unique("ds"), pa.table({"text": [f"review {i}" for i in range(len(given))]}),
                      license="CC0-1.0", source="t")
    project = unique("p")
    overlap = len(labels_of(given[0]))
    res = sync.push(cat, snap.ref, project=project, schema_xml=SENTIMENT, overlap=overlap)
    users = [ls.create_annotator() for _ in range(overlap)]
    ids = snap.to_arrow(columns=["_id"])["_id"].to_pylist()
    order = {rid: k for k, rid in enumerate(ids)}
    for t in ls.client().tasks.list(project=res.project_id):
        for u, lab in zip(users, labels_of(given[order[t.data["_id"]]]), strict=True):
            ls.annotate(t.id, choice(lab), annotator=u)
    sync.pull(cat, project)
    return snap, project, ids


@pytest.mark.label_studio
@pytest.mark.slow
def test_issues_from_pulled_annotations_match_cleanlab_and_push_review(home, ls_env, tmp_path):
    cat = curata.connect()
    n = 45
    truth, given, probs = _noisy(n, seed=1, flip=0.25)
    # both annotators agree on the (sometimes wrong) given label
    snap, project, ids = _annotated(cat, ls_env, given, lambda g: [CLASSES[g]] * 2)
    order = {rid: k for k, rid in enumerate(ids)}
    probs_col = pa.table({"_id": ids, "oof": probs.tolist()})
    cat.update_columns(snap.dataset, probs_col, operation="predict")

    found = find_issues(cat, project, probs="oof")
    sorted_ids = sorted(ids)
    idx = np.array([order[r] for r in sorted_ids])
    expected_mask = find_label_issues(given[idx], probs[idx], n_jobs=1)
    assert {i.record_id for i in found.issues} == {
        sorted_ids[k] for k in np.flatnonzero(expected_mask)}
    assert found.n_records == n and found.given_from == {"adjudicated": 0, "majority": n}
    assert found.issues, "a quarter of the labels are wrong: cleanlab finds some"
    wrong = {ids[k] for k in range(n) if given[k] != truth[k]}
    assert len({i.record_id for i in found.issues} & wrong) >= len(found.issues) // 2

    schema = tmp_path / "s.xml"
    schema.write_text(SENTIMENT)
    out = CliRunner().invoke(app, ["issues", "--project", project, "--probs", "oof",
                                   "--push-review", "--json"], catch_exceptions=False)
    report = json.loads(out.output.strip().splitlines()[-1])
    assert report["project"] == project and report["control"] == "sentiment"
    assert [i["_id"] for i in report["issues"]] == [i.record_id for i in found.issues]
    assert set(report["issues"][0]) == {"_id", "given", "suggested", "label_quality"}
    review = report["review_push"]
    assert review["tasks_created"] == len(found.issues)
    pushed = {t.data["_id"] for t in ls_env.client().tasks.list(project=review["project_id"])}
    assert pushed == {i.record_id for i in found.issues}


@pytest.mark.label_studio
@pytest.mark.slow
def test_adjudicated_labels_are_the_given_ones_and_bad_probs_are_refused(home, ls_env):
    from curata_labeling.adjudicate import resolve

    cat = curata.connect()
    n = 30
    _, given, probs = _noisy(n, seed=5, flip=0.3)
    snap, project, ids = _annotated(
        cat, ls_env, given, lambda g: [CLASSES[g]] * 2 + [CLASSES[(g + 1) % 3]])
    order = {rid: k for k, rid in enumerate(ids)}
    resolve(cat, project, strategy="majority")
    cat.update_columns(snap.dataset, pa.table({"_id": ids, "oof": probs.tolist()}),
                       operation="predict")
    found = find_issues(cat, project, probs="oof")
    assert found.given_from["adjudicated"] == n
    sorted_ids = sorted(ids)
    idx = np.array([order[r] for r in sorted_ids])
    assert {i.record_id for i in found.issues} == {
        sorted_ids[k] for k in np.flatnonzero(find_label_issues(given[idx], probs[idx], n_jobs=1))}
    two = pa.table({"_id": ids, "two": [[0.5, 0.5]] * n})
    cat.update_columns(snap.dataset, two, operation="predict")
    with pytest.raises(LabelIssuesError) as err:
        find_issues(cat, project, probs="two")
    assert "3 choices" in err.value.reason
