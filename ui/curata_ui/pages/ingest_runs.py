"""Ingest runs: run history with counts, and a paged browser over quarantined (rejected) rows."""

from __future__ import annotations

from typing import Any

import curata
import polars as pl
import streamlit as st
from curata.errors import CurataError
from curata_ui import _catalog, _render
from curata_ui._frames import grid_frame, read_page, to_records

PAGE_SIZE = 50
_FIELDS = ("id", "operation", "status", "started_at", "finished_at", "version", "user", "error")


def _runs(cat: curata.Catalog, dataset: str) -> tuple[pl.DataFrame, list[str]]:
    """Runs (newest first) with their numeric stats as columns, and those columns' names."""
    rows: list[dict[str, Any]] = []
    counts: list[str] = []
    for run in cat.runs(dataset):
        stats = {k: v for k, v in run.stats.items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool)}
        counts += [k for k in stats if k not in counts]
        rows.append({**to_records([run])[0], **stats})
    if not rows:
        return pl.DataFrame(), []
    frame = pl.DataFrame(rows, infer_schema_length=None, strict=False)
    return frame.select(*_FIELDS, *counts), counts


def _history(cat: curata.Catalog, dataset: str) -> None:
    st.subheader("Run history")
    runs, counts = _runs(cat, dataset)
    if runs.is_empty():
        st.text("No ingest runs recorded for this dataset.")
        return
    if counts:
        chart = runs.select("started_at", *counts).with_columns(
            pl.col("started_at").cast(pl.String))
        st.bar_chart(chart.to_pandas(), x="started_at", y=counts)
    _render.table(runs)


def _quarantine(cat: curata.Catalog, dataset: str) -> None:
    st.subheader("Quarantined rows")
    lf = pl.DataFrame(cat.rejects(dataset)).lazy()
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
    _render.table(grid_frame(page.rows, decode_binary=True)[0])


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
