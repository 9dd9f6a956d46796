"""Model predictions as pre-annotations against a real Label Studio: push, pull kept apart,
model-vs-annotators agreement; and the pull's export paths."""

from __future__ import annotations

import json
from datetime import timedelta

import curata
import numpy as np
import pyarrow as pa
import pytest
from curata_labeling import store, sync
from curata_labeling.annotators import project_quality
from curata_labeling.cli import app
from curata_labeling.client import LabelStudioClient, prefetched
from curata_labeling.predictions import PredictionControlError, PredictionValueError
from typer.testing import CliRunner

from tests.labeling.helpers import SENTIMENT, choice, unique

pytestmark = [pytest.mark.label_studio, pytest.mark.slow]

BOXES = """<View><Image name="image" value="$image"/>
<RectangleLabels name="objects" toName="image"><Label value="cat"/><Label value="dog"/>
</RectangleLabels></View>"""


@pytest.fixture
def cat(tmp_path, ls_env):
    return curata.connect(home=tmp_path / "home")


def _predicted_dataset(cat, n=6):
    labels = ["positive", "negative", "neutral"]
    table = pa.table({
        "text": [f"review {i}" for i in range(n)],
        "model_label": [labels[i % 3] if i != n - 1 else None for i in range(n)],
        "model_out": pa.array(
            [{"label": labels[(i + 1) % 3], "score": round(0.5 + i / 20, 2)} for i in range(n)],
            pa.struct([("label", pa.string()), ("score", pa.float64())]),
        ),
    })
    return cat.append(unique("ds"), table, license="CC0-1.0", source="t")


def _ls_predictions(ls, project_id):
    return {int(p.task): p for p in ls.client().predictions.list(project=project_id)}


def test_push_string_predictions_score_one_and_idempotent(cat, ls_env):
    snap = _predicted_dataset(cat)
    project = unique("p")
    res = sync.push(cat, snap.ref, project=project, schema_xml=SENTIMENT,
                    predictions="model_label", model_version="m1")
    assert (res.tasks_created, res.predictions_created, res.model_version) == (6, 5, "m1")
    preds = _ls_predictions(ls_env, res.project_id)
    tasks = {t.id: t.data for t in ls_env.client().tasks.list(project=res.project_id)}
    rows = {r["_id"]: r for r in snap.to_arrow().to_pylist()}
    assert len(preds) == 5
    for task_id, p in preds.items():
        assert p.model_version == "m1" and p.score == 1.0
        expected = rows[tasks[task_id]["_id"]]["model_label"]
        assert p.result[0]["value"] == {"choices": [expected]}
        assert (p.result[0]["from_name"], p.result[0]["to_name"]) == ("sentiment", "text")
    assert ls_env.client().projects.get(id=res.project_id).model_version == "m1"
    again = sync.push(cat, snap.ref, project=project, schema_xml=SENTIMENT,
                      predictions="model_label", model_version="m1")
    assert (again.tasks_created, again.predictions_created) == (0, 0)
    assert len(ls_env.client().predictions.list(project=res.project_id)) == 5


def test_struct_predictions_of_a_new_model_reach_existing_tasks(cat, ls_env):
    snap = _predicted_dataset(cat)
    project = unique("p")
    first = sync.push(cat, snap.ref, project=project, schema_xml=SENTIMENT)
    assert first.predictions_created == 0
    res = sync.push(cat, snap.ref, project=project, schema_xml=SENTIMENT,
                    predictions="model_out", model_version="m2")
    assert (res.tasks_created, res.tasks_existing, res.predictions_created) == (0, 6, 6)
    preds = _ls_predictions(ls_env, res.project_id)
    tasks = {t.id: t.data["_id"] for t in ls_env.client().tasks.list(project=res.project_id)}
    rows = {r["_id"]: r["model_out"] for r in snap.to_arrow().to_pylist()}
    for task_id, p in preds.items():
        want = rows[tasks[task_id]]
        assert p.score == pytest.approx(want["score"])
        assert p.result[0]["value"]["choices"] == [want["label"]]


