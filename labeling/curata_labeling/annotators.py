"""Annotator quality: accuracy against a reference label, confusion, Dawid–Skene, weekly drift.

For one single-choice control of a project, the reference label of a record is its adjudicated
label (the ``label_<control>`` column of the latest records, written by ``curata label
resolve``) or, where it has none, the plurality of its human annotations (ties: no reference,
and the record is not scored). Each annotator then gets:

* ``n`` (scored records), ``accuracy`` and ``confusion`` (``{given: {reference: count}}``);
* ``weekly``: ``n`` and ``accuracy`` per ISO week of the annotation, oldest first (drift);
* ``dawid_skene``: the annotator's confusion matrix estimated by Dawid–Skene EM over all human
  annotations (``{true: {given: P(given | true)}}``, each row sums to 1) and the accuracy it
  implies, ``sum_k prior_k * P(k | k)``.

With a model version, that model's predictions (pulled into the ``predictions`` table) are
scored the same way as annotator ``model:V``, never vote in the majority nor in Dawid–Skene,
and carry their agreement (percent and Cohen's kappa) with each annotator.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from curata_labeling import agreement as ag
from curata_labeling import store
from curata_labeling.adjudicate import dawid_skene, majority_vote
from curata_labeling.results import choice_value


@dataclass(frozen=True, slots=True, kw_only=True)
class Vote:
    """One annotator's label for one record."""

    record_id: str
    annotator: str
    label: str
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AnnotatorQuality:
    """The quality figures of one annotator (or model) on one control."""

    annotator: str
    n: int
    accuracy: float | None
    confusion: dict[str, dict[str, int]]
    weekly: list[dict[str, Any]]
    dawid_skene: dict[str, Any] | None = None
    is_model: bool = False
    agreement_with: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityReport:
    """``curata label agreement --by annotator`` (``annotators``) for one control."""

    project: str
    control: str
    reference: dict[str, int]
    annotators: list[AnnotatorQuality]

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "control": self.control, "reference": self.reference,
                "annotators": [asdict(a) for a in self.annotators]}


def _week(ts: datetime | None) -> str:
    if ts is None:
        return "unknown"
    year, week, _ = ts.isocalendar()
    return f"{year}-W{week:02d}"


def reference_labels(votes: list[Vote], adjudicated: dict[str, str]
                     ) -> tuple[dict[str, str], dict[str, int]]:
    """Record → reference label (adjudicated first, else a unique plurality of ``votes``)."""
    by_record: dict[str, list[str]] = defaultdict(list)
    for v in votes:
        by_record[v.record_id].append(v.label)
    ref, counts = {}, {"adjudicated": 0, "majority": 0, "none": 0}
    for record, labels in by_record.items():
        if adjudicated.get(record) is not None:
            ref[record] = adjudicated[record]
            counts["adjudicated"] += 1
            continue
        label, _ = majority_vote(labels)
        if label is None:
            counts["none"] += 1
        else:
            ref[record] = label
            counts["majority"] += 1
    return ref, counts


def score(annotator: str, votes: list[Vote], ref: dict[str, str], *, is_model: bool = False
          ) -> AnnotatorQuality:
    """Accuracy, confusion and weekly accuracy of one annotator's votes against ``ref``."""
    confusion: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    weeks: dict[str, list[bool]] = defaultdict(list)
    hits = []
    for v in votes:
        if v.record_id not in ref:
            continue
        truth = ref[v.record_id]
        confusion[v.label][truth] += 1
        hits.append(v.label == truth)
        weeks[_week(v.created_at)].append(v.label == truth)
    weekly = [{"week": w, "n": len(h), "accuracy": float(np.mean(h))}
              for w, h in sorted(weeks.items())]
    return AnnotatorQuality(
        annotator=annotator, n=len(hits), accuracy=float(np.mean(hits)) if hits else None,
        confusion={g: dict(t) for g, t in sorted(confusion.items())}, weekly=weekly,
        is_model=is_model,
    )


def dawid_skene_confusions(votes: list[Vote], classes: list[str]) -> dict[str, dict[str, Any]]:
    """Annotator → Dawid–Skene ``{"accuracy", "confusion": {true: {given: p}}}``."""
    records = sorted({v.record_id for v in votes})
    annotators = sorted({v.annotator for v in votes})
    if not records or len(classes) < 2:
        return {}
    r_idx = {r: i for i, r in enumerate(records)}
    a_idx = {a: j for j, a in enumerate(annotators)}
    c_idx = {c: k for k, c in enumerate(classes)}
    codes = np.full((len(records), len(annotators)), -1)
    for v in votes:
        codes[r_idx[v.record_id], a_idx[v.annotator]] = c_idx[v.label]
    post, conf = dawid_skene(codes, len(classes))
    prior = post.mean(axis=0)
    out = {}
    for a, j in a_idx.items():
        matrix = {t: {g: float(conf[j, k, m]) for m, g in enumerate(classes)}
                  for k, t in enumerate(classes)}
        out[a] = {"accuracy": float((prior * np.diag(conf[j])).sum()), "confusion": matrix}
    return out


