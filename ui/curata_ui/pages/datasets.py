"""Datasets: every dataset with its versions, tags, row counts, size, license mix, last ingest."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st
from curata.errors import CurataError
from curata_ui import _catalog, _render, _stats
from curata_ui._frames import to_frame


def _summary(info: Any) -> dict[str, Any]:
    """One row of the overview from the catalog's ``DatasetInfo`` plus two cached aggregates."""
    name = info.name
    if info.latest_version is None:
        return {"dataset": name, "rows": 0, "licenses": "(no data yet)"}
    pinned = f"{name}@{info.latest_version}"
    return {
        "dataset": name,
        "latest version": info.latest_version,
        "versions": info.latest_version + 1,
        "tags": ", ".join(info.tags),
        "rows": info.num_rows,
        "size": _stats.human_bytes(_stats.table_bytes(pinned)),
        "licenses": ", ".join(_stats.dataset_licenses(name)),
        "last ingest": _last_ingest(name),
        "fingerprint": (info.fingerprint or "")[:16],
    }


def _last_ingest(name: str) -> str:
    runs = _catalog.catalog().runs(name)  # newest first
    if not runs:
        return ""
    run = runs[0]
    when = run.finished_at or run.started_at
    return f"{when:%Y-%m-%d %H:%M} {run.operation} ({run.status})"


def render() -> None:
    st.title("Datasets")
    infos = _catalog.catalog().datasets()
    names = [i.name for i in infos]
    if not names:
        st.info("The catalog holds no datasets yet. Run `ingest SOURCE --dataset NAME "
                "--license SPDX` (or `make demo`) to add one.")
        return
    rows = []
    for info in infos:
        try:
            rows.append(_summary(info))
        except CurataError as exc:
            _render.show_error(exc)
    _render.table(pl.DataFrame(rows, strict=False), key="datasets_table")
    # The license mix scans a column of the whole snapshot, so it is computed (and cached)
    # only for the dataset a curator opens, never for every dataset on the landing page.
    name = st.selectbox("Details of", names, key="datasets_detail")
    cat = _catalog.catalog()
    info = next(i for i in infos if i.name == name)
    if info.latest_version is not None:
        mix = _stats.license_mix(f"{name}@{info.latest_version}")
        st.subheader("License mix (latest version)")
        st.text(_stats.license_text(mix))
        _render.table(mix)
    st.subheader("Versions")
    _render.table(to_frame(cat.versions(name)))
    st.subheader("Tags")
    _render.table(to_frame(cat.tags(name)))


render()
