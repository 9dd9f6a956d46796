"""The Labeling page's annotator-quality section, drawn from `curata_labeling`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import open_page

CONFIG = ('<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
          '<Choice value="pos"/><Choice value="neg"/></Choices></View>')


def _import_two_annotators(tmp_path: Path) -> None:
    import curata
    from curata_labeling.imports import import_export

    cat = curata.connect()
    ids = cat.snapshot("reviews").to_arrow(columns=["_id"]).column("_id").to_pylist()
    labels = {1: ["pos", "neg", "pos", "neg"], 2: ["pos", "neg", "neg", "pos"],
              3: ["pos", "neg", "neg", "neg"]}
    weeks = ["2026-11-02", "2026-11-03", "2026-11-10", "2026-11-11"]
    tasks = [
        {"id": t + 1, "project": 7, "data": {"_id": rid, "text": f"review {t}"},
         "annotations": [
             {"id": 100 * user + t, "completed_by": user, "was_cancelled": False,
              "lead_time": 1.0, "created_at": f"{weeks[t]}T10:00:00Z",
              "updated_at": f"{weeks[t]}T10:00:00Z",
              "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                          "value": {"choices": [labels[user][t]]}}]}
             for user in (1, 2, 3)]}
        for t, rid in enumerate(ids[:4])
    ]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    import_export(cat, export, project="reviews-quality", dataset="reviews", schema_xml=CONFIG)


@pytest.fixture
def own_home(ui_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the seeded home: the project added here stays out of other tests' catalog."""
    home = tmp_path / "home"
    shutil.copytree(ui_env, home)
    monkeypatch.setenv("CURATA_HOME", str(home))
    return home


def test_labeling_page_shows_annotator_quality(app: AppTest, own_home: Path, tmp_path: Path) -> None:
    _import_two_annotators(tmp_path)
    at = open_page(app, "labeling")
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="lab_project").set_value("reviews-quality").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(h.value == "Annotator quality (sentiment)" for h in at.subheader)
    table = next(d.value for d in at.dataframe if "dawid_skene_accuracy" in d.value.columns)
    acc = dict(zip(table["annotator"], table["accuracy"], strict=True))
    # majority per task: pos, neg, neg, neg -> annotators 1 and 2 are right 3/4, 3 right 4/4
    assert acc == {"1": 0.75, "2": 0.75, "3": 1.0}
    assert any(h.value == "Accuracy by week" for h in at.subheader)
    at.selectbox(key="lab_confusion").set_value("2").run()
    confusion = next(d.value for d in at.dataframe if "given" in d.value.columns)
    rows = {r["given"]: r for r in confusion.to_dict("records")}
    assert rows["pos"]["neg"] == 1 and rows["pos"]["pos"] == 1 and rows["neg"]["neg"] == 2
