"""Labeling: annotator agreement (by control, label, annotator, week), review queue, schemas.

The numbers come from ``curata_labeling`` (the same code as ``curata label agreement``);
this page only draws them. Without that package the page says so.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st
from curata.errors import CurataError
from curata_ui import _catalog, _features, _render
from curata_ui._frames import head_frame

_MODULES = ("curata_labeling.agreement", "curata_labeling")
_BREAKDOWNS = (("by_control", "control"), ("by_label", "label"), ("by_annotator", "annotator"),
               ("by_week", "week"))
_REVIEW = ("needs_review", "review", "disagreements")
_SCHEMA_FNS = ("schema_versions", "list_schemas", "schemas")


def _frame(value: Any) -> pl.DataFrame | None:
    if value is None or isinstance(value, (int, float, str)):
        return None
    try:
        return head_frame(value, 10_000)
    except (TypeError, ValueError):
        return None


def _chart(frame: pl.DataFrame, axis: str) -> None:
    numeric = [c for c, t in frame.schema.items() if t.is_numeric() and c != axis]
    x = axis if axis in frame.columns else frame.columns[0]
    if numeric:
        chart = st.line_chart if axis == "week" else st.bar_chart
        chart(frame.to_pandas(), x=x, y=numeric[0])
    _render.table(frame)


def _report(report: Any) -> None:
    overall = getattr(report, "alpha", None) or getattr(report, "overall", None)
    if isinstance(overall, (int, float)):
        st.metric("Krippendorff's alpha (overall)", f"{overall:.3f}")
    for attr, axis in _BREAKDOWNS:
        frame = _frame(getattr(report, attr, None))
        if frame is not None and not frame.is_empty():
            st.subheader(f"Agreement by {axis}")
            _chart(frame, axis)
    for attr in _REVIEW:
        frame = _frame(getattr(report, attr, None))
        if frame is not None:
            st.subheader(f"Items that need review ({frame.height:,})")
            _render.table(frame.head(200))
            break


def render() -> None:
    st.title("Labeling")
    agreement = _features.function(_MODULES, ("agreement_report", "agreement_summary"))
    if agreement is None:
        st.info(_features.missing("Agreement dashboards",
                                  "`curata_labeling` with its agreement report"))
        return
    dataset = _catalog.dataset_picker(key="lab_dataset")
    if dataset is None:
        return
    cat = _catalog.catalog()
    try:
        _report(agreement(cat, dataset))
        schemas = _features.function(("curata_labeling.schemas", "curata_labeling"), _SCHEMA_FNS)
        st.subheader("Label schema versions")
        if schemas is None:
            st.info(_features.missing("Schema versions", "`curata_labeling` schemas"))
        else:
            _render.table(head_frame(schemas(cat, dataset), 1000))
    except CurataError as exc:
        _render.show_error(exc)


render()
