"""Tag snapshot (writes): pin a table version under a name, e.g. ``reviews@v3``."""

from __future__ import annotations

import streamlit as st
from curata.errors import CurataError
from curata_ui import _auth, _catalog, _render
from curata_ui._frames import to_frame


def render() -> None:
    st.title("Tag snapshot")
    dataset = _catalog.dataset_picker(key="tag_dataset")
    if dataset is None:
        return
    cat = _catalog.catalog()
    versions = sorted((v.version for v in cat.versions(dataset)), reverse=True)
    version = st.selectbox("Version", versions, key="tag_version")
    tag = st.text_input("Tag", key="tag_name", placeholder="e.g. v3 (never all digits)")
    note = st.text_input("Note", key="tag_note")
    user = _auth.writer("tag")
    if user is not None and st.button("Create tag", key="tag_go", type="primary"):
        try:
            snap = cat.tag(dataset, tag.strip(), version=version, note=note)
            st.success(f"Tagged {dataset}@{tag.strip()} → version {version}")
            cat.audit("ui.tag", dataset=dataset,
                      details={"user": user, "tag": tag.strip(), "version": version})
            _render.table(to_frame([snap]))
        except CurataError as exc:
            _render.show_error(exc)
    st.subheader("Tags")
    _render.table(to_frame(cat.tags(dataset)))


render()
