"""The Quality page and the Browse page's quality filters: AppTest for the widgets, real
headless Chromium for the rendered charts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import curata
import pyarrow as pa
import pytest
from curata.quality import Language, Pii, Quality
from curata.transforms import Pipeline, Split
from streamlit.testing.v1 import AppTest

from tests.transforms.test_quality_rules import GOOD
from tests.transforms.test_quality_steps import LANG_CASES
from tests.ui.conftest import open_page
from tests.ui.test_e2e_browser import TIMEOUT_MS, serve

TEXTS = [GOOD, GOOD.replace("river", "stream") + " Mail jane@example.org.", "Too short.",
         LANG_CASES["de"], LANG_CASES["fr"]]


@pytest.fixture(scope="module")
def quality_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose only dataset, ``web-q``, was derived through language + quality + pii."""
    home = tmp_path_factory.mktemp("quality-home")
    cat = curata.connect(home=str(home))
    cat.append("web", pa.table({"text": TEXTS}), license="CC0-1.0", source="crawl")
    cat.derive("web", Pipeline([Language("text"), Quality("text"), Pii("text"),
                                Split({"train": 0.5, "test": 0.5})]), into="web-q", tag="v1")
    cat.engine.dispose()
    return home


@pytest.fixture
def quality_env(quality_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CURATA_HOME", str(quality_home))
    monkeypatch.delenv("CURATA_CATALOG_URL", raising=False)
    monkeypatch.delenv("CURATA_WAREHOUSE", raising=False)
    return quality_home


def _select_dataset(at: AppTest, key: str, name: str) -> AppTest:
    box = at.selectbox(key=key)
    return box.select(name).run() if box.value != name else at


def test_quality_page_shows_rates_and_counts(app: AppTest, quality_env: Path) -> None:
    at = _select_dataset(open_page(app, "quality"), "quality_dataset", "web-q")
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Records"] == "5" and metrics["PII kinds found"] == "1"
    subheaders = [h.value for h in at.subheader]
    for title in ("Quality issues (share of records)", "Personal data (share of records)",
                  "Records by lang", "Records by split", "Length of text (characters)"):
        assert title in subheaders


def test_browse_filters_on_quality_columns(app: AppTest, quality_env: Path) -> None:
    at = _select_dataset(open_page(app, "browse"), "browse_dataset", "web")
    assert not [e for e in at.expander if e.label == "Quality filters"]  # no such columns
    at = _select_dataset(at, "browse_dataset", "web-q")

    def shown(at: AppTest) -> str:
        return next(t.value for t in at.text if "fingerprint" in t.value)

    assert " of 5 " in shown(at)
    at = at.multiselect(key="browse_q_lang").select("de").run()
    assert " of 1 " in shown(at)
    at = at.multiselect(key="browse_q_lang").unselect("de").run()
    at = at.multiselect(key="browse_q_pii").select("email").run()
    assert " of 1 " in shown(at)
    at = at.multiselect(key="browse_q_pii").unselect("email").run()
    at = at.checkbox(key="browse_q_clean").check().run()
    clean = int(shown(at).split(" of ")[1].split()[0])
    assert 0 < clean < 5


@pytest.fixture
def served(quality_home: Path, tmp_path: Path) -> Iterator[str]:
    with serve(quality_home, tmp_path) as url:
        yield url


@pytest.mark.browser
@pytest.mark.slow
def test_quality_page_renders_charts_in_chromium(browser: Any, served: str,
                                                 artifacts_dir: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    try:
        page.goto(f"{served}/quality?dataset=web-q", timeout=TIMEOUT_MS)
        page.get_by_text("Quality issues (share of records)").wait_for(timeout=TIMEOUT_MS)
        page.get_by_text("Records by lang").wait_for(timeout=TIMEOUT_MS)
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        charts.first.wait_for(timeout=TIMEOUT_MS)
        page.wait_for_function(
            "() => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] canvas, "
            "[data-testid=\"stVegaLiteChart\"] svg').length >= 4", timeout=TIMEOUT_MS)
        assert charts.count() >= 4
        page.screenshot(path=str(artifacts_dir / "ui-e2e-quality.png"), full_page=True)
        page.goto(f"{served}/browse?dataset=web-q", timeout=TIMEOUT_MS)
        page.get_by_text("Quality filters").wait_for(timeout=TIMEOUT_MS)
        page.get_by_text("Quality filters").click()
        page.get_by_text("Language").first.wait_for(timeout=TIMEOUT_MS)
        page.screenshot(path=str(artifacts_dir / "ui-e2e-quality-browse.png"), full_page=True)
    finally:
        page.close()
