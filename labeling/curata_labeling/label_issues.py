"""Label-error detection: records whose given label is likely wrong (confident learning).

The given label of a record is its adjudicated label (the ``label_<control>`` column that
``curata label resolve`` writes) or, where it has none, the plurality of its current
annotations (ties give none). The user supplies out-of-sample class probabilities as a
``list<float>`` column of the records, in the order of the control's choices in the label
schema. ``cleanlab.filter.find_label_issues`` decides which records are issues (the same call on
the same inputs gives the same set); ``cleanlab.rank.get_label_quality_scores`` (self-confidence)
ranks them, lowest quality first, ties by ``_id``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from curata.errors import SchemaMismatchError, UsageError

from curata_labeling import store
from curata_labeling.adjudicate import majority_vote
from curata_labeling.results import choice_value
from curata_labeling.schema import Control, LabelSchema


class LabelIssuesError(UsageError):
    """Inputs that confident learning cannot use."""

    def __init__(self, project: str, *, reason: str, hint: str | None = None) -> None:
        self.project = project
        self.reason = reason
        super().__init__(
            f"Cannot find label issues in project {project!r}: {reason}",
            hint=hint or f"Run `curata label pull --project {project}` and check --probs",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelIssue:
    """A record whose given label is likely wrong."""

    record_id: str
    given: str
    suggested: str
    label_quality: float

    def to_dict(self) -> dict[str, Any]:
        return {"_id": self.record_id, "given": self.given, "suggested": self.suggested,
                "label_quality": self.label_quality}


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelIssues:
    """``curata label issues`` output: the issues, most likely wrong first."""

    project: str
    control: str
    ref: str
    classes: list[str]
    n_records: int
    given_from: dict[str, int]
    issues: list[LabelIssue]
    review_push: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "control": self.control, "ref": self.ref,
                "classes": self.classes, "n_records": self.n_records,
                "given_from": self.given_from, "issues": [i.to_dict() for i in self.issues],
                "review_push": self.review_push}


def choice_control(schema: LabelSchema, name: str | None, project: str) -> Control:
    """The single-choice control to check: ``name``, else the only one in the schema."""
    if name is not None:
        if name not in schema.controls:
            raise LabelIssuesError(project, reason=f"no control {name!r}",
                                   hint=f"Controls: {', '.join(schema.controls)}")
        control = schema.controls[name]
    else:
        fits = [c for c in schema.controls.values() if c.kind == "choice"]
        if len(fits) != 1:
            raise LabelIssuesError(project, reason=f"{len(fits)} single-choice controls",
                                   hint="Name one with --control NAME")
        control = fits[0]
    if control.kind != "choice" or len(control.values) < 2:
        raise LabelIssuesError(project, reason=f"control {control.name!r} is not a single "
                               "choice of at least two values")
    return control


def majority_labels(state: Any, control: str) -> dict[str, str]:
    """Record id → plurality label of its current, non-cancelled annotations (no ties)."""
    votes: dict[str, dict[str, str]] = defaultdict(dict)
    for row in state.to_pylist():
        if row["was_cancelled"] or not row["record_id"]:
            continue
        label = choice_value(json.loads(row["values"] or "{}").get(control))
        if label is not None:
            votes[row["record_id"]][row["annotator"]] = label
    out = {}
    for record, by in votes.items():
        label, _ = majority_vote(list(by.values()))
        if label is not None:
            out[record] = label
    return out


def given_labels(records: pl.DataFrame, majority: dict[str, str], control: str
                 ) -> tuple[dict[str, str], dict[str, int]]:
    """Record id → given label (adjudicated first, else majority) and how many came from each."""
    adjudicated: dict[str, str] = {}
    col = f"label_{control}"
    if col in records.columns:
        for rid, lab in zip(records["_id"], records[col], strict=True):
            if lab is not None:
                adjudicated[rid] = lab
    given = {**majority, **adjudicated}
    counts = {"adjudicated": len(adjudicated),
              "majority": sum(1 for r in majority if r not in adjudicated)}
    return given, counts


def rank_issues(
    ids: list[str], labels: npt.NDArray[np.int64], probs: npt.NDArray[np.float64],
    classes: list[str],
) -> list[LabelIssue]:
    """The issues cleanlab finds, lowest label quality first (ties by ``_id``)."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    mask = find_label_issues(labels, probs, n_jobs=1)
    quality = get_label_quality_scores(labels, probs)
    hits = np.flatnonzero(mask)
    order = hits[np.lexsort((np.asarray(ids, dtype=object)[hits].astype(str), quality[hits]))]
    suggested = probs.argmax(axis=1)
    return [
        LabelIssue(record_id=ids[i], given=classes[labels[i]], suggested=classes[suggested[i]],
                   label_quality=float(quality[i]))
        for i in order
    ]


def find_issues(
    cat: Any,
    project: str,
    *,
    probs: str,
    control: str | None = None,
    ref: str | None = None,
) -> LabelIssues:
    """Rank the records of a project whose given label is likely wrong.

    Args:
        probs: ``list<float>`` column of out-of-sample class probabilities, one per choice of
            the control, in the schema's order.
        control: the single-choice control (default: the only one).
        ref: the snapshot holding ``probs`` (default: the latest of the project's dataset).

    Example:
        >>> find_issues(cat, "sentiment", probs="oof_probs").issues[:3]
    """
    from curata_labeling.schema import get_schema
    from curata_labeling.select import probabilities
    from curata_labeling.sync import get_project

    info = get_project(cat, project)
    schema = get_schema(cat, info.schema_name, info.schema_version)
    ctrl = choice_control(schema, control, project)
    snap = cat.snapshot(ref or info.dataset)
    if probs not in snap.schema.names:
        raise SchemaMismatchError(snap.dataset, reason=f"no column {probs!r}", columns=[probs])
    cols = ["_id", probs, *([f"label_{ctrl.name}"] if f"label_{ctrl.name}" in snap.schema.names
                            else [])]
    records = snap.to_polars(lazy=True).select(cols).collect().unique("_id", keep="first")
    state = store.current_state(store.read_events(cat, info.dataset, project=project))
    given, given_from = given_labels(records, majority_labels(state, ctrl.name), ctrl.name)
    classes = list(ctrl.values)
    index = {c: k for k, c in enumerate(classes)}
    unknown = sorted({g for g in given.values() if g not in index})
    if unknown:
        raise LabelIssuesError(project, reason=f"given labels {unknown} are not choices of "
                               f"{ctrl.name!r} ({classes})")
    rows = records.filter(pl.col("_id").is_in(list(given)) & pl.col(probs).is_not_null())
    rows = rows.sort("_id")
    if rows.height == 0:
        raise LabelIssuesError(project, reason="no record has both a given label and probs")
    p = probabilities(rows, probs)
    if p.shape[1] != len(classes):
        raise LabelIssuesError(project, reason=f"{probs!r} holds {p.shape[1]} probabilities, "
                               f"the control has {len(classes)} choices ({classes})")
    ids = rows["_id"].to_list()
    labels = np.array([index[given[r]] for r in ids], dtype=np.int64)
    return LabelIssues(project=project, control=ctrl.name, ref=snap.ref, classes=classes,
                       n_records=len(ids), given_from=given_from,
                       issues=rank_issues(ids, labels, p, classes))
