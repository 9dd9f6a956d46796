"""Licenses & provenance: license mix, sources, attribution, obligations and the verdict.

The obligations, conflicts, credits and the verdict for a purpose come from
``curata.governance.license_report``: the same evaluation as ``curata license`` and the export
gate.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st
from curata.errors import CurataError
from curata.governance import PURPOSES, license_report
from curata_ui import _catalog, _render, _stats


@st.cache_data(show_spinner="Evaluating licenses…", max_entries=64)
def _report(pinned_ref: str, purpose: str) -> dict[str, Any]:
    return license_report(_catalog.catalog().store, _catalog.snapshot(pinned_ref), purpose).to_dict()


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    flat = [{k: ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v
             for k, v in row.items()} for row in rows]
    return pl.DataFrame(flat, infer_schema_length=None, strict=False)


def _governed(report: dict[str, Any]) -> None:
    verdict = report["verdict"]
    if verdict["allowed"]:
        st.success(f"Allowed for {verdict['purpose']} use ({verdict['total_records']:,} records)")
    else:
        st.error(f"Not allowed for {verdict['purpose']} use")
        _render.table(pl.DataFrame({"license": list(verdict["violations"]),
                                    "records": list(verdict["violations"].values())}))
    if verdict.get("binding_license"):
        st.text(f"Derived data must carry: {verdict['binding_license']} (share-alike)")
    st.subheader("Obligations")
    _render.table(_frame(verdict["obligations"]))
    if verdict["conflicts"]:
        st.subheader("Conflicts")
        _render.table(_frame(verdict["conflicts"]))
    st.subheader("Attribution (who must be credited)")
    _render.table(_frame(report["credits"]))


def render() -> None:
    st.title("Licenses & provenance")
    dataset = _catalog.dataset_picker(key="lic_dataset")
    if dataset is None:
        return
    ref = _catalog.ref_picker(dataset, key="lic_ref")
    purpose = st.selectbox("Purpose", PURPOSES, key="lic_purpose")
    try:
        snap = _catalog.snapshot(ref)
        pinned = f"{snap.dataset}@{snap.version}"
        mix = _stats.license_mix(pinned)
        st.subheader("License mix")
        st.bar_chart(mix.to_pandas(), x="_license", y="records")
        _render.table(mix)
        st.subheader("Sources")
        counts = _stats.sources(pinned)
        details = _stats.source_details(snap.dataset, counts.get_column("_source").to_list())
        _render.table(counts.join(details.select("_source", "name"), on="_source", how="left")
                      .select("name", pl.exclude("name")))
        _governed(_report(pinned, purpose))
    except CurataError as exc:
        _render.show_error(exc)


render()