def pairwise_agreement(model: list[Vote], humans: dict[str, list[Vote]]) -> dict[str, dict]:
    """Model vs each annotator on the records both labeled: ``n``, percent, Cohen's kappa."""
    mine = {v.record_id: v.label for v in model}
    out = {}
    for annotator, votes in sorted(humans.items()):
        pairs = [(mine[v.record_id], v.label) for v in votes if v.record_id in mine]
        if not pairs:
            continue
        a, b = zip(*pairs, strict=True)
        kappa = ag.cohen_kappa(list(a), list(b)) if len(pairs) >= 2 else float("nan")
        out[annotator] = {
            "n": len(pairs),
            "percent_agreement": float(np.mean([x == y for x, y in pairs])),
            "cohen_kappa": None if np.isnan(kappa) else float(kappa),
        }
    return out


def quality_report(
    votes: list[Vote], *, project: str, control: str, classes: list[str],
    adjudicated: dict[str, str] | None = None, model: list[Vote] | None = None,
) -> QualityReport:
    """The per-annotator quality report of one control (humans in ``votes``)."""
    ref, counts = reference_labels(votes, adjudicated or {})
    by_annotator: dict[str, list[Vote]] = defaultdict(list)
    for v in votes:
        by_annotator[v.annotator].append(v)
    seen = [c for c in sorted({v.label for v in votes}) if c not in classes]
    ds = dawid_skene_confusions(votes, [*classes, *seen])
    rows = [
        _with(score(a, vs, ref), dawid_skene=ds.get(a)) for a, vs in sorted(by_annotator.items())
    ]
    if model:
        name = model[0].annotator
        rows.append(_with(score(name, model, ref, is_model=True),
                          agreement_with=pairwise_agreement(model, by_annotator)))
    return QualityReport(project=project, control=control, reference=counts, annotators=rows)


def _with(q: AnnotatorQuality, **changes: Any) -> AnnotatorQuality:
    from dataclasses import replace

    return replace(q, **changes)


def project_votes(state: Any, control: str) -> list[Vote]:
    """Current, non-cancelled single-choice votes of one control (one per annotator/record)."""
    latest: dict[tuple[str, str], Vote] = {}
    for row in state.to_pylist():
        if row["was_cancelled"] or not row["record_id"]:
            continue
        label = choice_value(json.loads(row["values"] or "{}").get(control))
        if label is not None:
            key = (row["record_id"], row["annotator"] or "?")
            latest[key] = Vote(record_id=key[0], annotator=key[1], label=label,
                               created_at=row["created_at"])
    return list(latest.values())


def project_quality(
    cat: Any, project: str, *, control: str | None = None, model_version: str | None = None
) -> QualityReport:
    """Per-annotator quality of a project's single-choice control (pull first).

    Example:
        >>> project_quality(cat, "sentiment").annotators[0].accuracy
    """
    from curata_labeling.label_issues import choice_control
    from curata_labeling.predictions import model_annotator
    from curata_labeling.schema import get_schema
    from curata_labeling.sync import get_project

    info = get_project(cat, project)
    schema = get_schema(cat, info.schema_name, info.schema_version)
    ctrl = choice_control(schema, control, project)
    votes = project_votes(store.current_state(store.read_events(cat, info.dataset,
                                                                project=project)), ctrl.name)
    model = None
    if model_version is not None:
        events = store.read_events(cat, info.dataset, project=project, kind="predictions")
        preds = store.current_state(events, key="ls_prediction_id")
        preds = preds.filter(_equal(preds, "model_version", model_version))
        model = [Vote(record_id=v.record_id, annotator=model_annotator(model_version),
                      label=v.label, created_at=v.created_at)
                 for v in project_votes(_as_votes(preds), ctrl.name)]
    return quality_report(votes, project=project, control=ctrl.name, classes=list(ctrl.values),
                          adjudicated=_adjudicated(cat, info.dataset, ctrl.name), model=model)


def _equal(table: Any, column: str, value: str) -> Any:
    import pyarrow.compute as pc

    return pc.equal(table[column], value)


def _as_votes(preds: Any) -> Any:
    """Prediction rows shaped like annotation rows for :func:`project_votes`."""
    import pyarrow as pa

    n = preds.num_rows
    return pa.table({
        "record_id": preds["record_id"], "values": preds["values"],
        "annotator": pa.array(["model"] * n, pa.string()),
        "was_cancelled": pa.array([False] * n), "created_at": preds["created_at"],
    })


def _adjudicated(cat: Any, dataset: str, control: str) -> dict[str, str]:
    snap = cat.snapshot(dataset)
    col = f"label_{control}"
    if col not in snap.schema.names:
        return {}
    table = snap.to_arrow(columns=["_id", col])
    return {r: lab for r, lab in zip(table["_id"].to_pylist(), table[col].to_pylist(),
                                     strict=True) if lab is not None}
