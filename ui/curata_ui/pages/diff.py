"""Diff: what changed between two refs (added / removed / changed counts and examples)."""

from __future__ import annotations

from typing import Any

import streamlit as st
from curata.errors import CurataError
from curata_ui import _catalog, _features, _render
from curata_ui._frames import grid_frame, head_frame

EXAMPLES = 20
KINDS = ("added", "removed", "changed")


def _counts(diff: Any) -> dict[str, int]:
    counts = getattr(diff, "counts", None)
    if isinstance(counts, dict):
        return {k: int(counts.get(k, 0)) for k in KINDS}
    return {k: int(getattr(diff, k, 0) or 0) for k in KINDS}


def _examples(diff: Any, kind: str) -> Any:
    for attr in (kind, f"{kind}_records", f"{kind}_rows"):
        value = getattr(diff, attr, None)
        if value is not None and not isinstance(value, int):
            return value
    records = getattr(diff, "records", None)
    if records is not None:
        frame = head_frame(records, 10_000)
        for col in ("change", "kind", "_change", "status"):
            if col in frame.columns:
                return frame.filter(frame.get_column(col) == kind)
    return None


def _show(diff: Any) -> None:
    counts = _counts(diff)
    for col, kind in zip(st.columns(3), KINDS, strict=True):
        col.metric(kind, f"{counts[kind]:,}")
    for kind in KINDS:
        examples = _examples(diff, kind)
        if examples is None:
            continue
        st.subheader(f"{kind.capitalize()} (first {EXAMPLES})")
        grid, images = grid_frame(head_frame(examples, EXAMPLES))
        config = {c: st.column_config.ImageColumn(c) for c in images}
        _render.table(grid, column_config=config)


def render() -> None:
    st.title("Diff")
    cat = _catalog.catalog()
    if not _catalog.has(cat, "diff"):
        st.info(_features.missing("Diff", "`Catalog.diff()`"))
        return
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
            st.session_state["diff_result"] = ((a, b), cat.diff(a, b))
        except CurataError as exc:
            _render.show_error(exc)
            return
    stored = st.session_state.get("diff_result")
    if stored and stored[0] == (a, b):
        st.text(f"{a} → {b}")
        _show(stored[1])


render()
