"""The `curata` and `ingest` commands (Typer): thin wrappers over the library.

One module per command group; members that are installed add their groups (labeling, UI).

Commands load lazily: ``curata --help`` reads the short helps from :data:`COMMANDS` and
imports no command module, and ``curata NAME`` imports only the module that defines NAME
(and what it needs). Click's documented pattern for this is a group whose ``get_command``
imports on demand (click.palletsprojects.com, "Lazily Loading Subcommands"); Typer has no
equivalent, so ``LazyGroup`` below is that pattern on Typer's group class.
``tests/platform/test_cli_startup.py`` checks that :data:`COMMANDS` lists exactly the
commands the modules define, with their own short help.
"""

from __future__ import annotations

import importlib
import importlib.util
import textwrap
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from curata_ingest.cli._errors import EXIT_CODES_HELP, run
from curata_ingest.cli._output import typer_app

#: Every command: its module and its short help, in the order ``--help`` lists them.
COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("curata_ingest.cli.ingest",
        'Stream sources into a dataset as ONE new version (fingerprinted, licensed, '
        'deduplicated).'),
    "rejects": ("curata_ingest.cli.ingest",
        'Show quarantined input: reason, source, locator (and raw bytes with --json).'),
    "init": ("curata_ingest.cli.catalog",
        'Create the catalog (an embedded one under CURATA_HOME, or the schema of an empty '
        'CURATA_CATALOG_URL database) and the warehouse.'),
    "datasets": ("curata_ingest.cli.catalog",
        'List datasets with their latest version, rows and tags.'),
    "versions": ("curata_ingest.cli.catalog",
        'List every version of a dataset, newest first, with fingerprints and tags.'),
    "show": ("curata_ingest.cli.catalog",
        'Show one snapshot: fingerprint, schema, license mix and a preview of the first records.'),
    "tag": ("curata_ingest.cli.catalog",
        'Pin a version under a name; tagged snapshots are immutable and survive gc.'),
    "verify": ("curata_ingest.cli.catalog",
        "Recompute a snapshot's fingerprint from its files; exit 4 if anything is wrong."),
    "diff": ("curata_ingest.cli.catalog",
        'Records added, removed and changed between two snapshots (a multiset diff by _id).'),
    "gc": ("curata_ingest.cli.catalog",
        'Delete files no kept version needs (never those of tagged snapshots or of writes '
        'still running), and the rejects of runs that committed nothing.'),
    "runs": ("curata_ingest.cli.catalog",
        'History of ingest and write runs (interrupted ones show as failed).'),
    "license": ("curata_ingest.cli.governance",
        'License mix with counts, obligations, conflicts and the verdict for a purpose.'),
    "bom": ("curata_ingest.cli.governance",
        'Write a dataset bill of materials: CycloneDX 1.6, Croissant 1.1, SPDX 3 or a datasheet.'),
    "audit": ("curata_ingest.cli.governance",
        'List the audit log: who tagged, overrode a license, exported, ran gc — and when.'),
    "export": ("curata_ingest.cli.export",
        'Export a snapshot as reproducible WebDataset shards with a manifest and attribution.'),
    "derive": ("curata_ingest.cli.derive",
        'Stream SRC through a pipeline into a new version of --into (nothing is committed when '
        'the same transform fingerprint was already derived).'),
    "lineage": ("curata_ingest.cli.derive",
        'Show where a snapshot came from (derivations back to ingest sources) and what was '
        'derived or exported from it.'),
    "stats": ("curata_ingest.cli.quality",
        'Rows per license, source and low-cardinality column (split, lang…), text length '
        'histograms, and the rates of quality issues and PII kinds.'),
    "leakage": ("curata_ingest.cli.quality",
        'Records whose exact or near duplicate sits in another split (train/test leakage).'),
    "ui": ("curata_ui.cli",
        'Serve the Curata curator UI (browse, diff, licenses, labeling, export) in a browser.'),
    "db": ("curata_ingest.cli.db",
        'Catalog database schema (Alembic migrations).'),
    "label": ("curata_labeling.cli",
        'Label Studio sync, schemas, agreement, adjudication.'),
}
_LABEL_HELP = "Label Studio sync, schemas, agreement, adjudication."


def _register(module: str, app: typer.Typer) -> None:
    """Add the commands of ``module`` to ``app``."""
    mod = importlib.import_module(module)
    if module == "curata_ingest.cli.ingest":
        app.command(name="ingest")(mod.ingest)
        app.command(name="rejects")(mod.rejects)
    elif module == "curata_ingest.cli.db":
        app.add_typer(mod.app, name="db")
    elif module == "curata_labeling.cli":
        app.add_typer(mod.app, name="label", help=_LABEL_HELP)
    elif module == "curata_ui.cli":
        app.command(name="ui")(mod.ui)
    else:
        mod.register(app)


def installed(module: str) -> bool:
    """Whether the member that ships ``module`` is installed (no import of it)."""
    return importlib.util.find_spec(module.split(".")[0]) is not None


def short_help(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters at a word, as Click cuts a command's short help
    (``TyperCommand.get_short_help_str``; Click's own helper for it is deprecated)."""
    if len(text) <= limit:
        return text
    return textwrap.shorten(text, max(limit, 3), placeholder="...", break_on_hyphens=False)


class LazyGroup(TyperGroup):
    """Typer's group, with the commands of :data:`COMMANDS` imported when one is run."""

    _loaded: dict[str, click.Group] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [n for n, (module, _) in COMMANDS.items() if installed(module)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or not installed(entry[0]):
            return super().get_command(ctx, cmd_name)
        module = entry[0]
        if module not in self._loaded:
            sub = typer_app()
            _register(module, sub)
            self._loaded[module] = typer.main.get_group(sub)
        return self._loaded[module].commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        # Click's own layout: the help cut to the width left beside the longest name
        limit = formatter.width - 6 - max((len(n) for n in names), default=0)
        rows = [(n, short_help(COMMANDS[n][1], limit)) for n in names]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer_app(
    name="curata",
    help="Curata: dataset curation, labeling and versioning.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    cls=LazyGroup,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError  # ~0.06 s: only for --version
        from importlib.metadata import version as _dist_version

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


def full_app() -> Any:
    """The `curata` group with every installed command loaded (tests, docs)."""
    group = typer.main.get_group(app)
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        group.get_command(ctx, name)
    return group


def main() -> None:
    run(app)


def ingest_main() -> None:
    """The standalone `ingest` command (the same as `curata ingest`)."""
    from curata_ingest.cli.ingest import ingest_main as _ingest_main

    _ingest_main()
