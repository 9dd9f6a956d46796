"""Fixtures for export tests: a real catalog with real Delta snapshots."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

import curata
from tests.export._tables import content_table

N_ROWS = 600


def require_torch():
    """torch, or a skip outside CI (``make test`` installs the CPU build; CI must have it)."""
    if os.environ.get("CI") == "true":
        import torch

        return torch
    return pytest.importorskip("torch")


@pytest.fixture
def catalog(tmp_path: Path) -> curata.Catalog:
    return curata.connect(home=tmp_path / "home")


def _append_mix(cat: curata.Catalog, table: pa.Table, dataset: str) -> curata.Snapshot:
    """Three sources with different licenses, as a curated corpus would have."""
    n = table.num_rows
    cuts = [0, n // 2, n // 2 + n // 3, n]
    parts = [("CC-BY-4.0", "wiki dump", "Text from Wikipedia, CC BY 4.0"),
             ("CC-BY-NC-4.0", "forum crawl", "Forum posts courtesy of ForumCo"),
             ("unknown", "scraped misc", None)]
    for (lic, source, attribution), start, end in zip(parts, cuts[:-1], cuts[1:], strict=True):
        cat.append(dataset, table.slice(start, end - start), license=lic, source=source,
                   source_uri=f"https://example.org/{source.replace(' ', '-')}",
                   attribution=attribution)
    cat.tag(dataset, "v1")
    return cat.snapshot(f"{dataset}@v1")


@pytest.fixture
def snapshot(catalog: curata.Catalog) -> curata.Snapshot:
    """600 records: text, label, JSON meta, split and PNG images; three licenses."""
    return _append_mix(catalog, content_table(N_ROWS), "reviews")


@pytest.fixture
def text_snapshot(catalog: curata.Catalog) -> curata.Snapshot:
    """The same without images and under one license, for loader tests."""
    table = content_table(N_ROWS, images=None)
    catalog.append("texts", table, license="CC-BY-4.0", source="wiki dump")
    return catalog.snapshot("texts")
