"""Process entry for ``curata ui``: import the heavy libraries, then start Streamlit.

Streamlit imports a page's dependencies on the first script run, i.e. while the first
visitor waits. Importing them before the server starts makes the first render of a page
as fast as later ones (see ``bench/ui.py``).

    python -m curata_ui._serve [streamlit run options...]
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from pathlib import Path

APP = Path(__file__).parent / "_entry" / "streamlit_app.py"
PRELOAD = ("pyarrow", "polars", "deltalake", "curata", "PIL.Image", "pandas", "altair",
           "curata_ui.app", "curata_ui._frames", "curata_ui._catalog", "curata_ui._render",
           "curata_ui._stats")


def preload() -> None:
    for name in PRELOAD:
        # Optional ones (e.g. altair) that are missing simply load on demand later.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def main(argv: list[str]) -> None:
    preload()
    from streamlit.web import cli

    cli.main(["run", str(APP), *argv], prog_name="streamlit")


if __name__ == "__main__":
    main(sys.argv[1:])