def test_box_predictions_become_rectangle_regions(cat, ls_env):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    box = pa.struct([("label", pa.string()), ("x", pa.float64()), ("y", pa.float64()),
                     ("width", pa.float64()), ("height", pa.float64()), ("score", pa.float64())])
    table = pa.table({
        "image": [png, png + b"1"],
        "boxes": pa.array([[{"label": "cat", "x": 10, "y": 20, "width": 30, "height": 40,
                             "score": 0.9},
                            {"label": "dog", "x": 50, "y": 5, "width": 10, "height": 10,
                             "score": 0.7}], []], pa.list_(box)),
    })
    snap = cat.append(unique("img"), table, license="CC0-1.0", source="t")
    res = sync.push(cat, snap.ref, project=unique("p"), schema_xml=BOXES, predictions="boxes",
                    model_version="det-1")
    assert res.predictions_created == 2
    preds = sorted(_ls_predictions(ls_env, res.project_id).values(), key=lambda p: -len(p.result))
    regions = preds[0].result
    assert preds[0].score == pytest.approx(0.8)
    assert {r["type"] for r in regions} == {"rectanglelabels"}
    cat_box = next(r for r in regions if r["value"]["rectanglelabels"] == ["cat"])
    assert {k: cat_box["value"][k] for k in ("x", "y", "width", "height")} == {
        "x": 10, "y": 20, "width": 30, "height": 40}
    assert preds[1].result == []


def test_bad_predictions_are_refused_before_anything_is_sent(cat, ls_env):
    table = pa.table({"text": ["a", "b"], "guess": ["positive", "sarcastic"]})
    snap = cat.append(unique("ds"), table, license="CC0-1.0", source="t")
    with pytest.raises(PredictionValueError) as err:
        sync.push(cat, snap.ref, project=unique("p"), schema_xml=SENTIMENT,
                  predictions="guess", model_version="m")
    assert err.value.value == "sarcastic" and "positive" in err.value.valid
    assert sync.list_projects(cat) == []
    two = SENTIMENT.replace("</View>", '<Choices name="topic" toName="text">'
                            '<Choice value="positive"/></Choices></View>')
    with pytest.raises(PredictionControlError):
        sync.push(cat, snap.ref, project=unique("p"), schema_xml=two, predictions="guess",
                  model_version="m")


def test_pull_keeps_predictions_apart_and_scores_the_model(cat, ls_env):
    snap = _predicted_dataset(cat, n=6)
    project = unique("p")
    res = sync.push(cat, snap.ref, project=project, schema_xml=SENTIMENT, overlap=2,
                    predictions="model_label", model_version="m1")
    users = [ls_env.create_annotator(), ls_env.create_annotator()]
    tasks = list(ls_env.client().tasks.list(project=res.project_id))
    rows = {r["_id"]: r for r in snap.to_arrow().to_pylist()}
    truth = {}
    for i, t in enumerate(tasks):
        label = rows[t.data["_id"]]["model_label"] or "neutral"
        label = label if i % 3 else "negative" if label != "negative" else "positive"
        truth[t.data["_id"]] = label
        for u in users:
            ls_env.annotate(t.id, choice(label), annotator=u)
    skipped = sync.pull(cat, project, predictions=False)
    assert (skipped.annotations_new, skipped.predictions_new) == (12, 0)
    pulled = sync.pull(cat, project, overlap=timedelta(days=1))
    assert (pulled.annotations_new, pulled.predictions_new) == (0, 5)
    anns = store.read_events(cat, snap.dataset, project=project)
    preds = store.read_events(cat, snap.dataset, project=project, kind="predictions")
    assert anns.num_rows == 12 and preds.num_rows == 5
    assert set(preds["model_version"].to_pylist()) == {"m1"}
    assert set(anns["ls_annotation_id"].to_pylist()).isdisjoint(preds["ls_prediction_id"].to_pylist())
    assert sync.pull(cat, project).predictions_new == 0

    report = project_quality(cat, project, model_version="m1")
    model = next(a for a in report.annotators if a.is_model)
    scored = [r for r in truth if rows[r]["model_label"] is not None]
    hits = [rows[r]["model_label"] == truth[r] for r in scored]
    assert model.annotator == "model:m1" and model.n == len(scored)
    assert model.accuracy == pytest.approx(np.mean(hits))
    from sklearn.metrics import cohen_kappa_score

    human = users and next(a for a in report.annotators if not a.is_model).annotator
    kappa = cohen_kappa_score([rows[r]["model_label"] for r in scored], [truth[r] for r in scored])
    assert model.agreement_with[human]["cohen_kappa"] == pytest.approx(kappa)
    assert all(a.accuracy == 1.0 for a in report.annotators if not a.is_model)

    ls_env.client().predictions.delete(id=int(preds["ls_prediction_id"][0].as_py()))
    assert sync.pull(cat, project, overlap=timedelta(days=1)).predictions_deleted == 1


