"""Shared fixtures: a fresh Curata home per test, and the service plugins (DESIGN.md §7)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.s3",
    "tests.fixtures.label_studio",
    "tests.fixtures.chromium",
    "tests.fixtures.spark",
]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty CURATA_HOME (SQLite catalog + local warehouse) for one test."""
    h = tmp_path / "curata-home"
    monkeypatch.setenv("CURATA_HOME", str(h))
    monkeypatch.delenv("CURATA_CATALOG_URL", raising=False)
    monkeypatch.delenv("CURATA_WAREHOUSE", raising=False)
    return h


@pytest.fixture
def cat(home: Path) -> Iterator[object]:
    import curata

    c = curata.connect()
    yield c
    c.engine.dispose()
