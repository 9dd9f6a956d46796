"""The `curata` and `ingest` commands (Typer): thin wrappers over the library.

One module per command group; members that are installed add their groups (labeling, UI).
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from typing import Annotated

import typer

from curata_ingest.cli import catalog, db, governance
from curata_ingest.cli import derive as derive_cli
from curata_ingest.cli import export as export_cli
from curata_ingest.cli import ingest as ingest_cmd
from curata_ingest.cli import quality as quality_cli
from curata_ingest.cli._errors import EXIT_CODES_HELP, run
from curata_ingest.cli._output import typer_app

app = typer_app(
    name="curata",
    help="Curata: dataset curation, labeling and versioning.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
)


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"curata {_dist_version('curata')}")
        except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
            from curata import __version__

            typer.echo(f"curata {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option(
        "--version", help="Print the version of curata and exit.", callback=_version,
        is_eager=True)] = False,
) -> None:
    """Curata: dataset curation, labeling and versioning."""


app.command(name="ingest")(ingest_cmd.ingest)
app.command(name="rejects")(ingest_cmd.rejects)
catalog.register(app)
governance.register(app)
export_cli.register(app)
derive_cli.register(app)
quality_cli.register(app)
app.add_typer(db.app, name="db")


def _optional(module: str) -> object | None:
    """Import an optional command module; a member that is not installed adds nothing."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


_label = _optional("curata_labeling.cli")
if _label is not None:
    app.add_typer(_label.app, name="label",
                  help="Label Studio sync, schemas, agreement, adjudication.")
_ui = _optional("curata_ui.cli")
if _ui is not None:
    app.command(name="ui")(_ui.ui)


def main() -> None:
    run(app)


def ingest_main() -> None:
    """The standalone `ingest` command (the same as `curata ingest`)."""
    ingest_cmd.ingest_main()