def test_cli_push_predictions_and_agreement_with_model(home, ls_env, tmp_path):
    cat = curata.connect()
    snap = _predicted_dataset(cat, n=4)
    schema = tmp_path / "s.xml"
    schema.write_text(SENTIMENT)
    project = unique("p")
    out = CliRunner().invoke(app, ["push", snap.ref, "--project", project, "--schema",
                                   str(schema), "--predictions", "model_out", "--model-version",
                                   "m7", "--json"], catch_exceptions=False)
    pushed = json.loads(out.output.strip().splitlines()[-1])
    assert pushed["predictions_created"] == 4 and pushed["model_version"] == "m7"
    user = ls_env.create_annotator()
    for t in ls_env.client().tasks.list(project=pushed["project_id"]):
        ls_env.annotate(t.id, choice("positive"), annotator=user)
    pulled = json.loads(CliRunner().invoke(app, ["pull", "--project", project, "--json"],
                                           catch_exceptions=False).output.splitlines()[-1])
    assert pulled["predictions_new"] == 4 and pulled["annotations_new"] == 4
    res = CliRunner().invoke(app, ["agreement", "--project", project, "--by", "annotator",
                                   "--model-version", "m7", "--json"], catch_exceptions=False)
    report = json.loads(res.output.strip().splitlines()[-1])
    names = [a["annotator"] for a in report["annotators"]]
    assert names[-1] == "model:m7" and len(names) == 2
    labels = [r["model_out"]["label"] for r in snap.to_arrow().to_pylist()]
    assert report["annotators"][-1]["accuracy"] == pytest.approx(
        np.mean([lab == "positive" for lab in labels]))


# --- the pull's export paths -------------------------------------------------------------------


def test_prefetched_keeps_order_and_stops_on_failure():
    calls = []

    def make(i):
        def call():
            calls.append(i)
            if i == 3:
                raise RuntimeError("boom")
            return i
        return call

    assert list(prefetched([make(i) for i in range(3)], 2)) == [0, 1, 2]
    calls.clear()
    got = []
    with pytest.raises(RuntimeError):
        for x in prefetched([make(i) for i in range(10)], 2):
            got.append(x)
    assert got == [0, 1, 2] and max(calls) <= 5


def test_first_pull_by_id_range_equals_pull_by_listing(cat, ls_env, monkeypatch):
    """Two projects whose tasks interleave: the id-range export of one skips the other's."""
    table = pa.table({"text": [f"t{i}" for i in range(12)]})
    a = cat.append(unique("a"), table, license="CC0-1.0", source="t")
    b = cat.append(unique("b"), table, license="CC0-1.0", source="t")
    pa_, pb = unique("pa"), unique("pb")
    ids = {a.ref: [], b.ref: []}
    for i in range(0, 12, 3):  # alternate pushes so task ids of both projects interleave
        for snap, proj in ((a, pa_), (b, pb)):
            rows = snap.to_arrow(columns=["_id"])["_id"].to_pylist()[i : i + 3]
            ids[snap.ref] += rows
            sync.push(cat, snap.ref, project=proj, schema_xml=SENTIMENT, record_ids=rows)
    pid = sync.get_project(cat, pa_).ls_project_id
    user = ls_env.create_annotator()
    for t in ls_env.client().tasks.list(project=pid):
        ls_env.annotate(t.id, choice("positive"), annotator=user)
    client = LabelStudioClient(ls_env.url, ls_env.api_key)
    lo, hi, total = client.task_id_span(pid)
    assert total == 12 and hi - lo + 1 > 12  # interleaved: the span holds the other's ids
    client.export_chunk = 5
    ranged = sync.pull(cat, pa_, client=client)
    assert ranged.annotations_new == 12 and ranged.tasks_seen == 12
    by_range = _rows(cat, a.dataset, pa_)
    # The same pull through the listing path, from scratch: the same rows.
    import shutil

    from curata_labeling.models import LabelSyncCursor

    shutil.rmtree(cat.table_uri(a.dataset, "annotations"))
    with cat.store.session() as s:
        s.delete(s.get(LabelSyncCursor, sync.get_project(cat, pa_).id))
    monkeypatch.setattr(sync, "DENSE_SPAN", 0.0)
    listed = sync.pull(cat, pa_, client=client)
    assert listed.annotations_new == 12
    assert _rows(cat, a.dataset, pa_) == by_range


def _rows(cat, dataset, project):
    events = store.read_events(cat, dataset, project=project).drop_columns(["pulled_at"])
    return sorted(events.to_pylist(), key=lambda r: r["ls_annotation_id"])
