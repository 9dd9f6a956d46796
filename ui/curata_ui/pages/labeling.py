"""Labeling: annotator agreement by control, label, annotator and week; review queue; schemas.

The numbers come from ``curata_labeling`` (the same code as ``curata label agreement``, whose
JSON holds a ``controls`` object keyed by control name with ``percent_agreement``,
``cohen_kappa``, ``fleiss_kappa``, ``krippendorff_alpha``, ``gwet_ac1``…); this page only
draws them. Without that package, or before its agreement code lands, the page says so.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import polars as pl
import streamlit as st
from curata.errors import CurataError
from curata_ui import _catalog, _features, _render
from curata_ui._frames import to_frame

_MODULES = ("curata_labeling.agreement", "curata_labeling")
_AGREEMENT = ("agreement_report", "agreement", "compute_agreement")
_PROJECTS = ("projects", "list_projects")
_SCHEMAS = ("schema_versions", "list_schemas", "schemas")
_BY = ("control", "label", "annotator", "week")
_METRIC = ("krippendorff_alpha", "percent_agreement", "cohen_kappa", "fleiss_kappa", "gwet_ac1")


def call(fn: Callable[..., Any], **available: Any) -> Any:
    """Call ``fn`` with the arguments it names (``cat``/``catalog``, ``project``, ``by``)."""
    values = {**available, "catalog": available.get("cat"),
              "project_name": available.get("project")}
    params = inspect.signature(fn).parameters
    return fn(**{name: values[name] for name in params if values.get(name) is not None})


def as_dict(report: Any) -> dict[str, Any]:
    if hasattr(report, "to_dict"):
        return report.to_dict()
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        return dataclasses.asdict(report)
    return dict(report) if isinstance(report, dict) else {}


def keyed_frame(value: Any, key: str) -> pl.DataFrame | None:
    """``{name: {metric: x}}`` or ``[{...}]`` as a table with one row per group."""
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        rows = [{key: k, **{m: x for m, x in v.items() if not isinstance(x, (dict, list))}}
                for k, v in value.items()]
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        rows = value
    else:
        return None
    return pl.DataFrame(rows, infer_schema_length=None, strict=False)


def _chart(frame: pl.DataFrame, key: str) -> None:
    metric = next((m for m in _METRIC if m in frame.columns), None)
    if metric is not None and key in frame.columns:
        chart = st.line_chart if key == "week" else st.bar_chart
        chart(frame.select(pl.col(key).cast(pl.String), metric).to_pandas(), x=key, y=metric)
    _render.table(frame)


def _breakdowns(fn: Callable[..., Any], cat: Any, project: str) -> None:
    report = as_dict(call(fn, cat=cat, project=project))
    for by in _BY:
        data = report if by == "control" else as_dict(call(fn, cat=cat, project=project, by=by))
        value = data.get("controls") if by == "control" else (
            data.get("groups") or data.get(by) or data.get(f"by_{by}"))
        frame = keyed_frame(value, by)
        if frame is not None:
            st.subheader(f"Agreement by {by}")
            _chart(frame, by)
    review = keyed_frame(report.get("review") or report.get("needs_review"), "item")
    if review is not None:
        st.subheader(f"Items that need review ({review.height:,})")
        _render.table(review.head(200))


def _project(cat: Any) -> str | None:
    lister = _features.function(("curata_labeling",), _PROJECTS)
    names = [getattr(p, "name", p) for p in call(lister, cat=cat)] if lister else []
    if names:
        return st.selectbox("Label Studio project", names, key="lab_project")
    if lister is not None:
        st.info("Agreement is not available yet: no Label Studio project is linked to this "
                "catalog. Run `curata label push DATASET@REF --project NAME --schema FILE`, "
                "then `curata label pull --project NAME`.")
        return None
    return st.text_input("Label Studio project", key="lab_project_name") or None


def _quality(cat: Any, project: str) -> None:
    """Per-annotator accuracy against adjudicated (else majority) labels, weekly drift,
    confusion; a model's pulled predictions scored the same way when one is chosen."""
    quality = _features.function(("curata_labeling",), ("annotator_quality",))
    if quality is None:
        return
    versions_fn = _features.function(("curata_labeling",), ("model_versions",))
    versions = call(versions_fn, cat=cat, project=project) if versions_fn else []
    model = st.selectbox("Score a model's predictions too", ["(none)", *versions],
                         key="lab_model") if versions else "(none)"
    report = quality(cat, project, model_version=None if model == "(none)" else model)
    rows = report.get("annotators") or []
    st.subheader(f"Annotator quality ({report.get('control')})")
    st.caption("Reference labels: " + ", ".join(
        f"{k} {v:,}" for k, v in (report.get("reference") or {}).items()))
    if not rows:
        st.info("No single-choice annotations to score yet.")
        return
    _render.table(pl.DataFrame(
        [{"annotator": a["annotator"], "n": a["n"], "accuracy": a["accuracy"],
          "dawid_skene_accuracy": (a.get("dawid_skene") or {}).get("accuracy"),
          "model": a.get("is_model", False)} for a in rows], strict=False))
    weekly = [{"annotator": a["annotator"], **w} for a in rows for w in a["weekly"]]
    if weekly:
        st.subheader("Accuracy by week")
        frame = pl.DataFrame(weekly, strict=False).pivot(
            on="annotator", index="week", values="accuracy").sort("week")
        st.line_chart(frame.to_pandas(), x="week")
    who = st.selectbox("Confusion of", [a["annotator"] for a in rows], key="lab_confusion")
    chosen = next(a for a in rows if a["annotator"] == who)
    confusion = [{"given": g, **t} for g, t in chosen["confusion"].items()]
    if confusion:
        _render.table(pl.DataFrame(confusion, strict=False))


def render() -> None:
    st.title("Labeling")
    fn = _features.function(_MODULES, _AGREEMENT)
    if fn is None:
        st.info(_features.missing("Agreement dashboards", "`curata_labeling` agreement"))
        return
    cat = _catalog.catalog()
    project = _project(cat)
    if not project:
        return
    try:
        _breakdowns(fn, cat, project)
        _quality(cat, project)
        schemas = _features.function(("curata_labeling.schemas", "curata_labeling"), _SCHEMAS)
        st.subheader("Label schema versions")
        if schemas is None:
            st.info(_features.missing("Schema versions", "`curata_labeling` schemas"))
        else:
            _render.table(to_frame(call(schemas, cat=cat, project=project)))
    except CurataError as exc:
        _render.show_error(exc)


render()
