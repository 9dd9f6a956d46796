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
    predictions: Annotated[
        str | None,
        typer.Option(help="Column of model outputs to show as pre-annotations: a string, "
                     "struct{label, score} or a list of boxes/spans."),
    ] = None,
    model_version: Annotated[
        str | None, typer.Option(help="Model version the predictions are tagged with.")
    ] = None,
    prediction_control: Annotated[
        str | None, typer.Option(help="Control the predictions fill (when several could).")
    ] = None,
    only_from: Annotated[
        str | None,
        typer.Option(help="Push only the records of this snapshot, e.g. a `label select "
                     "--into` round."),
    ] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Create or update the project and import the snapshot's records as tasks (idempotent)."""
    from curata_labeling.sync import push

    cat = _catalog()
    ids = cat.snapshot(only_from).to_arrow(columns=["_id"])["_id"].to_pylist() if only_from else None
    res = push(
        cat,
        ref,
        project=project,
        schema_xml=_read(schema, "schema"),
        sample=sample,
        seed=seed,
        filter=filter,
        overlap=overlap,
        record_ids=ids,
        predictions=predictions,
        model_version=model_version,
        prediction_control=prediction_control,
    )
    _out(
        res,
        as_json,
        f"{project}: {res.tasks_created} task(s) created, "
        f"{res.tasks_existing} already there, {res.predictions_created} prediction(s) "
        f"(Label Studio project {res.project_id})",
        quiet=quiet,
    )


@app.command("pull")
def pull_cmd(
    project: ProjectOpt,
    overlap_s: Annotated[float, typer.Option("--overlap-seconds", help="Re-read window.")] = 30,
    predictions: Annotated[
        bool, typer.Option(help="Also pull model predictions (into their own table).")
    ] = True,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Append new, changed and deleted annotations to the dataset's annotations table."""
    from curata_labeling.sync import pull

    res = pull(_catalog(), project, overlap=timedelta(seconds=overlap_s), predictions=predictions)
    _out(
        res,
        as_json,
        f"{project}: {res.annotations_new} new, {res.annotations_changed} changed,"
        f" {res.annotations_deleted} deleted annotation(s); {res.predictions_new} new,"
        f" {res.predictions_changed} changed, {res.predictions_deleted} deleted prediction(s)",
        quiet=quiet,
    )


@app.command("agreement")
def agreement_cmd(
    project: ProjectOpt,
    by: Annotated[str | None, typer.Option(help="Breakdown: annotator, label or week.")] = None,
    control: Annotated[
        str | None, typer.Option(help="Control of the annotator quality report (--by annotator).")
    ] = None,
    model_version: Annotated[
        str | None,
        typer.Option(help="Also score this model's pulled predictions against the annotators."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Inter-annotator agreement per control (and per annotator / label / week).

    With --by annotator: per-annotator accuracy against adjudicated (else majority) labels,
    confusion, Dawid–Skene confusion and weekly drift (``annotators``).
    """
    from curata_labeling.annotators import project_quality
    from curata_labeling.report import project_agreement

    if by not in (None, "annotator", "label", "week"):
        raise UsageError(f"Invalid --by {by!r}", hint="Use --by annotator, label or week")
    cat = _catalog()
    report = project_agreement(cat, project).to_dict()
    quality = None
    if by == "annotator" or model_version is not None:
        quality = project_quality(cat, project, control=control, model_version=model_version)
        report.update(quality.to_dict())
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
    if quality is not None:
        lines += [f"{quality.control} vs reference {quality.reference}:"] + [
            f"  {a.annotator}: n={a.n} accuracy={a.accuracy}" for a in quality.annotators
        ]
    _out(report, as_json, "\n".join(lines) or "no annotations")


@app.command("select")
def select_cmd(
    ref: Annotated[str, typer.Argument(help="Snapshot to pick from: DATASET@REF.")],
    scores: Annotated[str, typer.Option(help="list<float> column of class probabilities.")],
    strategy: Annotated[str, typer.Option(help="uncertainty, margin, entropy or random.")] = (
        "uncertainty"
    ),
    n: Annotated[int, typer.Option("--n", help="How many records to pick.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of random and of --diverse clustering.")] = 0,
    diverse: Annotated[
        bool, typer.Option(help="Spread the picks over clusters of --embedding.")
    ] = False,
    embedding: Annotated[
        str | None, typer.Option(help="Embedding (list<float>) or MinHash (list<int>) column.")
    ] = None,
    into: Annotated[
        str | None, typer.Option(help="Write the picks as this derived dataset (lineage).")
    ] = None,
    tag: Annotated[str | None, typer.Option(help="Tag the --into snapshot.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Pick the records most worth labeling next (active learning), deterministically."""
    from curata_labeling.select import select

    res = select(_catalog(), ref, scores=scores, strategy=strategy, n=n, seed=seed,  # type: ignore[arg-type]
                 diverse=diverse, embedding=embedding, into=into, tag=tag)
    text = f"{len(res.selected)} of {res.candidates} record(s) by {res.strategy}" + (
        f" -> {res.into['ref']}" if res.into else "")
    _out(res.to_dict(), as_json, "\n".join([text] + [f"  {p.record_id} {p.score:.6g}"
                                                       for p in res.selected]))


@app.command("issues")
def issues_cmd(
    project: ProjectOpt,
    probs: Annotated[
        str, typer.Option(help="list<float> column of out-of-sample class probabilities.")
    ],
    control: Annotated[str | None, typer.Option(help="Single-choice control to check.")] = None,
    ref: Annotated[
        str | None, typer.Option(help="Snapshot holding --probs (default: latest).")
    ] = None,
    push_review: Annotated[
        bool, typer.Option(help="Push the issues to the review project in Label Studio.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rank records whose given label is likely wrong (confident learning, cleanlab)."""
    from curata_labeling.label_issues import find_issues
    from curata_labeling.sync import push_review as push_review_fn

    cat = _catalog()
    res = find_issues(cat, project, probs=probs, control=control, ref=ref)
    out = res.to_dict()
    if push_review and res.issues:
        pushed = push_review_fn(cat, project, [i.record_id for i in res.issues])
        out["review_push"] = dataclasses.asdict(pushed)
    lines = [f"{project} {res.control}: {len(res.issues)} likely label issue(s) of "
             f"{res.n_records}"] + [
        f"  {i.record_id} given={i.given} suggested={i.suggested} quality={i.label_quality:.4f}"
        for i in res.issues
    ]
    _out(out, as_json, "\n".join(lines))


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
