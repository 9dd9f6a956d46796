"""Ingest runs: run history with counts, and a paged browser over quarantined (rejected) rows."""

from __future__ import annotations

from typing import Any

import polars as pl
import pyarrow as pa
import streamlit as st

from curata.errors import CurataError
from curata_ui import _catalog, _features, _render
from curata_ui._frames import grid_frame, read_page, to_frame

PAGE_SIZE = 50
_RUN_METHODS = ("ingest_runs", "runs")
_COUNT_COLUMNS = ("rows_in", "rows_written", "rows_rejected", "rows_duplicate", "records",
                  "rejected", "duplicates", "accepted")


def _runs(cat: Any, dataset: str) -> pl.DataFrame | None:
    for name in _RUN_METHODS:
        if _catalog.has(cat, name):
            return to_frame(getattr(cat, name)(dataset))
    return None


def _rejects_scan(rejects: Any) -> pl.LazyFrame:
    if isinstance(rejects, pl.LazyFrame):
        return rejects
    if isinstance(rejects, pl.DataFrame):
        return rejects.lazy()
    if isinstance(rejects, (pa.Table, pa.RecordBatchReader)):
        return pl.from_arrow(rejects.read_all() if isinstance(rejects, pa.RecordBatchReader)
                             else rejects).lazy()
    if hasattr(rejects, "to_polars"):
        return rejects.to_polars(lazy=True)
    return to_frame(rejects).lazy()


def _history(cat: Any, dataset: str) -> None:
    st.subheader("Run history")
    runs = _runs(cat, dataset)
    if runs is None:
        st.info(_features.missing("Ingest run history", "the ingest run records of `curata_ingest`"))
        return
    if runs.is_empty():
        st.text("No ingest runs recorded for this dataset.")
        return
    counts = [c for c in _COUNT_COLUMNS if c in runs.columns]
    if counts:
        st.bar_chart(runs.select(counts).to_pandas())
    _render.table(runs)


def _quarantine(cat: Any, dataset: str) -> None:
    st.subheader("Quarantined rows")
    if not _catalog.has(cat, "rejects"):
        st.info(_features.missing("The quarantine browser", "`Catalog.rejects()`"))
        return
    lf = _rejects_scan(cat.rejects(dataset))
    schema = lf.collect_schema()
    where = None
    if "reason" in schema:
        reasons = lf.select(pl.col("reason").unique().sort()).collect().get_column("reason")
        chosen = st.multiselect("Reason", reasons.to_list(), key="rej_reason")
        where = pl.col("reason").is_in(chosen) if chosen else None
    number = st.number_input("Page", min_value=1, value=1, key="rej_page")
    page = read_page(lf, page=int(number) - 1, page_size=PAGE_SIZE, total=None, where=where)
    st.text(f"{page.total:,} quarantined rows · page {page.offset // PAGE_SIZE + 1} "
            f"of {page.page_count}")
    _render.table(grid_frame(page.rows)[0])


def render() -> None:
    st.title("Ingest runs")
    dataset = _catalog.dataset_picker(key="runs_dataset")
    if dataset is None:
        return
    cat = _catalog.catalog()
    try:
        _history(cat, dataset)
        _quarantine(cat, dataset)
    except CurataError as exc:
        _render.show_error(exc)


render()
