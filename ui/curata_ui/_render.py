"""Rendering helpers that show record data literally.

Record values are data, never markup: text goes through ``st.text`` / ``st.code`` (no
Markdown or HTML parsing), structured values through ``st.json``, and tables through
``st.dataframe``. Only constant strings written in this package reach ``st.markdown``.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import streamlit as st
from curata.errors import CurataError

from curata_ui._frames import image_mime, is_system

TEXT_LIMIT = 20_000


def show_error(exc: CurataError) -> None:
    """A Curata error as friendly text (message and next step), never a traceback.

    Messages quote user input (a filter value, a tag), so they go out as plain text:
    ``st.error`` itself would render them as Markdown.
    """
    with st.container():
        st.error(f"{type(exc).__name__}", icon=":material/error:")
        st.text(exc.message)
        if exc.hint:
            st.text(exc.hint)


def literal(label: str, value: Any) -> None:
    """``label: value`` as plain text."""
    st.text(f"{label}: {'' if value is None else value}")


def value(column: str, v: Any) -> None:
    """One field of a record, shown as what it is."""
    st.text(column)
    if v is None:
        st.text("null")
    elif isinstance(v, bytes):
        if image_mime(v):
            st.image(v, width=384)
        else:
            st.text(f"<{len(v)} bytes of binary data>")
    elif isinstance(v, (dict, list)):
        st.json(json.loads(json.dumps(v, default=str)), expanded=1)
    elif isinstance(v, str):
        # One record may hold a whole book; cap what goes to the browser.
        st.code(v[:TEXT_LIMIT], language=None, wrap_lines=True)
        if len(v) > TEXT_LIMIT:
            st.text(f"… {len(v) - TEXT_LIMIT:,} more characters not shown")
    else:
        st.text(str(v))


def record(row: dict[str, Any]) -> None:
    """A record view: content fields, then license and provenance."""
    content = {k: v for k, v in row.items() if not is_system(k)}
    system = {k: v for k, v in row.items() if is_system(k)}
    left, right = st.columns([3, 2])
    with left:
        for column, v in content.items():
            value(column, v)
    with right:
        st.markdown("**License and provenance**")
        literal("Record id (_id)", system.get("_id"))
        literal("License (_license)", system.get("_license"))
        literal("Source (_source)", system.get("_source"))
        prov = system.get("_provenance") or {}
        if isinstance(prov, dict):
            for k, v in prov.items():
                literal(f"provenance.{k}", v)
        else:
            literal("provenance", prov)
        for k, v in system.items():
            if k not in {"_id", "_license", "_source", "_provenance"}:
                literal(k, v)


def table(df: pl.DataFrame, **kwargs: Any) -> None:
    """A (small, already paged) table; ``st.dataframe`` never renders cell text as markup."""
    st.dataframe(df, hide_index=True, **kwargs)
