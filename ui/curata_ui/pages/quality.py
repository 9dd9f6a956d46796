"""Quality: what a pinned snapshot holds and how clean it is — rows per license, source, split
and language, text length histograms, and the share of records failing each quality rule or
holding each kind of personal data (the figures of ``curata stats``, as charts).

The statistics are aggregates computed by ``Snapshot.stats()`` (lazy Polars queries over the
pinned version) and cached per pinned ref; no rows are sent to the browser.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st
from curata.errors import CurataError
from curata_ui import _catalog, _render


@st.cache_data(show_spinner="Computing statistics…", max_entries=32)
def _stats(pinned_ref: str) -> dict[str, Any]:
    from curata.quality.stats import snapshot_stats

    return snapshot_stats(_catalog.snapshot(pinned_ref)).to_dict()


def _bars(title: str, counts: dict[str, Any], value: str) -> None:
    if not counts:
        return
    frame = pl.DataFrame({"value": list(counts), value: list(counts.values())})
    st.subheader(title)
    st.bar_chart(frame, x="value", y=value, horizontal=True)


def _lengths(column: str, info: dict[str, Any]) -> None:
    hist = pl.DataFrame(info["histogram"]).select(
        bin=pl.format("{}–{}", "lo", "hi"), records="count")
    st.subheader(f"Length of {column} (characters)")
    st.caption(f"min {info['min']:.0f} · median {info['p50']:.0f} · p90 {info['p90']:.0f} · "
               f"max {info['max']:.0f}")
    st.bar_chart(hist, x="bin", y="records", sort=False)


def render() -> None:
    st.title("Quality")
    dataset = _catalog.dataset_picker(key="quality_dataset")
    if dataset is None:
        return
    ref = _catalog.ref_picker(dataset, key="quality_ref")
    try:
        snap = _catalog.snapshot(ref)
        stats = _stats(f"{snap.dataset}@{snap.version}")
    except CurataError as exc:
        _render.show_error(exc)
        return
    st.text(f"{snap.dataset}@{snap.version} · fingerprint {stats['fingerprint']} · "
            f"{stats['rows']:,} records")
    rates = stats["rates"]
    issues, pii = rates.get("quality_issues", {}), rates.get("pii", {})
    c1, c2, c3 = st.columns(3)
    c1.metric("Records", f"{stats['rows']:,}")
    c2.metric("Quality rules failed", len(issues))
    c3.metric("PII kinds found", len(pii))
    if not issues and not pii and "quality_issues" not in rates:
        st.info("No quality columns yet: derive with the `language`, `quality` and `pii` steps "
                "(`curata derive REF --pipeline quality.yaml --into NAME`).")
    _bars("Quality issues (share of records)", issues, "share")
    _bars("Personal data (share of records)", pii, "share")
    for column, counts in stats["by"].items():
        _bars(f"Records by {column}", counts, "records")
    for column, info in stats["lengths"].items():
        _lengths(column, info)


render()
