"""Curata curator UI: the router. Run with ``curata ui`` (or ``streamlit run app.py``).

Each page is one module under ``pages/``. Read-only pages come first; pages that write
(tag, export) sit in their own section and go through :func:`curata_ui._auth.writer`.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from curata_ui._auth import mode_banner

_PAGES = Path(__file__).parent / "pages"


def _page(module: str, title: str, icon: str, *, default: bool = False) -> st.Page:
    return st.Page(_PAGES / f"{module}.py", title=title, icon=icon, url_path=module,
                   default=default)


def main() -> None:
    st.set_page_config(page_title="Curata", page_icon="🗂️", layout="wide")
    nav = st.navigation(
        {
            "Browse": [
                _page("datasets", "Datasets", "🗂️", default=True),
                _page("browse", "Browse", "🔎"),
                _page("licenses", "Licenses & provenance", "⚖️"),
                _page("diff", "Diff", "🔀"),
                _page("labeling", "Labeling", "🏷️"),
                _page("ingest_runs", "Ingest runs", "📥"),
            ],
            "Actions (write)": [
                _page("export", "Export", "📦"),
                _page("tag", "Tag snapshot", "📌"),
            ],
        }
    )
    mode_banner()
    nav.run()


main()
