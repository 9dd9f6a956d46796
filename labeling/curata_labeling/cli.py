"""``curata label``: push, pull, agreement, resolve, schemas, import (thin over the library).

Mounted by the ``curata`` CLI (``app.add_typer(curata_labeling.cli.app, name="label")``), whose
runner turns :class:`curata.errors.CurataError` into one line and an exit code. Every command
prints one JSON object with ``--json``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from curata.errors import SourceError, UsageError

app = typer.Typer(
    name="label",
    help="Label Studio sync, label schemas, agreement and adjudication.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Click's plain help: Rich's option panels cut option names at 80 columns.
    rich_markup_mode=None,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]
ProjectOpt = Annotated[str, typer.Option("--project", "-p", help="Curata label project name.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No summary (errors still print).")]


def _default(o: Any) -> Any:
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        if hasattr(o, "to_dict"):
            return o.to_dict()
        return {f.name: getattr(o, f.name) for f in dataclasses.fields(o)}
    if isinstance(o, (datetime, date)):
        return o.isoformat()
    return str(o)


def _out(obj: Any, as_json: bool, text: str, *, quiet: bool = False) -> None:
    if as_json:
        sys.stdout.write(json.dumps(obj, default=_default) + "\n")
    elif not quiet:
        typer.echo(text)


def _catalog() -> Any:
    import curata

    return curata.connect()


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise SourceError(str(path), reason=f"cannot read the {what}: {exc.strerror}") from exc


def _migration(items: list[str]) -> dict[str, dict[str, str | None]]:
    """``control.old=new`` (rename / merge) or ``control.old=`` (remove) → a migration map."""
    out: dict[str, dict[str, str | None]] = {}
    for item in items:
        key, sep, new = item.partition("=")
        control, dot, old = key.partition(".")
        if not sep or not dot or not control or not old:
            raise UsageError(
                f"Invalid --migrate {item!r}",
                hint="Use CONTROL.OLD=NEW to rename/merge or CONTROL.OLD= to remove",
            )
        out.setdefault(control, {})[old] = new or None
    return out


@app.command("push")
def push_cmd(
    ref: Annotated[str, typer.Argument(help="Snapshot to label: DATASET@REF.")],
    project: ProjectOpt,
    schema: Annotated[Path, typer.Option("--schema", help="Label Studio labeling config (XML).")],
    sample: Annotated[int | None, typer.Option(help="Label a random sample of N records.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample.")] = 0,
    filter: Annotated[str | None, typer.Option(help="Polars SQL filter, e.g. 'stars < 3'.")] = None,
    overlap: Annotated[int, typer.Option(help="Annotators per task.")] = 1,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Create or update the project and import the snapshot's records as tasks (idempotent)."""
    from curata_labeling.sync import push

    res = push(
        _catalog(),
        ref,
        project=project,
        schema_xml=_read(schema, "schema"),
        sample=sample,
        seed=seed,
        filter=filter,
        overlap=overlap,
    )
    _out(
        res,
        as_json,
        f"{project}: {res.tasks_created} task(s) created, "
        f"{res.tasks_existing} already there (Label Studio project {res.project_id})",
        quiet=quiet,
    )


