"""Licenses & provenance: license mix, sources, attribution and obligations of a snapshot."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st
from curata.errors import CurataError
from curata_ui import _catalog, _features, _render, _stats
from curata_ui._frames import to_frame

# What each license family asks of whoever uses or redistributes the data. A short summary
# for curators; the governance module, when installed, gives the authoritative evaluation.
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


def _obligations(snap: Any, mix: pl.DataFrame) -> pl.DataFrame:
    fn = _features.function(("curata.governance", "curata.licenses"), ("obligations",))
    if fn is not None:
        return to_frame(fn(snap))
    return mix.with_columns(
        pl.col("_license").map_elements(basic_obligations, return_dtype=pl.String)
        .alias("obligations")
    )


def render() -> None:
    st.title("Licenses & provenance")
    dataset = _catalog.dataset_picker(key="lic_dataset")
    if dataset is None:
        return
    ref = _catalog.ref_picker(dataset, key="lic_ref")
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
        st.subheader("Attribution")
        if details.is_empty():
            st.info(_features.missing("Attribution texts", "the catalog's source records"))
        else:
            _render.table(details)
        st.subheader("Obligations")
        _render.table(_obligations(snap, mix))
    except CurataError as exc:
        _render.show_error(exc)


render()
