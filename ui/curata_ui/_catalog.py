"""Catalog access for the app: cached handles and the few lookups every page shares.

Heavy handles (the catalog connection, pinned snapshots and their lazy scans) live in
``st.cache_resource`` so reruns do not reconnect or re-read Delta logs. Snapshots are cached
by their pinned ``dataset@version`` ref, never by a moving one like ``dataset`` (latest).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import curata
import polars as pl
import streamlit as st

_ENV = ("CURATA_HOME", "CURATA_CATALOG_URL", "CURATA_WAREHOUSE")


@dataclass(frozen=True, slots=True, kw_only=True)
class RefOption:
    """One entry of a version/tag picker."""

    label: str
    ref: str


def _config() -> tuple[str | None, ...]:
    return tuple(os.environ.get(k) or None for k in _ENV)


@st.cache_resource(show_spinner=False)
def _connect(home: str | None, catalog_url: str | None, warehouse: str | None) -> curata.Catalog:
    return curata.connect(home=home, catalog_url=catalog_url, warehouse=warehouse)


def catalog() -> curata.Catalog:
    """The catalog configured by the environment (one connection per configuration)."""
    return _connect(*_config())


def dataset_names() -> list[str]:
    """Datasets that hold data (the pages show snapshots, so a name without data is no use)."""
    return sorted(info.name for info in catalog().datasets())


def tags(dataset: str) -> list[tuple[int, str]]:
    """(version, tag) pairs of a dataset, oldest version first."""
    return sorted((t.version, t.name) for t in catalog().tags(dataset))


def ref_options(dataset: str) -> list[RefOption]:
    """Latest first, then tags, then every table version (newest first)."""
    cat = catalog()
    options = [RefOption(label=f"{dataset} (latest)", ref=dataset)]
    for version, tag in tags(dataset):
        options.append(RefOption(label=f"{dataset}@{tag} (v{version})", ref=f"{dataset}@{tag}"))
    for version in sorted((v.version for v in cat.versions(dataset)), reverse=True):
        options.append(RefOption(label=f"{dataset}@{version}", ref=f"{dataset}@{version}"))
    return options


@st.cache_resource(show_spinner=False, max_entries=32)
def _pinned(config: tuple[str | None, ...], pinned_ref: str) -> curata.Snapshot:
    return _connect(*config).snapshot(pinned_ref)


def snapshot(ref: str) -> curata.Snapshot:
    """The snapshot for a ref, resolved once and cached under its pinned version."""
    snap = catalog().snapshot(ref)
    return _pinned(_config(), f"{snap.dataset}@{snap.version}")


@st.cache_resource(show_spinner=False, max_entries=32)
def _scan(config: tuple[str | None, ...], pinned_ref: str) -> pl.LazyFrame:
    return _pinned(config, pinned_ref).to_polars(lazy=True)


def scan(snap: curata.Snapshot) -> pl.LazyFrame:
    """The lazy scan of a pinned snapshot (nothing is read until a page is collected)."""
    return _scan(_config(), f"{snap.dataset}@{snap.version}")


def dataset_picker(label: str = "Dataset", *, key: str) -> str | None:
    """A dataset select box; says so plainly when the catalog holds none."""
    names = dataset_names()
    if not names:
        st.info("The catalog holds no datasets yet. Run `ingest SOURCE --dataset NAME "
                "--license SPDX` (or `make demo`) to add one.")
        return None
    wanted = st.query_params.get("dataset")  # deep links: /browse?dataset=NAME&ref=NAME@TAG
    index = names.index(wanted) if wanted in names else 0
    return st.selectbox(label, names, index=index, key=key)


def ref_picker(
    dataset: str, label: str = "Version / tag", *, key: str, default: int = 0
) -> str:
    """A version/tag select box (``?ref=`` in the URL preselects one)."""
    labels = {o.ref: o.label for o in ref_options(dataset)}
    refs = list(labels)
    wanted = st.query_params.get("ref")
    index = refs.index(wanted) if wanted in refs else min(default, len(refs) - 1)
    return st.selectbox(label, refs, index=index, format_func=labels.__getitem__, key=key)
