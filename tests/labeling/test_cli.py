"""`curata label ...` end to end against a real Label Studio: push, pull, agreement, resolve,
schemas, import."""

import json
import urllib.request

import curata
import pytest
from curata_labeling.cli import app
from typer.testing import CliRunner

from tests.labeling.helpers import SENTIMENT, choice, make_dataset, unique

pytestmark = [pytest.mark.label_studio, pytest.mark.slow]


def _run(*args):
    result = CliRunner().invoke(app, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_label_workflow(home, ls_env, tmp_path):
    cat = curata.connect()
    ds = unique("reviews")
    snap = make_dataset(cat, ds, 8)
    schema = tmp_path / "sentiment.xml"
    schema.write_text(SENTIMENT)
    project = unique("sent")

    pushed = _run("push", snap.ref, "--project", project, "--schema", str(schema), "--overlap", "3")
    assert pushed["tasks_created"] == 8 and pushed["tasks_existing"] == 0
    assert (
        _run("push", snap.ref, "--project", project, "--schema", str(schema))["tasks_existing"] == 8
    )

    users = [ls_env.create_annotator() for _ in range(3)]
    tasks = list(ls_env.client().tasks.list(project=pushed["project_id"]))
    for i, t in enumerate(tasks):
        labels = ["positive", "positive", "negative"] if i % 2 else ["negative"] * 3
        if i == 0:
            labels = ["positive", "negative", "neutral"]  # a three-way tie goes to review
        for u, lab in zip(users, labels, strict=True):
            ls_env.annotate(t.id, choice(lab), annotator=u)

    pulled = _run("pull", "--project", project)
    assert (
        pulled["annotations_new"],
        pulled["annotations_changed"],
        pulled["annotations_deleted"],
    ) == (24, 0, 0)
    assert _run("pull", "--project", project)["annotations_new"] == 0

    report = _run("agreement", "--project", project)
    c = report["controls"]["sentiment"]
    for key in (
        "n_items",
        "n_annotations",
        "percent_agreement",
        "cohen_kappa",
        "fleiss_kappa",
        "krippendorff_alpha",
        "gwet_ac1",
    ):
        assert key in c
    assert c["n_items"] == 8 and c["n_annotations"] == 24
    by_ann = _run("agreement", "--project", project, "--by", "annotator")["controls"]["sentiment"]
    assert len(by_ann["by_annotator"]) == 3 and "by_week" not in by_ann

    resolved = _run(
        "resolve",
        "--project",
        project,
        "--strategy",
        "majority",
        "--min-agreement",
        "0.7",
        "--push-review",
    )
    assert resolved["items_resolved"] == 8
    # the tie, and every 2-of-3 item (agreement 0.67 < 0.7), go to review
    expected = {tasks[0].data["_id"]} | {t.data["_id"] for i, t in enumerate(tasks) if i % 2}
    assert set(resolved["review"]) == expected
    assert resolved["review_push"]["tasks_created"] == len(resolved["review"])
    labeled = curata.connect().snapshot(resolved["ref"]).to_arrow()
    assert {
        "label_sentiment",
        "label_sentiment_confidence",
        "label_sentiment_n",
        "label_sentiment_method",
        "label_sentiment_schema_version",
    } <= set(labeled.column_names)
    rows = {r["_id"]: r for r in labeled.to_pylist()}
    odd = tasks[1].data["_id"]
    assert rows[odd]["label_sentiment"] == "positive"
    assert rows[odd]["label_sentiment_n"] == 3
    assert rows[tasks[0].data["_id"]]["label_sentiment"] is None  # tie: unresolved

    schemas = _run("schemas")
    assert [s["version"] for s in schemas["schemas"] if s["name"] == project] == [1]

    url = f"{ls_env.url}/api/projects/{pushed['project_id']}/export?exportType=JSON"
    req = urllib.request.Request(url, headers={"Authorization": f"Token {ls_env.api_key}"})
    export = tmp_path / "export.json"
    with urllib.request.urlopen(req) as resp:
        export.write_bytes(resp.read())
    offline = unique("legacy")
    imported = _run(
        "import", str(export), "--project", offline, "--dataset", ds, "--schema", str(schema)
    )
    assert imported["annotations_new"] == 24
    assert _run("import", str(export), "--project", offline)["annotations_new"] == 0
    assert _run("agreement", "--project", offline)["controls"]["sentiment"]["n_annotations"] == 24


def test_schema_change_refused_then_migrated_via_cli(home, ls_env, tmp_path):
    cat = curata.connect()
    snap = make_dataset(cat, unique("reviews"), 2)
    schema = tmp_path / "s.xml"
    schema.write_text(SENTIMENT)
    project = unique("sent")
    pushed = _run("push", snap.ref, "--project", project, "--schema", str(schema))
    user = ls_env.create_annotator()
    task = next(iter(ls_env.client().tasks.list(project=pushed["project_id"])))
    ls_env.annotate(task.id, choice("neutral"), annotator=user)
    _run("pull", "--project", project)

    smaller = tmp_path / "s2.xml"
    smaller.write_text(SENTIMENT.replace('<Choice value="neutral"/>', ""))
    refused = CliRunner().invoke(app, ["schemas", project, "--add", str(smaller), "--json"])
    assert refused.exit_code != 0
    from curata_labeling.schema import SchemaChangeRefusedError

    assert isinstance(refused.exception, SchemaChangeRefusedError)
    assert refused.exception.dropped == {"sentiment": ["neutral"]}
    ok = _run("schemas", project, "--add", str(smaller), "--migrate", "sentiment.neutral=positive")
    assert ok["created"] and ok["version"] == 2 and ok["migrated_annotations"] == 1
