"""The CLI starts fast because it loads only what a command needs (issue 16 item 8).

Timings live in ``bench/cli_startup.py`` (machines are shared and noisy); these tests check
the mechanism: ``--help`` imports no command module, ``datasets`` no data-frame library, and
the table of lazy commands says exactly what the command modules define.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer
from curata_ingest.cli import COMMANDS, LazyGroup, _register, installed, short_help
from curata_ingest.cli._output import typer_app

PROBE = """
import json, sys
from curata_ingest.cli import main
sys.argv = ["curata", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in (
    "curata", "curata_ingest", "curata_labeling", "curata_ui", "polars", "pandas", "fsspec",
    "sqlalchemy", "deltalake", "alembic", "torch", "ray", "streamlit", "label_studio_sdk"))),
    file=sys.stderr)
"""


def _loaded(home: Path, *args: str) -> set[str]:
    r = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                       env={"CURATA_HOME": str(home), "PATH": "/usr/bin:/bin"}, timeout=120)
    return set(json.loads(r.stderr.strip().splitlines()[-1]))


def test_help_imports_no_command_module(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path, "--help")
    assert not {m for m in loaded if m.startswith("curata_ingest.cli.") and m not in {
        "curata_ingest.cli._errors", "curata_ingest.cli._output"}}
    assert not loaded & {"curata_ingest.pipeline", "curata_labeling", "curata_ui", "polars",
                         "pandas", "sqlalchemy", "deltalake", "torch", "ray", "streamlit"}


def test_datasets_loads_no_dataframe_library(tmp_path: Path) -> None:
    _loaded(tmp_path, "init")  # the first use creates the catalog (Alembic migrations)
    loaded = _loaded(tmp_path, "datasets")
    assert "curata_ingest.cli.catalog" in loaded and "sqlalchemy" in loaded
    assert not loaded & {"polars", "pandas", "fsspec", "alembic", "torch", "ray",
                         "curata_ingest.pipeline", "curata_labeling", "streamlit"}


@pytest.mark.parametrize("module", sorted({m for m, _ in COMMANDS.values()}))
def test_the_lazy_table_matches_the_command_modules(module: str) -> None:
    assert installed(module)  # every member is installed in the workspace
    app = typer_app()
    _register(module, app)
    group = typer.main.get_group(app)
    defined = {name: cmd.get_short_help_str(limit=10_000) for name, cmd in group.commands.items()}
    listed = {name: text for name, (mod, text) in COMMANDS.items() if mod == module}
    assert defined == listed


def test_help_lists_every_command_with_clicks_own_cut() -> None:
    group = typer.main.get_group(__import__("curata_ingest.cli", fromlist=["app"]).app)
    assert isinstance(group, LazyGroup)
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        for limit in (20, 45, 66, 200):
            assert short_help(COMMANDS[name][1], limit) == cmd.get_short_help_str(limit=limit)
