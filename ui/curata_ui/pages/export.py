"""Export (writes): WebDataset shards of a pinned snapshot, with a progress bar and the manifest.

Exports land under one export root (``CURATA_UI_EXPORT_DIR``, default ``$CURATA_HOME/exports``);
the user names a sub-folder only, so the browser cannot write elsewhere on the server.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st
from curata.errors import CurataError, UsageError
from curata_ui import _auth, _catalog, _features, _render
from curata_ui._frames import to_records

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


def exporter(snap: Any) -> Callable[..., Any] | None:
    """``curata.export.export_webdataset`` bound to the snapshot, or ``None`` if not installed.

    (``Snapshot.export_webdataset`` exists before the module does and would fail on call.)
    """
    mod = _features.module("curata.export")
    fn = getattr(mod, "export_webdataset", None) if mod is not None else None
    return functools.partial(fn, snap) if callable(fn) else None


def accepted(fn: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """The options the export function takes (it may not support every one yet)."""
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return options
    return {k: v for k, v in options.items() if k in params}


def _progress_callback(bar: Any, total: int) -> Callable[..., None]:
    """``progress(done)`` (samples written so far) or ``progress(done, total)`` → the bar."""
    def update(done: float, of: float | None = None, *_: Any) -> None:
        of = of or total
        if isinstance(done, float) and of is None and 0 <= done <= 1:
            bar.progress(done)
        elif of:
            bar.progress(min(1.0, done / of), text=f"{int(done):,} of {int(of):,} records")
    return update


def _manifest(result: Any, out: Path) -> dict[str, Any]:
    path = out / "manifest.json"
    if path.is_file():
        return json.loads(path.read_text())
    return to_records([result])[0]


def _options(snap: Any) -> dict[str, Any]:
    columns = [c for c in _catalog.scan(snap).collect_schema() if not c.startswith("_")]
    c1, c2, c3 = st.columns(3)
    return {
        "shard_size": c1.text_input("Shard size", "256MB", key="export_shard_size"),
        "purpose": c2.selectbox("Purpose", PURPOSES, key="export_purpose"),
        "columns": c3.multiselect("Columns (all when empty)", columns, key="export_columns")
        or None,
    }


def _run(fn: Callable[..., Any], out: Path, options: dict[str, Any], *, user: str,
         snap: Any) -> None:
    bar = st.progress(0.0, text="Exporting…")
    kwargs = accepted(fn, {**options, "progress": _progress_callback(bar, snap.num_rows)})
    result = fn(str(out), **kwargs)
    bar.progress(1.0, text="Done")
    st.success(f"Exported to {out}")
    st.subheader("Manifest")
    st.json(_manifest(result, out), expanded=2)
    _audit(f"{snap.dataset}@{snap.version}", out, user, options.get("purpose"))


def _audit(pinned: str, out: Path, user: str, purpose: str | None) -> None:
    """Record who exported from the UI (the export itself is audit-logged by the library)."""
    cat = _catalog.catalog()
    if _catalog.has(cat, "audit"):
        cat.audit("ui.export", dataset=pinned.split("@", 1)[0],
                  details={"user": user, "out": str(out), "ref": pinned, "purpose": purpose})


def render() -> None:
    st.title("Export")
    dataset = _catalog.dataset_picker(key="export_dataset")
    if dataset is None:
        return
    ref = _catalog.ref_picker(dataset, key="export_ref")
    snap = _catalog.snapshot(ref)
    fn = exporter(snap)
    if fn is None:
        st.info(_features.missing("Export", "`curata.export` (WebDataset export)"))
        return
    options = _options(snap)
    name = st.text_input("Output folder (under the export root)",
                         f"{snap.dataset}-v{snap.version}", key="export_name")
    st.text(f"Export root: {export_root()}")
    user = _auth.writer("export")
    if user is None or not st.button("Run export", key="export_go", type="primary"):
        return
    try:
        _run(fn, out_dir(name), options, user=user, snap=snap)
    except CurataError as exc:
        _render.show_error(exc)


render()
