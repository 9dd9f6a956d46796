"""Labeling: annotator agreement by control, label, annotator and week; annotator quality;
label-schema versions.

The numbers come from ``curata_labeling`` (the same code as ``curata label agreement``, whose
JSON holds a ``controls`` object keyed by control name with ``percent_agreement``,
``cohen_kappa``, ``fleiss_kappa``, ``krippendorff_alpha``, ``gwet_ac1``…); this page only
draws them. ``curata-labeling`` is an optional workspace member: without it the page says so.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import curata
import polars as pl
import streamlit as st
from curata.errors import CurataError
from curata_ui import _catalog, _render
from curata_ui._frames import to_frame

# curata-ui does not depend on curata-labeling (an optional workspace member).
LABELING_INSTALLED = importlib.util.find_spec("curata_labeling") is not None
if LABELING_INSTALLED:
    from curata_labeling import (
        agreement_report,
        annotator_quality,
        model_versions,
        projects,
        schema_versions,
    )

NOT_INSTALLED = ("Labeling dashboards are not available in this installation: they need the optional "
                 "`curata-labeling` package, which is not installed. The rest of the app works "
                 "without it.")
_BY = ("label", "annotator", "week")
_METRIC = ("krippendorff_alpha", "percent_agreement", "cohen_kappa", "fleiss_kappa", "gwet_ac1")


def keyed_frame(value: dict[str, dict[str, Any]], key: str) -> pl.DataFrame | None:
    """``{name: {metric: x}}`` as a table with one row per name (nested breakdowns left out)."""
    if not value:
        return None
    rows = [{key: k, **{m: x for m, x in v.items() if not isinstance(x, (dict, list))}}
            for k, v in value.items()]
    return pl.DataFrame(rows, infer_schema_length=None, strict=False)


def _chart(frame: pl.DataFrame, key: str) -> None:
    metric = next((m for m in _METRIC if m in frame.columns), None)
    if metric is not None:
        chart = st.line_chart if key == "week" else st.bar_chart
        chart(frame.select(pl.col(key).cast(pl.String), metric).to_pandas(), x=key, y=metric)
    _render.table(frame)


def _section(by: str, value: dict[str, dict[str, Any]]) -> None:
    frame = keyed_frame(value, by)
    if frame is not None:
        st.subheader(f"Agreement by {by}")
        _chart(frame, by)


def _breakdowns(cat: curata.Catalog, project: str) -> None:
    _section("control", agreement_report(cat, project)["controls"])
    for by in _BY:
        _section(by, agreement_report(cat, project, by=by)[f"by_{by}"])


def _project(cat: curata.Catalog) -> str | None:
    names = [p.name for p in projects(cat)]
    if not names:
        st.info("Agreement is not available yet: no Label Studio project is linked to this "
                "catalog. Run `curata label push DATASET@REF --project NAME --schema FILE`, "
                "then `curata label pull --project NAME`.")
        return None
    return st.selectbox("Label Studio project", names, key="lab_project")


def _quality(cat: curata.Catalog, project: str) -> None:
    """Per-annotator accuracy against adjudicated (else majority) labels, weekly drift,
    confusion; a model's pulled predictions scored the same way when one is chosen."""
    versions = model_versions(cat, project)
    model = st.selectbox("Score a model's predictions too", ["(none)", *versions],
                         key="lab_model") if versions else "(none)"
    report = annotator_quality(cat, project, model_version=None if model == "(none)" else model)
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
    if not LABELING_INSTALLED:
        st.info(NOT_INSTALLED)
        return
    cat = _catalog.catalog()
    project = _project(cat)
    if not project:
        return
    try:
        _breakdowns(cat, project)
        _quality(cat, project)
        st.subheader("Label schema versions")
        _render.table(to_frame(schema_versions(cat, project)))
    except CurataError as exc:
        _render.show_error(exc)


render()
