"""`curata db upgrade|current`: catalog schema migrations (Alembic)."""

from __future__ import annotations

from typing import Annotated

import curata
import typer
from curata.config import redact_url, resolve
from curata.store import make_engine, migrate
from curata.write.rescheme import refingerprint

from curata_ingest.cli._output import JsonOpt, QuietOpt, console, print_json, typer_app

app = typer_app(help="Catalog database schema (Alembic migrations).", no_args_is_help=True)


@app.command()
def upgrade(revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
            json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Migrate the catalog (CURATA_CATALOG_URL) to the newest schema."""
    settings = resolve()
    if settings.is_embedded:
        settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.catalog_url)
    before = migrate.current_revision(engine)
    migrate.upgrade(engine, settings.catalog_url, revision)
    after = migrate.current_revision(engine)
    out: dict[str, object] = {"catalog": redact_url(settings.catalog_url), "from": before,
                              "to": after, "refingerprinted": []}
    if after == migrate.head_revision():
        # Versions recorded under an older fingerprint scheme get the current one.
        out["refingerprinted"] = refingerprint(curata.connect(upgrade=False).store)
    if json:
        print_json(out)
        return
    if quiet:
        return
    console.print(f"Catalog {out['catalog']}: {before or 'empty'} -> {after}")
    for r in out["refingerprinted"]:  # type: ignore[attr-defined]
        if r.fingerprint_to is None:
            console.print(f"  {r.dataset}@{r.version}: kept {r.scheme_from} ({r.problem})",
                          markup=False)
        else:
            console.print(f"  {r.dataset}@{r.version}: {r.fingerprint_from[:16]} ({r.scheme_from})"
                          f" -> {r.fingerprint_to[:16]} ({r.scheme_to})")


@app.command()
def current(json: JsonOpt = False) -> None:
    """Show the catalog's schema revision and the one this Curata needs."""
    settings = resolve()
    cur = migrate.current_revision(make_engine(settings.catalog_url))
    out = {"catalog": redact_url(settings.catalog_url), "current": cur,
           "head": migrate.head_revision()}
    if json:
        print_json(out)
    else:
        console.print(f"{out['catalog']}: at {cur or 'none'}, head {out['head']}")
