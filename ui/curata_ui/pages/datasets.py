"""Datasets: every dataset with its versions, tags, row counts, size, license mix, last ingest."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from curata.errors import CurataError
from curata_ui import _catalog, _render, _stats
from curata_ui._frames import to_frame


def _summary(name: str) -> dict[str, Any]:
    cat = _catalog.catalog()
    snap = _catalog.snapshot(name)
    pinned = f"{snap.dataset}@{snap.version}"
    tags = [s.tag for s in cat.snapshots(name) if getattr(s, "tag", None)] if _catalog.has(
        cat, "snapshots") else []
    versions = cat.versions(name) if _catalog.has(cat, "versions") else []
    last = max(versions, key=lambda v: getattr(v, "version", 0)) if versions else None
    return {
        "dataset": name,
        "latest version": snap.version,
        "versions": len(versions),
        "tags": ", ".join(tags),
        "rows": snap.num_rows,
        "size": _stats.human_bytes(_stats.table_bytes(pinned)),
        "license mix": _stats.license_text(_stats.license_mix(pinned)),
        "last ingest": str(_last_ingest(cat, name, last) or ""),
        "fingerprint": str(snap.fingerprint)[:16],
    }


def _last_ingest(cat: Any, name: str, last_version: Any) -> Any:
    for attr in ("ingest_runs", "runs"):
        if _catalog.has(cat, attr):
            runs = list(getattr(cat, attr)(name))
            if runs:
                run = runs[-1]
                return getattr(run, "finished_at", None) or getattr(run, "started_at", None)
    for attr in ("timestamp", "created_at", "committed_at"):
        if last_version is not None and getattr(last_version, attr, None) is not None:
            return getattr(last_version, attr)
    return None


def render() -> None:
    st.title("Datasets")
    names = _catalog.dataset_names()
    if not names:
        st.info("The catalog holds no datasets yet. Run `ingest SOURCE --dataset NAME "
                "--license SPDX` (or `make demo`) to add one.")
        return
    rows = []
    for name in names:
        try:
            rows.append(_summary(name))
        except CurataError as exc:
            _render.show_error(exc)
    _render.table(pl.DataFrame(rows, strict=False), key="datasets_table")
    name = st.selectbox("Versions of", names, key="datasets_detail")
    cat = _catalog.catalog()
    if _catalog.has(cat, "versions"):
        st.subheader("Versions")
        _render.table(to_frame(cat.versions(name)))
    if _catalog.has(cat, "snapshots"):
        st.subheader("Tagged snapshots")
        _render.table(to_frame(cat.snapshots(name)))


render()
