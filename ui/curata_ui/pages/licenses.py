"""Licenses & provenance: license mix, sources, attribution, obligations and the verdict.

With ``curata.governance`` installed the obligations, conflicts, credits and the verdict for a
purpose come from ``license_report`` — the same evaluation as ``curata license`` and the export
gate. Without it the page shows the mix, the sources' attribution and a short summary of each
license family's obligations.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st
from curata.errors import CurataError
from curata_ui import _catalog, _features, _render, _stats

PURPOSES = ("commercial", "research", "internal")
# A short summary for curators when the governance module is not installed.
_FAMILY_OBLIGATIONS = (
    ("-NC", "non-commercial use only"),
    ("-ND", "no derivatives may be shared"),
    ("-SA", "share-alike: derived data must carry the same license"),
    ("CC-BY", "credit the source (attribution)"),
    ("ODC-BY", "credit the source (attribution)"),
    ("ODBL", "attribution and share-alike for the database"),
    ("GPL", "copyleft: derived works under the GPL"),
    ("APACHE", "keep the license and NOTICE"),
    ("MIT", "keep the copyright notice"),
    ("BSD", "keep the copyright notice"),
    ("CC0", "none (public domain dedication)"),
    ("PDDL", "none (public domain dedication)"),
    ("UNKNOWN", "unknown license: do not redistribute until resolved"),
)


def basic_obligations(license: str) -> str:
    upper = license.upper()
    found = [text for key, text in _FAMILY_OBLIGATIONS if key in upper]
    return "; ".join(dict.fromkeys(found)) or "check the license text"


@st.cache_data(show_spinner="Evaluating licenses…", max_entries=64)
def _report(pinned_ref: str, purpose: str) -> dict[str, Any] | None:
    fn = _features.function(("curata.governance",), ("license_report",))
    if fn is None:
        return None
    return fn(_catalog.catalog(), _catalog.snapshot(pinned_ref), purpose).to_dict()


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


def _basic(snap: Any, counts: pl.DataFrame, mix: pl.DataFrame) -> None:
    st.info(_features.missing("The license verdict for a purpose", "`curata.governance`"))
    st.subheader("Attribution")
    _render.table(_stats.source_details(snap.dataset, counts.get_column("_source").to_list()))
    st.subheader("Obligations")
    _render.table(mix.with_columns(
        pl.col("_license").map_elements(basic_obligations, return_dtype=pl.String)
        .alias("obligations")))


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
        report = _report(pinned, purpose)
        if report is None:
            _basic(snap, counts, mix)
        else:
            _governed(report)
    except CurataError as exc:
        _render.show_error(exc)


render()