@app.command("pull")
def pull_cmd(
    project: ProjectOpt,
    overlap_s: Annotated[float, typer.Option("--overlap-seconds", help="Re-read window.")] = 30,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Append new, changed and deleted annotations to the dataset's annotations table."""
    from curata_labeling.sync import pull

    res = pull(_catalog(), project, overlap=timedelta(seconds=overlap_s))
    _out(
        res,
        as_json,
        f"{project}: {res.annotations_new} new, {res.annotations_changed} changed,"
        f" {res.annotations_deleted} deleted annotation(s)",
        quiet=quiet,
    )


@app.command("agreement")
def agreement_cmd(
    project: ProjectOpt,
    by: Annotated[str | None, typer.Option(help="Breakdown: annotator, label or week.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Inter-annotator agreement per control (and per annotator / label / week)."""
    from curata_labeling.report import project_agreement

    if by not in (None, "annotator", "label", "week"):
        raise UsageError(f"Invalid --by {by!r}", hint="Use --by annotator, label or week")
    report = project_agreement(_catalog(), project).to_dict()
    if by is not None:
        for c in report["controls"].values():
            for other in {"by_annotator", "by_label", "by_week"} - {f"by_{by}"}:
                c.pop(other)
    lines = [
        f"{name}: items={c['n_items']} annotations={c['n_annotations']} "
        f"agreement={c['percent_agreement']} kappa={c['cohen_kappa']} "
        f"fleiss={c['fleiss_kappa']} alpha={c['krippendorff_alpha']} ac1={c['gwet_ac1']}"
        for name, c in report["controls"].items()
    ]
    if by is not None:
        for name, c in report["controls"].items():
            lines += [f"  {name} {key}: {json.dumps(val)}" for key, val in c[f"by_{by}"].items()]
    _out(report, as_json, "\n".join(lines) or "no annotations")


@app.command("resolve")
def resolve_cmd(
    project: ProjectOpt,
    strategy: Annotated[str, typer.Option(help="majority or dawid-skene.")] = "majority",
    min_agreement: Annotated[float, typer.Option(help="Below this, an item needs review.")] = 0.0,
    push_review: Annotated[
        bool, typer.Option(help="Push the review list to Label Studio.")
    ] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write resolved labels into the records as a new version; list items needing review."""
    from curata_labeling.adjudicate import resolve
    from curata_labeling.sync import push_review as push_review_fn

    cat = _catalog()
    res = resolve(cat, project, strategy=strategy, min_agreement=min_agreement)  # type: ignore[arg-type]
    out = dataclasses.asdict(res)
    if push_review and res.review:
        out["review_push"] = dataclasses.asdict(push_review_fn(cat, project, res.review))
    _out(
        out,
        as_json,
        f"{project}: {res.items_resolved} item(s) resolved into {res.ref}, "
        f"{res.items_for_review} for review",
        quiet=quiet,
    )


@app.command("schemas")
def schemas_cmd(
    name: Annotated[str | None, typer.Argument(help="Schema name (default: all).")] = None,
    add: Annotated[Path | None, typer.Option("--add", help="Register this config file.")] = None,
    migrate: Annotated[
        list[str] | None,
        typer.Option("--migrate", help="CONTROL.OLD=NEW (rename/merge) or CONTROL.OLD= (remove)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List label schema versions, or register a new version with --add."""
    from curata_labeling.schema import list_schemas, register_schema

    cat = _catalog()
    if add is not None:
        if name is None:
            raise UsageError(
                "--add needs a schema NAME", hint="curata label schemas NAME --add FILE"
            )
        change = register_schema(
            cat, name, _read(add, "schema"), migration=_migration(migrate or [])
        )
        _out(
            {
                "created": change.created,
                "dropped": change.dropped,
                "migrated_annotations": change.migrated_annotations,
                **change.schema.to_dict(),
            },
            as_json,
            f"{name} v{change.schema.version} "
            f"({'new' if change.created else 'unchanged'}) {change.schema.config_hash[:12]}",
        )
        return
    schemas = list_schemas(cat, name)
    _out(
        {"schemas": [s.to_dict() for s in schemas]},
        as_json,
        "\n".join(
            f"{s.name} v{s.version} {s.config_hash[:12]} controls={','.join(s.controls)}"
            for s in schemas
        )
        or "no schemas",
    )


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="Label Studio JSON export.")],
    project: ProjectOpt,
    dataset: Annotated[str | None, typer.Option(help="Dataset, for a project not pushed.")] = None,
    schema: Annotated[Path | None, typer.Option(help="Labeling config of the export.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Import a Label Studio JSON export into the annotations table (idempotent)."""
    from curata_labeling.imports import import_export

    res = import_export(
        _catalog(),
        file,
        project=project,
        dataset=dataset,
        schema_xml=_read(schema, "schema") if schema else None,
    )
    _out(res, as_json, f"{project}: {res.annotations_new} annotation(s) imported from {file}",
         quiet=quiet)
