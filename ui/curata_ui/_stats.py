"""Aggregates the pages show, computed lazily on the pinned snapshot and cached by its ref.

Each aggregate reads only the columns it needs (projection pushdown on the Delta scan) and
returns a small frame; cached with ``st.cache_data`` so a pinned snapshot is scanned once.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pyarrow as pa
import streamlit as st

from curata_ui import _catalog


def _snap(pinned_ref: str) -> Any:
    return _catalog.snapshot(pinned_ref)


@st.cache_data(show_spinner=False, max_entries=256)
def license_mix(pinned_ref: str) -> pl.DataFrame:
    """Records per license, most common first."""
    lf = _catalog.scan(_snap(pinned_ref))
    return (
        lf.group_by("_license").agg(pl.len().alias("records"))
        .sort(["records", "_license"], descending=[True, False])
        .collect()
    )


@st.cache_data(show_spinner=False, max_entries=256)
def sources(pinned_ref: str) -> pl.DataFrame:
    """Records per source with its license(s) and an example URI."""
    lf = _catalog.scan(_snap(pinned_ref))
    uri = (
        pl.col("_provenance").struct.field("uri")
        if "_provenance" in lf.collect_schema()
        else pl.lit(None, dtype=pl.String)
    )
    return (
        lf.group_by("_source")
        .agg(
            pl.len().alias("records"),
            pl.col("_license").unique().sort().str.join(" | ").alias("licenses"),
            uri.first().alias("example_uri"),
        )
        .sort("records", descending=True)
        .collect()
    )


@st.cache_data(show_spinner=False, max_entries=256)
def table_bytes(pinned_ref: str) -> int:
    """Bytes of the data files the pinned version references (from the Delta log only)."""
    actions = pa.table(_snap(pinned_ref).delta_table().get_add_actions(flatten=True))
    return int(pa.compute.sum(actions.column("size_bytes")).as_py() or 0)


def human_bytes(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def license_text(mix: pl.DataFrame) -> str:
    total = int(mix.get_column("records").sum()) or 1
    return ", ".join(
        f"{lic} {n / total:.0%}" for lic, n in mix.select("_license", "records").iter_rows()
    )


def source_details(dataset: str, source_ids: list[str]) -> pl.DataFrame:
    """Name, URI, license and attribution text of the given sources, from the catalog."""
    rows = _catalog.catalog().store.sources(source_ids)
    records = [{"_source": sid, "name": r.name, "uri": r.uri, "license": r.license,
                "attribution": r.attribution} for sid, r in rows.items()]
    return pl.DataFrame(records, schema={c: pl.String for c in
                                         ("_source", "name", "uri", "license", "attribution")})


def dataset_licenses(dataset: str) -> list[str]:
    """Licenses of every source ever ingested into a dataset (catalog only, no data scan)."""
    return sorted({r.license for r in _catalog.catalog().store.dataset_sources(dataset)})
