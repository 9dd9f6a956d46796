"""Browse: page through a pinned snapshot, filter and search it, and open one record.

Only the requested page is read from the lazy Delta scan (``slice`` on a ``LazyFrame``);
filters and search are Polars expressions built from the widgets' typed values.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st
from curata.errors import CurataError
from curata_ui import _catalog, _render
from curata_ui._frames import (
    FILTER_OPS,
    QUALITY_COLUMNS,
    ColumnFilter,
    Page,
    QualityFilter,
    combine,
    grid_frame,
    read_page,
)

PAGE_SIZES = (25, 50, 100)


@st.cache_data(show_spinner="Counting matches…", max_entries=64)
def _count(pinned_ref: str, filters: tuple[ColumnFilter, ...], search: str,
           quality: QualityFilter | None = None) -> int:
    snap = _catalog.snapshot(pinned_ref)
    lf = _catalog.scan(snap)
    where = combine(filters, lf.collect_schema(), search, quality)
    scan = lf if where is None else lf.filter(where)
    return int(scan.select(pl.len()).collect().item())


def _filter_widgets(schema: pl.Schema) -> tuple[ColumnFilter, ...]:
    with st.expander("Column filters"):
        n = int(st.number_input("Number of filters", 0, 5, 0, key="browse_nfilters"))
        filters = []
        for i in range(n):
            c1, c2, c3 = st.columns([2, 1, 2])
            column = c1.selectbox("Column", list(schema), key=f"browse_fcol_{i}")
            op = c2.selectbox("Operator", FILTER_OPS, key=f"browse_fop_{i}")
            value = c3.text_input("Value", key=f"browse_fval_{i}")
            filters.append(ColumnFilter(column=column, op=op, value=value))
    return tuple(filters)


@st.cache_data(show_spinner=False, max_entries=64)
def _values(pinned_ref: str, column: str) -> list[str]:
    """Distinct values of a quality column (list columns exploded), for the filter widgets."""
    lf = _catalog.scan(_catalog.snapshot(pinned_ref))
    col = pl.col(column)
    if isinstance(lf.collect_schema()[column], pl.List):
        col = col.explode()
    return sorted(v for v in lf.select(col.unique()).collect().to_series().to_list()
                  if v is not None)


def _quality_widgets(pinned: str, schema: pl.Schema) -> QualityFilter | None:
    present = [c for c in QUALITY_COLUMNS if c in schema]
    if not present:
        return None
    with st.expander("Quality filters", expanded=False):
        c1, c2, c3 = st.columns(3)
        langs = c1.multiselect("Language", _values(pinned, "lang"), key="browse_q_lang") \
            if "lang" in schema else []
        issues, clean = [], False
        if "quality_issues" in schema:
            issues = c2.multiselect("Quality issue", _values(pinned, "quality_issues"),
                                    key="browse_q_issues")
            clean = c2.checkbox("No quality issues", key="browse_q_clean")
        pii, no_pii = [], False
        if "pii" in schema:
            pii = c3.multiselect("PII kind", _values(pinned, "pii"), key="browse_q_pii")
            no_pii = c3.checkbox("No PII", key="browse_q_nopii")
        contaminated = None
        if "contaminated" in schema:
            choice = c1.selectbox("Contaminated", ["any", "yes", "no"], key="browse_q_cont")
            contaminated = None if choice == "any" else choice == "yes"
    return QualityFilter(langs=tuple(langs), issues=tuple(issues), clean_only=clean,
                         pii=tuple(pii), no_pii=no_pii, contaminated=contaminated)


def _page(snap: Any, filters: tuple[ColumnFilter, ...], search: str,
          quality: QualityFilter | None = None) -> Page:
    lf = _catalog.scan(snap)
    where = combine(filters, lf.collect_schema(), search, quality)
    pinned = f"{snap.dataset}@{snap.version}"
    total = snap.num_rows if where is None else _count(pinned, filters, search, quality)
    size = st.session_state.get("browse_page_size", PAGE_SIZES[1])
    number = int(st.session_state.get("browse_page", 1))
    return read_page(lf, page=number - 1, page_size=size, total=total, where=where)


def _grid(page: Page) -> None:
    grid, images = grid_frame(page.rows)
    config = {c: st.column_config.ImageColumn(c, width="small") for c in images}
    _render.table(grid, column_config=config, row_height=64 if images else None)


def _record_picker(page: Page) -> dict[str, Any] | None:
    if page.rows.is_empty():
        return None
    # Options are the rows' ids (not positions) so a new page or search resets the choice.
    keys = (page.rows.get_column("_id").to_list() if "_id" in page.rows.columns
            else [str(page.offset + i) for i in range(page.rows.height)])
    labels = {k: f"#{page.offset + i + 1}  {k}" for i, k in enumerate(keys)}
    chosen = st.selectbox("Open record", keys, format_func=labels.__getitem__,
                          key="browse_record")
    return page.rows.row(keys.index(chosen) if chosen in labels else 0, named=True)


def render() -> None:
    st.title("Browse")
    dataset = _catalog.dataset_picker(key="browse_dataset")
    if dataset is None:
        return
    ref = _catalog.ref_picker(dataset, key="browse_ref")
    try:
        snap = _catalog.snapshot(ref)
        schema = _catalog.scan(snap).collect_schema()
        search = st.text_input("Search text columns", key="browse_search",
                               placeholder="words to find (literal, case-insensitive)")
        filters = _filter_widgets(schema)
        quality = _quality_widgets(f"{snap.dataset}@{snap.version}", schema)
        c1, c2 = st.columns([1, 1])
        c1.number_input("Page", min_value=1, value=1, step=1, key="browse_page")
        c2.selectbox("Rows per page", PAGE_SIZES, index=1, key="browse_page_size")
        page = _page(snap, filters, search, quality)
    except CurataError as exc:
        _render.show_error(exc)
        return
    st.text(f"{snap.dataset}@{snap.version} · fingerprint {snap.fingerprint} · "
            f"rows {page.offset + 1 if page.total else 0}–{page.offset + page.rows.height} "
            f"of {page.total:,} · page {page.offset // page.page_size + 1} of {page.page_count}")
    _grid(page)
    row = _record_picker(page)
    if row is not None:
        st.subheader("Record")
        _render.record(row)


render()
