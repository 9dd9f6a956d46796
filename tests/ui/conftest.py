"""Fixtures for the UI tests: a real catalog + warehouse seeded through the public API."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import curata
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from tests.fixtures.chromium import artifacts_dir, browser, chromium_executable  # noqa: F401

APP = Path(__file__).resolve().parents[2] / "ui" / "curata_ui" / "_entry" / "streamlit_app.py"
SCRIPT_TEXT = "<script>window.__curata_xss = 1</script>"
ATTRIBUTION = "Reviews © Example Corp, CC BY 4.0"
MARKDOWN_TEXT = "**bold** _underscored_ [link](http://example.invalid) # not a heading"


def png(color: str, size: tuple[int, int] = (40, 30)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def _seed(home: Path) -> None:
    cat = curata.connect(home=str(home))
    first = pa.table({
        "text": [SCRIPT_TEXT, MARKDOWN_TEXT, "hello world", "Another HELLO line"],
        "label": pa.array([0, 1, 2, 1], pa.int64()),
        "image": [png("red"), png("green"), png("blue"), png("white")],
    })
    cat.append("reviews", first, license="CC-BY-4.0", source="upload-2026-11",
               source_uri="file:///uploads/reviews.jsonl", attribution=ATTRIBUTION)
    cat.tag("reviews", "v1")
    second = pa.table({"text": ["a later row"], "label": pa.array([3], pa.int64()),
                       "image": [png("black")]})
    cat.append("reviews", second, license="CC-BY-NC-4.0", source="partner-feed")
    _quarantine(cat)


def _quarantine(cat: curata.Catalog) -> None:
    """Rejected input as the ingest pipeline stores it: a Delta ``rejects`` table."""
    from deltalake import write_deltalake

    n = 60
    rejects = pa.table({
        "reason": ["invalid JSON"] * 50 + ["missing field 'text'"] * (n - 50),
        "source": ["upload-2026-11"] * n,
        "locator": [f"reviews.jsonl:{i + 1}" for i in range(n)],
        "raw": ["{broken" if i < 50 else '{"label": 1}' for i in range(n)],
    })
    write_deltalake(cat.table_uri("reviews", "rejects"), rejects,
                    storage_options=cat.storage_options)


@pytest.fixture(scope="session")
def seeded_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CURATA_HOME with dataset ``reviews``: v1 (4 rows, tagged) and a later 5-row version."""
    home = tmp_path_factory.mktemp("curata-home")
    _seed(home)
    return home


@pytest.fixture
def ui_env(seeded_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("CURATA_HOME", str(seeded_home))
    monkeypatch.delenv("CURATA_CATALOG_URL", raising=False)
    monkeypatch.delenv("CURATA_WAREHOUSE", raising=False)
    monkeypatch.setenv("CURATA_UI_EXPORT_DIR", str(tmp_path / "exports"))
    return seeded_home


@pytest.fixture
def empty_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "empty-home"
    curata.connect(home=str(home))
    monkeypatch.setenv("CURATA_HOME", str(home))
    monkeypatch.delenv("CURATA_CATALOG_URL", raising=False)
    monkeypatch.delenv("CURATA_WAREHOUSE", raising=False)
    return home


@pytest.fixture
def app() -> Iterator[AppTest]:
    """The app, run once (on the Datasets page); switch pages with ``open_page``."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    yield at


def open_page(at: AppTest, page: str) -> AppTest:
    """Run the app once (``switch_page`` resolves st.navigation pages after a run), then go."""
    at.run()
    return at.switch_page(f"../pages/{page}.py").run()
