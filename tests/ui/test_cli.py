"""`curata ui` command: options and the command line it serves the app with."""

from __future__ import annotations

import sys

import curata_ui
import typer
from curata_ui._serve import APP
from curata_ui.cli import streamlit_argv, ui
from typer.testing import CliRunner


def test_public_surface() -> None:
    assert curata_ui.__all__ == ["ui"]
    assert all(hasattr(curata_ui, name) for name in curata_ui.__all__)


def test_argv_serves_the_packaged_app_on_localhost() -> None:
    argv = streamlit_argv(8600, "127.0.0.1")
    assert argv[:3] == [sys.executable, "-m", "curata_ui._serve"]
    assert APP.is_file()
    opts = dict(zip(argv[3::2], argv[4::2], strict=True))
    assert opts["--server.port"] == "8600"
    assert opts["--server.address"] == "127.0.0.1"
    assert opts["--browser.gatherUsageStats"] == "false"


def test_help_lists_port_option() -> None:
    app = typer.Typer()
    app.command()(ui)
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "--port" in result.output
