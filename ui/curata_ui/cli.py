"""``curata ui``: serve the curator web app on localhost over the configured catalog."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer


def streamlit_argv(port: int, host: str) -> list[str]:
    """The command line that serves the app (no telemetry, no browser auto-open)."""
    return [
        sys.executable, "-m", "curata_ui._serve",
        "--server.port", str(port),
        "--server.address", host,
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
    ]


def ui(
    port: Annotated[int, typer.Option(help="Port to serve the app on.")] = 8501,
    host: Annotated[
        str, typer.Option(help="Address to bind; keep 127.0.0.1 unless OIDC sign-in is set up.")
    ] = "127.0.0.1",
) -> None:
    """Serve the Curata curator UI (browse, diff, licenses, labeling, export) in a browser."""
    typer.echo(f"Curata UI on http://{host}:{port}  (Ctrl+C to stop)", err=True)
    argv = streamlit_argv(port, host)
    # Replace this process so signals (Ctrl+C, a supervisor's SIGTERM) reach the server itself
    # and no orphaned server outlives the command.
    os.execv(argv[0], argv)


def main() -> None:
    """Entry point of the ``curata-ui`` script (the same as ``curata ui``)."""
    typer.run(ui)
