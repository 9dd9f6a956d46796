"""End to end in real headless Chromium: open the app, browse to a record, see its image,
check record text is shown literally, and run an export. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from curata_ui.cli import streamlit_argv

from tests.ui.conftest import MARKDOWN_TEXT, SCRIPT_TEXT

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TIMEOUT_MS = 60_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], deadline_s: float = 90) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit at {url} not healthy after {deadline_s}s")


@contextmanager
def serve(home: Path, tmp_path: Path, **extra_env: str) -> Iterator[str]:
    """The app served by the same command line as `curata ui`, over ``home``; yields its URL."""
    port = _free_port()
    env = {**os.environ, "CURATA_HOME": str(home), **extra_env}
    for key in ("CURATA_CATALOG_URL", "CURATA_WAREHOUSE"):
        env.pop(key, None)
    log = (tmp_path / "streamlit.log").open("wb")
    proc = subprocess.Popen(streamlit_argv(port, "127.0.0.1"), env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        sys.stderr.write((tmp_path / "streamlit.log").read_text(errors="replace")[-2000:])


@pytest.fixture
def served_app(seeded_home: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The app over the seeded catalog, with an export folder."""
    exports = tmp_path / "exports"
    with serve(seeded_home, tmp_path, CURATA_UI_EXPORT_DIR=str(exports)) as url:
        yield url, exports


def _search(page: Any, text: str, expect: str) -> None:
    """Search, then wait until the single matching record's text is on screen."""
    box = page.get_by_label("Search text columns")
    box.fill(text)
    box.press("Enter")
    page.get_by_text(" of 1 · page 1 of 1").wait_for(timeout=TIMEOUT_MS)
    page.get_by_text(expect, exact=True).first.wait_for(timeout=TIMEOUT_MS)


def _image_loaded(page: Any) -> bool:
    return bool(page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=\"stImage\"] img, main img')]"
        ".some(i => i.complete && i.naturalWidth > 0)"))


def test_browse_record_image_literal_text_and_export(
    browser: Any, served_app: tuple[str, Path], artifacts_dir: Path
) -> None:
    url, exports = served_app
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(f"{url}/browse", timeout=TIMEOUT_MS)
        page.get_by_text("Open record").first.wait_for(timeout=TIMEOUT_MS)
        page.screenshot(path=str(artifacts_dir / "ui-e2e-1-browse.png"), full_page=True)

        _search(page, "<script>", SCRIPT_TEXT)
        page.wait_for_function("() => [...document.querySelectorAll('img')]"
                               ".some(i => i.complete && i.naturalWidth > 0)", timeout=TIMEOUT_MS)
        assert _image_loaded(page), "the record's image is displayed"
        assert page.get_by_text(SCRIPT_TEXT, exact=True).first.is_visible()
        assert page.evaluate("() => window.__curata_xss") is None, "record text never runs"
        assert not dialogs
        page.screenshot(path=str(artifacts_dir / "ui-e2e-2-record.png"), full_page=True)

        _search(page, "**bold**", MARKDOWN_TEXT)
        assert page.get_by_text(MARKDOWN_TEXT, exact=True).first.is_visible()
        assert page.locator("main strong", has_text="bold").count() == 0
        assert page.locator("main a[href='http://example.invalid']").count() == 0

        page.goto(f"{url}/export", timeout=TIMEOUT_MS)
        run = page.get_by_role("button", name="Run export")
        run.wait_for(timeout=TIMEOUT_MS)
        run.click()
        page.get_by_text("Manifest").wait_for(timeout=TIMEOUT_MS)
        manifests = list(exports.glob("*/manifest.json"))
        assert len(manifests) == 1
        fingerprint = json.loads(manifests[0].read_text())["snapshot"]["fingerprint"]
        shown = page.locator('[data-testid="stJson"]')
        shown.get_by_text(fingerprint, exact=False).first.wait_for(timeout=TIMEOUT_MS)
        page.screenshot(path=str(artifacts_dir / "ui-e2e-3-export.png"), full_page=True)
    finally:
        page.close()
