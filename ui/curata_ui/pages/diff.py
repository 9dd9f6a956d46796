"""Diff: what changed between two refs (added / removed / changed counts and examples)."""

from __future__ import annotations

import polars as pl
import streamlit as st
from curata.diff import Diff
from curata.errors import CurataError
from curata_ui import _catalog, _render
from curata_ui._frames import grid_frame

EXAMPLES = 20
KINDS = ("added", "removed", "changed")


def _examples(diff: Diff) -> dict[str, pl.DataFrame]:
    tables = {"added": diff.added, "removed": diff.removed, "changed": diff.changed}
    return {kind: pl.DataFrame(table.slice(0, EXAMPLES)) for kind, table in tables.items()}


def _show(diff: Diff) -> None:
    for col, kind in zip(st.columns(3), KINDS, strict=True):
        col.metric(kind, f"{diff.counts[kind]:,}")
    for kind, examples in _examples(diff).items():
        st.subheader(f"{kind.capitalize()} (first {EXAMPLES})")
        grid, images = grid_frame(examples)
        config = {c: st.column_config.ImageColumn(c) for c in images}
        _render.table(grid, column_config=config)


def render() -> None:
    st.title("Diff")
    dataset = _catalog.dataset_picker(key="diff_dataset")
    if dataset is None:
        return
    left, right = st.columns(2)
    with left:
        # Latest is option 0 and the newest tag / previous version follows: compare those.
        a = _catalog.ref_picker(dataset, "From (A)", key="diff_a", default=1)
    with right:
        b = _catalog.ref_picker(dataset, "To (B)", key="diff_b")
    if st.button("Compare", key="diff_go"):
        try:
            st.session_state["diff_result"] = ((a, b), _catalog.catalog().diff(a, b))
        except CurataError as exc:
            _render.show_error(exc)
            return
    stored = st.session_state.get("diff_result")
    if stored and stored[0] == (a, b):
        st.text(f"{a} → {b}")
        _show(stored[1])


render()
