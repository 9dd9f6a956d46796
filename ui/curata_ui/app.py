"""Curata curator UI: the router. Run with ``curata ui`` (served from ``_entry/``).

Each page is one module under ``pages/``. Read-only pages come first; pages that write
(tag, export) sit in their own section and go through :func:`curata_ui._auth.writer`.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import streamlit as st

from curata_ui._auth import mode_banner

_PAGES = Path(__file__).parent / "pages"


def _page(module: str, title: str, icon: str, *, default: bool = False) -> st.Page:
    return st.Page(_PAGES / f"{module}.py", title=title, icon=icon, url_path=module,
                   default=default)


def main() -> None:
    st.set_page_config(page_title="Curata", page_icon=":material/dataset:", layout="wide")
    nav = st.navigation(
        {
            "Browse": [
                _page("datasets", "Datasets", ":material/dataset:", default=True),
                _page("browse", "Browse", ":material/search:"),
                _page("licenses", "Licenses & provenance", ":material/gavel:"),
                _page("diff", "Diff", ":material/compare_arrows:"),
                _page("quality", "Quality", ":material/fact_check:"),
                _page("labeling", "Labeling", ":material/label:"),
                _page("ingest_runs", "Ingest runs", ":material/input:"),
            ],
            "Actions (write)": [
                _page("export", "Export", ":material/archive:"),
                _page("tag", "Tag snapshot", ":material/sell:"),
            ],
        }
    )
    mode_banner()
    started = time.perf_counter()
    nav.run()
    if os.environ.get("CURATA_UI_TIMING"):
        # One line per script run, for bench/ui.py and for operators chasing slow pages.
        print(f"curata-ui render {nav.url_path or 'datasets'} "
              f"{time.perf_counter() - started:.3f}s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
