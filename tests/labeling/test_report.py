"""Agreement reports per control / label / annotator / week, and IoU matching."""

from datetime import datetime, timedelta

import krippendorff
import numpy as np
import pytest
from curata_labeling.regions import box_iou, region_agreement, set_iou, span_iou
from curata_labeling.report import Judgement, agreement_report
from curata_labeling.results import normalize, result_hash
from sklearn.metrics import cohen_kappa_score


def _rows(labels, control="sentiment", start=datetime(2026, 11, 2)):
    rows = []
    for a, row in labels.items():
        for i, v in enumerate(row):
            if v is not None:
                rows.append(
                    Judgement(
                        item=f"r{i}",
                        annotator=a,
                        control=control,
                        value=[v],
                        created_at=start + timedelta(days=i),
                    )
                )
    return rows


def test_choice_control_matches_oracles():
    a = ["pos", "neg", "pos", "pos", "neg", "neu", "pos", "neg"]
    b = ["pos", "neg", "neg", "pos", "neg", "neu", "neu", "neg"]
    report = agreement_report(_rows({"ann1": a, "ann2": b}))
    c = report.controls["sentiment"]
    assert c.overall.n_items == 8 and c.overall.n_annotations == 16
    assert c.overall.cohen_kappa == pytest.approx(cohen_kappa_score(a, b), abs=1e-9)
    codes = {"neg": 0, "neu": 1, "pos": 2}
    data = np.array([[codes[x] for x in a], [codes[x] for x in b]], dtype=float)
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert c.overall.krippendorff_alpha == pytest.approx(expected, abs=1e-9)
    assert c.overall.percent_agreement == pytest.approx(6 / 8)
    assert set(c.by_label) == {"pos", "neg", "neu"}
    d = report.to_dict()["controls"]["sentiment"]
    for key in (
        "n_items",
        "n_annotations",
        "percent_agreement",
        "cohen_kappa",
        "fleiss_kappa",
        "krippendorff_alpha",
        "gwet_ac1",
    ):
        assert key in d


def test_annotator_against_consensus_finds_the_outlier():
    truth = ["x", "y"] * 10
    noisy = ["y", "x"] * 10
    report = agreement_report(_rows({"a": truth, "b": truth, "c": noisy}))
    by = report.controls["sentiment"].by_annotator
    assert by["a"].agreement_with_consensus == 1.0
    assert by["c"].agreement_with_consensus == 0.0


def test_weekly_drift():
    good = ["x", "y"] * 7
    bad = ["x", "y"] * 3 + ["y", "x"] * 4  # agreement drops in the second week
    report = agreement_report(_rows({"a": good, "b": bad}))
    weeks = report.controls["sentiment"].by_week
    assert list(weeks) == ["2026-W45", "2026-W46"]
    assert weeks["2026-W45"].percent_agreement > weeks["2026-W46"].percent_agreement


def test_numeric_control_reports_all_levels():
    rows = [
        Judgement(item=str(i), annotator=a, control="stars", value=float((i + k) % 5 + 1))
        for i in range(20)
        for k, a in enumerate("ab")
    ]
    c = agreement_report(rows).controls["stars"]
    assert c.kind == "number"
    assert set(c.overall.krippendorff_alpha_levels) == {"nominal", "ordinal", "interval", "ratio"}


def test_iou_matching():
    assert set_iou(["a", "b"], ["b", "c"]) == pytest.approx(1 / 3)
    assert span_iou({"start": 0, "end": 10}, {"start": 5, "end": 15}) == pytest.approx(5 / 15)
    box = {"x": 0, "y": 0, "width": 10, "height": 10}
    assert box_iou(box, {"x": 5, "y": 0, "width": 10, "height": 10}) == pytest.approx(50 / 150)
    a = [{"start": 0, "end": 10, "labels": ["PER"]}, {"start": 20, "end": 30, "labels": ["ORG"]}]
    b = [{"start": 0, "end": 9, "labels": ["PER"]}, {"start": 20, "end": 30, "labels": ["PER"]}]
    # Only the PER spans match (IoU 0.9); the ORG/PER pair has different labels.
    assert region_agreement(a, b) == pytest.approx(0.9 / 2)
    assert region_agreement([], []) == 1.0


def test_region_control_uses_iou():
    ent = [{"start": 0, "end": 5, "labels": ["PER"]}]
    rows = [
        Judgement(item="1", annotator="a", control="ner", value=ent),
        Judgement(item="1", annotator="b", control="ner", value=ent),
        Judgement(item="2", annotator="a", control="ner", value=ent),
        Judgement(item="2", annotator="b", control="ner", value=[]),
    ]
    c = agreement_report(rows).controls["ner"]
    assert c.kind == "span"
    assert c.overall.percent_agreement == pytest.approx(0.5)


def test_normalize_and_hash_ignore_region_ids():
    r1 = [
        {
            "id": "x1",
            "from_name": "c",
            "to_name": "t",
            "type": "choices",
            "value": {"choices": ["b", "a"]},
        }
    ]
    r2 = [
        {
            "id": "zz",
            "from_name": "c",
            "to_name": "t",
            "type": "choices",
            "value": {"choices": ["b", "a"]},
        }
    ]
    assert normalize(r1) == {"c": ["a", "b"]}
    assert result_hash(r1) == result_hash(r2)
