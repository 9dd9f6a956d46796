"""Model predictions as Label Studio pre-annotations, and their rows in the ``predictions`` table.

A prediction column of a snapshot holds one model output per record, in one of three shapes:

* ``string``: one choice of a choices control, with score 1.0;
* ``struct<label: string, score: float>``: one choice and the model's confidence;
* ``list<struct<label, x, y, width, height[, rotation][, score]>>``: boxes of a
  ``RectangleLabels`` control (``x``/``y``/``width``/``height`` in percent of the image, as Label
  Studio stores them), or ``list<struct<label, start, end[, score]>>``: spans of a ``Labels``
  control.

:func:`prediction_for` turns one value into the Label Studio prediction (``model_version``,
``score``, ``result``) that push attaches to the task; ``null`` means no prediction. On pull,
:func:`prediction_row` turns each Label Studio prediction into one row of the dataset's
``predictions`` table, so model guesses never mix with the annotators' work.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa
from curata.errors import SchemaMismatchError, UsageError

from curata_labeling.client import parse_time
from curata_labeling.results import normalize, result_hash
from curata_labeling.schema import Control, LabelSchema

_BOX_KEYS = ("x", "y", "width", "height")
_CHOICE_KINDS = ("choice", "multi")


class PredictionValueError(UsageError):
    """A prediction names a label the control does not offer, or has an unusable shape."""

    def __init__(self, column: str, *, record_id: str, value: Any, valid: Sequence[str]) -> None:
        self.column = column
        self.record_id = record_id
        self.value = value
        self.valid = list(valid)
        super().__init__(
            f"Prediction column {column!r}: record {record_id} predicts {value!r}, which the "
            f"labeling config does not offer (valid: {', '.join(self.valid) or 'none'})",
            hint="Map the model's classes to the config's choices, or add them to the config",
        )


class PredictionControlError(UsageError):
    """No control (or more than one) of the schema can take this prediction column."""

    def __init__(self, column: str, *, reason: str, controls: Sequence[str]) -> None:
        self.column = column
        self.reason = reason
        self.controls = list(controls)
        super().__init__(
            f"Prediction column {column!r}: {reason} (controls: {', '.join(self.controls)})",
            hint="Name the control with --prediction-control NAME",
        )


def column_shape(field: pa.Field) -> str:
    """``choice`` (string / struct{label, score}), ``box`` or ``span`` (lists of regions)."""
    t = field.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "choice"
    if pa.types.is_struct(t) and t.get_field_index("label") >= 0:
        return "choice"
    if (pa.types.is_list(t) or pa.types.is_large_list(t)) and pa.types.is_struct(t.value_type):
        names = {t.value_type.field(i).name for i in range(t.value_type.num_fields)}
        if "label" in names and set(_BOX_KEYS) <= names:
            return "box"
        if "label" in names and {"start", "end"} <= names:
            return "span"
    raise SchemaMismatchError(
        field.name,
        reason=f"a prediction column is a string, a struct{{label, score}} or a list of "
        f"regions (label + x/y/width/height, or label + start/end), not {t}",
        columns=[field.name],
    )


def pick_control(schema: LabelSchema, column: str, shape: str, name: str | None) -> Control:
    """The control a prediction column fills: ``name``, else the only one of its kind."""
    controls = schema.controls
    if name is not None:
        if name not in controls:
            raise PredictionControlError(column, reason=f"no control {name!r}", controls=controls)
        return controls[name]
    kinds = _CHOICE_KINDS if shape == "choice" else (shape,)
    fits = [c for c in controls.values() if c.kind in kinds]
    if len(fits) != 1:
        why = "no control takes it" if not fits else "several controls could take it"
        raise PredictionControlError(column, reason=why, controls=controls)
    return fits[0]


def _check(column: str, control: Control, record_id: str, label: Any) -> str:
    label = str(label)
    if control.values and label not in control.values:
        raise PredictionValueError(column, record_id=record_id, value=label, valid=control.values)
    return label


def _region(control: Control, shape: str, label: str, region: dict[str, Any]) -> dict[str, Any]:
    if shape == "box":
        value = {k: float(region[k]) for k in _BOX_KEYS}
        value["rotation"] = float(region.get("rotation") or 0.0)
        value[control.tag] = [label]
    else:
        value = {"start": int(region["start"]), "end": int(region["end"]), control.tag: [label]}
    item = {
        "from_name": control.name,
        "to_name": control.to_name[0],
        "type": control.tag,
        "value": value,
    }
    if region.get("score") is not None:
        item["score"] = float(region["score"])
    return item


def prediction_for(
    value: Any, *, column: str, shape: str, control: Control, record_id: str, model_version: str
) -> dict[str, Any] | None:
    """The Label Studio prediction of one record's value, or ``None`` for a null value.

    The score of a region prediction is the mean of its regions' scores (``None`` if none).
    """
    if value is None:
        return None
    if shape == "choice":
        label, score = (value, 1.0) if isinstance(value, str) else (value.get("label"), None)
        if label is None:
            return None
        if not isinstance(value, str):
            score = 1.0 if value.get("score") is None else float(value["score"])
        choice = {"choices": [_check(column, control, record_id, label)]}
        result = [{"from_name": control.name, "to_name": control.to_name[0],
                   "type": control.tag, "value": choice}]  # fmt: skip
        return {"model_version": model_version, "score": score, "result": result}
    result = [
        _region(control, shape, _check(column, control, record_id, r["label"]), r)
        for r in value
        if r is not None and r.get("label") is not None
    ]
    scores = [r["score"] for r in result if "score" in r]
    score = sum(scores) / len(scores) if scores else None
    return {"model_version": model_version, "score": score, "result": result}


def prediction_row(
    pred: dict[str, Any], task: dict[str, Any], *, info: Any, pulled_at: datetime, event: str
) -> dict[str, Any]:
    """One ``predictions``-table row from a Label Studio prediction of ``task``."""
    data = task.get("data") or {}
    result = pred.get("result") or []
    return {
        "project": info.name,
        "ls_url": info.ls_url,
        "ls_project_id": info.ls_project_id,
        "ls_task_id": int(task["id"]) if task.get("id") is not None else None,
        "ls_prediction_id": int(pred["id"]),
        "record_id": data.get("_id"),
        "dataset_version": data.get("_version"),
        "model_version": None if pred.get("model_version") is None else str(pred["model_version"]),
        "score": None if pred.get("score") is None else float(pred["score"]),
        "values": json.dumps(normalize(result), sort_keys=True),
        "result": json.dumps(result, sort_keys=True),
        "result_hash": result_hash(result),
        "created_at": parse_time(pred.get("created_at")),
        "updated_at": parse_time(pred.get("updated_at")) or parse_time(pred.get("created_at")),
        "pulled_at": pulled_at,
        "event": event,
        "origin": "label-studio",
    }


def model_judgements(cat: Any, project: str, model_version: str) -> list[Any]:
    """The current predictions of ``model_version`` as judgements of annotator ``model:V``."""
    from curata_labeling import store
    from curata_labeling.report import Judgement
    from curata_labeling.sync import get_project

    info = get_project(cat, project)
    events = store.read_events(cat, info.dataset, project=project, kind="predictions")
    state = store.current_state(events, key="ls_prediction_id")
    rows = []
    for r in state.to_pylist():
        if r["model_version"] != model_version:
            continue
        item = r["record_id"] or str(r["ls_task_id"])
        for control, value in json.loads(r["values"] or "{}").items():
            rows.append(Judgement(item=item, annotator=model_annotator(model_version),
                                  control=control, value=value, created_at=r["created_at"]))
    return rows


def model_annotator(model_version: str) -> str:
    """The annotator name a model's predictions carry in agreement reports."""
    return f"model:{model_version}"
