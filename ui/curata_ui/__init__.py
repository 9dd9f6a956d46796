"""Curata curator web UI (Streamlit). Start it with ``curata ui``."""

from curata_ui.cli import ui

__all__ = ["ui"]
