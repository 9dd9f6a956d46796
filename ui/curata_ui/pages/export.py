"""Export (writes): WebDataset shards of a pinned snapshot, with a progress bar and the manifest.

Exports land under one export root (``CURATA_UI_EXPORT_DIR``, default ``$CURATA_HOME/exports``);
the user names a sub-folder only, so the browser cannot write elsewhere on the server.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import curata
import streamlit as st
from curata.errors import CurataError, UsageError
from curata.export import export_webdataset
from curata_ui import _auth, _catalog, _render

PURPOSES = ("research", "internal", "commercial")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def export_root() -> Path:
    root = os.environ.get("CURATA_UI_EXPORT_DIR")
    if root:
        return Path(root)
    return Path(os.environ.get("CURATA_HOME") or ".curata") / "exports"


def out_dir(name: str) -> Path:
    """The export folder for a user-given name, always inside :func:`export_root`."""
    if not _NAME.fullmatch(name) or ".." in name:
        raise UsageError(f"Invalid export folder name {name!r}",
                         hint="Use letters, digits, '.', '_' or '-' (no slashes)")
    return export_root() / name


def _progress_callback(bar: Any, total: int) -> Callable[[int], None]:
    """``export_webdataset``'s ``progress(written)`` (samples written so far) → the bar."""
    def update(written: int) -> None:
        if total:
            bar.progress(min(1.0, written / total), text=f"{written:,} of {total:,} records")
    return update


def _options(snap: curata.Snapshot) -> dict[str, Any]:
    columns = [c for c in _catalog.scan(snap).collect_schema() if not c.startswith("_")]
    c1, c2, c3 = st.columns(3)
    return {
        "shard_size": c1.text_input("Shard size", "256MB", key="export_shard_size"),
        "purpose": c2.selectbox("Purpose", PURPOSES, key="export_purpose"),
        "columns": c3.multiselect("Columns (all when empty)", columns, key="export_columns")
        or None,
    }


def _run(snap: curata.Snapshot, out: Path, options: dict[str, Any], *, user: str) -> None:
    bar = st.progress(0.0, text="Exporting…")
    export_webdataset(snap, str(out), **options, progress=_progress_callback(bar, snap.num_rows))
    bar.progress(1.0, text="Done")
    st.success(f"Exported to {out}")
    st.subheader("Manifest")
    st.json(json.loads((out / "manifest.json").read_text()), expanded=2)
    _audit(f"{snap.dataset}@{snap.version}", out, user, options.get("purpose"))


def _audit(pinned: str, out: Path, user: str, purpose: str | None) -> None:
    """Record who exported from the UI (the export itself is audit-logged by the library)."""
    _catalog.catalog().audit(
        "ui.export", dataset=pinned.split("@", 1)[0],
        details={"user": user, "out": str(out), "ref": pinned, "purpose": purpose})


def render() -> None:
    st.title("Export")
    dataset = _catalog.dataset_picker(key="export_dataset")
    if dataset is None:
        return
    ref = _catalog.ref_picker(dataset, key="export_ref")
    snap = _catalog.snapshot(ref)
    options = _options(snap)
    name = st.text_input("Output folder (under the export root)",
                         f"{snap.dataset}-v{snap.version}", key="export_name")
    st.text(f"Export root: {export_root()}")
    user = _auth.writer("export")
    if user is None or not st.button("Run export", key="export_go", type="primary"):
        return
    try:
        _run(snap, out_dir(name), options, user=user)
    except CurataError as exc:
        _render.show_error(exc)


render()
