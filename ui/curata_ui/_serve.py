"""Process entry for ``curata ui``: warm up, then start Streamlit.

Streamlit imports a page's dependencies on the first script run, i.e. while the first
visitor waits, and the first ``curata.connect()`` of a process checks the catalog schema
(Alembic). Doing both before the server starts makes the first render of a page as fast
as later ones (see ``bench/ui.py``).

    python -m curata_ui._serve [streamlit run options...]
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from pathlib import Path

APP = Path(__file__).parent / "_entry" / "streamlit_app.py"
PRELOAD = ("pyarrow", "polars", "deltalake", "curata", "PIL.Image", "pandas", "altair",
           "sqlalchemy", "alembic", "curata_ui._frames")


def preload() -> None:
    for name in PRELOAD:
        # Optional ones (e.g. altair) that are missing simply load on demand later.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def warm_catalog() -> None:
    """Connect once and read one row of the first dataset, paying one-time costs now.

    The connection is not kept (the app's own lives in ``st.cache_resource``); a catalog
    that cannot be opened is reported here and again, in full, by the page that needs it.
    """
    import curata
    from curata.errors import CurataError

    try:
        cat = curata.connect()
        names = [d.name for d in cat.datasets() if d.latest_version is not None]
        if names:
            cat.snapshot(names[0]).to_polars(lazy=True).head(1).collect()
    except (CurataError, OSError) as exc:
        print(f"curata-ui: warm-up skipped: {exc}", file=sys.stderr)


def main(argv: list[str]) -> None:
    preload()
    warm_catalog()
    from streamlit.web import cli

    cli.main(["run", str(APP), *argv], prog_name="streamlit")


if __name__ == "__main__":
    main(sys.argv[1:])
