"""``curata license``, ``curata bom`` and ``curata audit``: thin commands over curata.governance.

Register on the main app with :func:`register` (top-level commands), or mount :data:`app`.
Errors propagate as ``CurataError``; the main CLI maps them to exit codes.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import curata
import typer
from curata.governance.audit import audit_entries
from curata.governance.bom import BOM_FORMATS, write_bom
from curata.governance.collect import collect_facts
from curata.governance.licenses import PURPOSES, check_purpose
from curata.governance.report import LicenseReport, check_license, license_report

from curata_ingest.cli._output import (
    JsonOpt,
    QuietOpt,
    console,
    print_json,
    styled,
    summarize,
    table,
    typer_app,
    when,
)
from curata_ingest.cli._output import entries as show_entries

app = typer_app(
    help="Governance: license policy, bills of materials, audit log.", no_args_is_help=True
)


@app.command("license")
def license_command(
    ref: Annotated[str, typer.Argument(help="Snapshot ref: DATASET, DATASET@TAG or @VERSION.")],
    purpose: Annotated[
        str, typer.Option(help=f"Intended use: {', '.join(PURPOSES)}.")
    ] = "commercial",
    allow_license: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-license", help="License id or expression cleared for this use (repeatable)."
        ),
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option(help="Why the --allow-license override is justified (audited with --check)."),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Exit with the policy error code (6) when refused; "
            "overrides are recorded in the audit log.",
        ),
    ] = False,
    json: JsonOpt = False,
) -> None:
    """License mix with counts, obligations, conflicts and the verdict for a purpose."""
    use = check_purpose(purpose)
    cat = curata.connect()
    allow = list(allow_license or [])
    if check:
        report = check_license(cat.store, cat.snapshot(ref), use, allow=allow, reason=reason,
                               action="license-check")
    else:
        report = license_report(cat.store, cat.snapshot(ref), use, allow=allow)
    if json:
        print_json(report.to_dict())
    else:
        _print_report(report)


def _print_report(report: LicenseReport) -> None:
    v = report.verdict
    console.print(styled("[bold]{ref}[/bold]  fingerprint {fp}  {n} records", ref=report.ref,
                         fp=report.fingerprint[:16], n=report.total_records))
    table("License mix", ["license", "source", "records"],
          [[m.license, m.source_name, m.records] for m in report.mix])
    if v.obligations:
        table("Obligations", ["obligation", "license", "records", "terms"],
              [[o.kind, o.license, o.records, o.url] for o in v.obligations])
    if report.credits:
        table("Who must be credited", ["source", "credit", "licenses", "records"],
              [[c.name, c.attribution or "NOT RECORDED", ", ".join(c.licenses), c.records]
               for c in report.credits])
    if v.binding_license:
        console.print(f"Share-alike: a derived dataset must be released under "
                      f"{v.binding_license}")
    for c in v.conflicts:
        console.print(styled("[yellow]Conflict ({kind})[/yellow]: {reason}", kind=c.kind,
                             reason=c.reason))
    for lic, n in v.overridden.items():
        console.print(styled("[yellow]Override[/yellow]: {lic} ({n} records) allowed by "
                             "--allow-license", lic=lic, n=n))
    verdict = "[green]ALLOWED[/green]" if v.allowed else "[red]REFUSED[/red]"
    console.print(styled(f"Verdict for {{purpose}} use: {verdict}", purpose=v.purpose))
    for e in v.expressions:
        if not e.permitted:
            console.print(f"  {e.expression}: {e.records} records: {e.reason}")


@app.command("bom")
def bom_command(
    ref: Annotated[str, typer.Argument(help="Snapshot ref: DATASET, DATASET@TAG or @VERSION.")],
    format: Annotated[
        str, typer.Option("--format", "-f", help=f"One of: {', '.join(BOM_FORMATS)}.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write.")],
    json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write a dataset bill of materials: CycloneDX 1.6, Croissant 1.1, SPDX 3 or a datasheet.

    Croissant readers resolve data files on the local disk, relative to the metadata: written
    outside the snapshot's table folder, a Croissant file gets FILE.files/ beside it (links
    to local files, copies of object-store files) so its records load from anywhere.
    """
    from curata.governance.bom import InvalidBomFormatError

    if format not in BOM_FORMATS:
        raise InvalidBomFormatError(format)
    cat = curata.connect()
    result = write_bom(collect_facts(cat.store, cat.snapshot(ref)), format, out,  # type: ignore[arg-type]
                       storage_options=cat.storage_options)
    if json:
        print_json(asdict(result))
    elif not quiet:
        typer.echo(
            f"Wrote {result.format} BOM of {result.ref} to {result.path} "
            f"({result.files} data files, {result.derived_from} provenance entries)"
        )


@app.command("audit")
def audit_command(
    dataset: Annotated[str | None, typer.Option(help="Only entries about this dataset.")] = None,
    action: Annotated[
        list[str] | None,
        typer.Option(help="Only this action (repeatable; 'tag' matches 'tag.force')."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the newest N entries.")] = None,
    json: JsonOpt = False,
) -> None:
    """List the audit log: who tagged, overrode a license, exported, ran gc — and when."""
    entries = audit_entries(curata.connect().store, dataset, actions=action or (), limit=limit)
    if json:
        print_json([e.to_dict() for e in entries])
        return
    show_entries(
        ["id", "when (UTC)", "who", "action", "dataset"],
        [([e.id, when(e.at), e.actor, e.action, e.dataset or ""],
          summarize(dict(sorted(e.details.items())))) for e in entries],
    )


def register(parent: typer.Typer) -> None:
    """Add ``license``, ``bom`` and ``audit`` as top-level commands of ``parent``."""
    parent.command("license")(license_command)
    parent.command("bom")(bom_command)
    parent.command("audit")(audit_command)
