"""Push snapshots to Label Studio as tasks, pull annotations back into the annotations table.

Push is idempotent because Label Studio itself is asked which tasks exist: every task carries
``_curata_key`` (a hash of project, dataset and record ``_id``) in its data, and a push first
lists the keys already in the project, then imports only the missing ones, batch by batch. A
push interrupted half way and run again therefore creates exactly the rest.

Pull pages through the tasks updated since the last high-water mark (minus an overlap window,
because clocks and commits are not instantaneous), compares each annotation with its current
state in the ``annotations`` Delta table, and appends one row per new, changed or deleted
annotation in ONE commit. Everything is fetched before anything is written, so a Label Studio
failure part way leaves no trace; the cursor only limits how much is re-read.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from curata._util import utcnow
from curata.errors import NotFoundError, SchemaMismatchError, UsageError
from sqlalchemy import select

from curata_labeling import store
from curata_labeling.client import LabelStudioClient, parse_time
from curata_labeling.results import normalize, result_hash
from curata_labeling.schema import LabelSchema, list_schemas, register_schema

KEY = "_curata_key"
DEFAULT_BATCH = 1000
DEFAULT_OVERLAP = timedelta(seconds=30)


class LabelProjectNotFoundError(NotFoundError):
    def __init__(self, project: str, *, available: Sequence[str] = ()) -> None:
        self.project = project
        self.available = list(available)
        super().__init__(
            f"Label project {project!r} not found (known: {', '.join(self.available) or 'none'})",
            hint=f"Run `curata label push DATASET@REF --project {project} --schema FILE` first",
        )


class ProjectDatasetMismatchError(UsageError):
    def __init__(self, project: str, *, dataset: str, requested: str) -> None:
        self.project = project
        self.dataset = dataset
        self.requested = requested
        super().__init__(
            f"Label project {project!r} labels dataset {dataset!r}, not {requested!r}",
            hint="Use another --project name for this dataset",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectInfo:
    """A Label Studio project linked to a dataset."""

    id: int
    name: str
    dataset: str
    ls_url: str
    ls_project_id: int
    schema_name: str
    schema_version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PushResult:
    project: str
    project_id: int
    ref: str
    schema_version: int
    tasks_selected: int
    tasks_created: int
    tasks_existing: int
    predictions_created: int = 0
    model_version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PullResult:
    project: str
    project_id: int
    annotations_new: int
    annotations_changed: int
    annotations_deleted: int
    tasks_seen: int
    high_water_mark: datetime | None
    predictions_new: int = 0
    predictions_changed: int = 0
    predictions_deleted: int = 0


def task_key(project: str, dataset: str, record_id: str) -> str:
    """Idempotency key of one record in one project (stable across pushes and versions)."""
    return hashlib.sha256(f"{project}\0{dataset}\0{record_id}".encode()).hexdigest()[:32]


# --- projects ------------------------------------------------------------------------------


def _info(row: Any) -> ProjectInfo:
    return ProjectInfo(
        id=row.id,
        name=row.name,
        dataset=row.dataset,
        ls_url=row.ls_url,
        ls_project_id=row.ls_project_id,
        schema_name=row.schema_name,
        schema_version=row.schema_version,
    )


def get_project(cat: Any, name: str) -> ProjectInfo:
    from curata_labeling.models import LabelProject

    with cat.store.session() as s:
        row = s.scalar(select(LabelProject).where(LabelProject.name == name))
        if row is None:
            raise LabelProjectNotFoundError(
                name, available=s.scalars(select(LabelProject.name)).all()
            )
        return _info(row)


def list_projects(cat: Any) -> list[ProjectInfo]:
    from curata_labeling.models import LabelProject

    with cat.store.session() as s:
        return [_info(r) for r in s.scalars(select(LabelProject).order_by(LabelProject.name))]


def _link_project(
    cat: Any, client: LabelStudioClient, name: str, dataset: str, schema: LabelSchema, overlap: int
) -> ProjectInfo:
    """Create the Label Studio project, or update its config when the schema version moved."""
    from curata_labeling.models import LabelProject

    with cat.store.session() as s:
        row = s.scalar(select(LabelProject).where(LabelProject.name == name))
        if row is not None and row.dataset != dataset:
            raise ProjectDatasetMismatchError(name, dataset=row.dataset, requested=dataset)
        if row is not None and client.get_project(row.ls_project_id) is not None:
            if row.schema_version != schema.version or row.schema_name != schema.name:
                client.update_project(
                    row.ls_project_id, label_config=schema.config_xml, maximum_annotations=overlap
                )
                row.schema_name, row.schema_version = schema.name, schema.version
            return _info(row)
        created = client.create_project(title=name, label_config=schema.config_xml, overlap=overlap)
        if row is None:
            row = LabelProject(
                name=name,
                dataset=dataset,
                ls_url=client.url,
                ls_project_id=int(created["id"]),
                schema_name=schema.name,
                schema_version=schema.version,
            )
            s.add(row)
        else:  # the Label Studio project was deleted: relink to the new one
            row.ls_url, row.ls_project_id = client.url, int(created["id"])
            row.schema_name, row.schema_version = schema.name, schema.version
        s.flush()
        cat.store.audit(
            "label.project",
            dataset=dataset,
            session=s,
            details={"project": name, "ls_project_id": row.ls_project_id},
        )
        return _info(row)


# --- push ----------------------------------------------------------------------------------

_MAGIC = {
    b"\x89PNG": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF8": "image/gif",
    b"RIFF": "image/webp",
    b"BM": "image/bmp",
}


def _task_value(value: Any) -> Any:
    """Task data must be JSON; image bytes become a data URI so annotators see the image."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        mime = next(
            (m for sig, m in _MAGIC.items() if raw.startswith(sig)), "application/octet-stream"
        )
        return f"data:{mime};base64,{base64.b64encode(raw).decode()}"
    if isinstance(value, (datetime,)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _task_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_task_value(v) for v in value]
    return value


def select_records(
    snap: Any,
    columns: Sequence[str],
    *,
    filter: str | None = None,
    sample: int | None = None,
    seed: int = 0,
    record_ids: Iterable[str] | None = None,
) -> pa.Table:
    """The records to label: filtered (Polars SQL expression), then a seeded sample by ``_id``."""
    import polars as pl

    missing = [c for c in columns if c not in snap.schema.names]
    if missing:
        raise SchemaMismatchError(
            snap.dataset,
            reason=f"the labeling config reads {missing}, which are not columns "
            f"(columns: {[n for n in snap.schema.names if not n.startswith('_')]})",
            columns=missing,
        )
    lf = snap.to_polars(lazy=True)
    if record_ids is not None:
        lf = lf.filter(pl.col("_id").is_in(list(record_ids)))
    try:
        if filter:
            lf = lf.filter(pl.sql_expr(filter))
        table = lf.select(["_id", *columns]).sort("_id").collect().to_arrow()
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise UsageError(f"Invalid --filter expression {filter!r}: {exc}") from exc
    if sample is not None and sample < table.num_rows:
        picked = np.sort(np.random.default_rng(seed).choice(table.num_rows, sample, replace=False))
        table = table.take(pa.array(picked))
    return table


def _tasks(
    table: pa.Table,
    project: str,
    snap: Any,
    columns: Sequence[str],
    predict: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
) -> list[dict]:
    tasks = []
    for row in table.to_pylist():
        data = {c: _task_value(row[c]) for c in columns}
        data.update(
            {
                "_id": row["_id"],
                "_dataset": snap.dataset,
                "_version": snap.version,
                KEY: task_key(project, snap.dataset, row["_id"]),
            }
        )
        task: dict[str, Any] = {"data": data}
        prediction = predict(row) if predict is not None else None
        if prediction is not None:
            task["predictions"] = [prediction]
        tasks.append(task)
    return tasks


def _predictor(
    snap: Any, schema: LabelSchema, column: str | None, model_version: str | None,
    control: str | None,
) -> Callable[[dict[str, Any]], dict[str, Any] | None] | None:
    """Record row → Label Studio prediction, for ``push --predictions COLUMN``."""
    from curata_labeling.predictions import column_shape, pick_control, prediction_for

    if column is None:
        return None
    if not model_version:
        raise UsageError(
            "--predictions needs --model-version",
            hint="Pass --model-version V (shown to annotators, kept with every prediction)",
        )
    if column not in snap.schema.names:
        raise SchemaMismatchError(
            snap.dataset,
            reason=f"no prediction column {column!r} "
            f"(columns: {[n for n in snap.schema.names if not n.startswith('_')]})",
            columns=[column],
        )
    shape = column_shape(snap.schema.field(column))
    target = pick_control(schema, column, shape, control)
    return lambda row: prediction_for(
        row[column], column=column, shape=shape, control=target, record_id=row["_id"],
        model_version=model_version,
    )


def push(
    cat: Any,
    ref: str,
    *,
    project: str,
    schema_xml: str,
    schema_name: str | None = None,
    sample: int | None = None,
    seed: int = 0,
    filter: str | None = None,
    overlap: int = 1,
    batch_size: int = DEFAULT_BATCH,
    record_ids: Iterable[str] | None = None,
    predictions: str | None = None,
    model_version: str | None = None,
    prediction_control: str | None = None,
    client: LabelStudioClient | None = None,
) -> PushResult:
    """Create or update a Label Studio project and import the snapshot's records as tasks.

    Args:
        ref: the snapshot to label (``reviews@v3``); its version is stored in every task.
        project: the project name in Curata and the Label Studio project title.
        schema_xml: the labeling config; a changed config becomes a new schema version.
        sample / seed: label a reproducible random sample of ``sample`` records.
        filter: a Polars SQL expression over the record columns (``"stars < 3"``).
        overlap: annotators per task (Label Studio ``maximum_annotations``).
        predictions / model_version: a column of model outputs (see
            :mod:`curata_labeling.predictions`) sent as Label Studio predictions tagged
            ``model_version``, shown to annotators as pre-annotations. Tasks that already
            exist get the prediction if they have none of that model version yet.
        prediction_control: the control the predictions fill, when several could.

    Example:
        >>> push(cat, "reviews@v3", project="sentiment", schema_xml=xml, sample=500)
        >>> push(cat, "reviews@v3", project="sentiment", schema_xml=xml,
        ...      predictions="model_label", model_version="bert-v2")
    """
    client = client or LabelStudioClient()
    snap = cat.snapshot(ref)
    schema = register_schema(cat, schema_name or project, schema_xml).schema
    columns = schema.variables
    predict = _predictor(snap, schema, predictions, model_version, prediction_control)
    table = select_records(
        snap, [*columns, *([predictions] if predictions and predictions not in columns else [])],
        filter=filter, sample=sample, seed=seed, record_ids=record_ids,
    )
    tasks = _tasks(table, project, snap, columns, predict)  # bad predictions fail here
    info = _link_project(cat, client, project, snap.dataset, schema, overlap)
    existing = client.task_keys(info.ls_project_id, KEY)
    todo = [t for t in tasks if t["data"][KEY] not in existing]
    created = 0
    for start in range(0, len(todo), batch_size):
        # Each batch is one request: Label Studio creates all of its tasks or none.
        created += len(client.import_tasks(info.ls_project_id, todo[start : start + batch_size]))
    n_pred = sum(1 for t in todo if t.get("predictions"))
    if predict is not None:
        n_pred += _predict_existing(client, info, tasks, existing, model_version, batch_size)
        client.update_project(info.ls_project_id, model_version=model_version,
                              show_collab_predictions=True)
    cat.audit(
        "label.push",
        dataset=snap.dataset,
        details={
            "project": project,
            "ref": snap.ref,
            "created": created,
            "ls_project_id": info.ls_project_id,
            "predictions": n_pred,
            "model_version": model_version if predict is not None else None,
        },
    )
    return PushResult(
        project=project,
        project_id=info.ls_project_id,
        ref=snap.ref,
        schema_version=schema.version,
        tasks_selected=table.num_rows,
        tasks_created=created,
        tasks_existing=table.num_rows - len(todo),
        predictions_created=n_pred,
        model_version=model_version if predict is not None else None,
    )


def _predict_existing(
    client: LabelStudioClient,
    info: ProjectInfo,
    tasks: list[dict[str, Any]],
    existing: dict[str, int],
    model_version: str | None,
    batch_size: int,
) -> int:
    """Add the prediction to tasks that were already there and have none of this version."""
    todo = [t for t in tasks if t["data"][KEY] in existing and t.get("predictions")]
    if not todo:
        return 0
    have = client.predicted_tasks(info.ls_project_id, model_version=model_version)
    preds = [
        {**t["predictions"][0], "task": existing[t["data"][KEY]]}
        for t in todo
        if existing[t["data"][KEY]] not in have
    ]
    for start in range(0, len(preds), batch_size):
        client.import_predictions(info.ls_project_id, preds[start : start + batch_size])
    return len(preds)


# --- pull ----------------------------------------------------------------------------------


def _schema_version_at(versions: list[LabelSchema], ts: datetime | None, default: int) -> int:
    """The schema version in force when an annotation was last saved."""
    chosen = default
    for v in versions:
        if v.created_at is not None and ts is not None:
            created = v.created_at if v.created_at.tzinfo else v.created_at.replace(tzinfo=UTC)
            if created <= ts:
                chosen = v.version
    return chosen


def _user_of(value: Any) -> int | None:
    if isinstance(value, dict):
        value = value.get("id")
    return None if value is None else int(value)


def annotation_row(
    ann: dict[str, Any],
    task: dict[str, Any],
    *,
    info: ProjectInfo,
    users: dict[int, str],
    versions: list[LabelSchema],
    pulled_at: datetime,
    event: str,
    origin: str,
) -> dict[str, Any]:
    """One annotations-table row from a Label Studio annotation of ``task``."""
    data = task.get("data") or {}
    result = ann.get("result") or []
    updated = parse_time(ann.get("updated_at")) or parse_time(ann.get("created_at"))
    user_id = _user_of(ann.get("completed_by"))
    email = ann["completed_by"].get("email") if isinstance(ann.get("completed_by"), dict) else None
    return {
        "project": info.name,
        "ls_url": info.ls_url,
        "ls_project_id": info.ls_project_id,
        "ls_task_id": int(task["id"]) if task.get("id") is not None else None,
        "ls_annotation_id": int(ann["id"]),
        "record_id": data.get("_id"),
        "dataset_version": data.get("_version"),
        "annotator": email or users.get(user_id, str(user_id)),
        "annotator_id": user_id,
        "values": json.dumps(normalize(result), sort_keys=True),
        "result": json.dumps(result, sort_keys=True),
        "result_hash": result_hash(result),
        "was_cancelled": bool(ann.get("was_cancelled")),
        "lead_time": None if ann.get("lead_time") is None else float(ann["lead_time"]),
        "created_at": parse_time(ann.get("created_at")),
        "updated_at": updated,
        "schema_name": info.schema_name,
        "schema_version": _schema_version_at(versions, updated, info.schema_version),
        "pulled_at": pulled_at,
        "event": event,
        "origin": origin,
    }


class EventDiff:
    """Rows for the new / changed items (annotations or predictions) of a stream of tasks, and
    for known ones that disappeared; fed one task at a time so a pull works while it fetches.

    Args:
        known: the current state, item id → row.
        make_row: ``(item, task, event) -> row``.
        key: the task field holding the items (``annotations`` or ``predictions``).
    """

    #: Fields whose change makes a new event (an absent one compares as ``None``).
    COMPARED = ("result_hash", "was_cancelled", "score", "model_version")

    def __init__(self, known: dict[int, dict[str, Any]], make_row: Any, *, key: str) -> None:
        self.known, self.make_row, self.key = known, make_row, key
        self.rows: list[dict[str, Any]] = []
        self.counts = {"new": 0, "changed": 0, "deleted": 0}
        self.seen_tasks: set[int] = set()
        self.present: set[int] = set()

    def add(self, task: dict[str, Any]) -> None:
        self.seen_tasks.add(int(task["id"]))
        for item in task.get(self.key) or []:
            if not isinstance(item, dict):  # the export lists predictions by id only
                self.present.add(int(item))
                continue
            iid = int(item["id"])
            self.present.add(iid)
            old = self.known.get(iid)
            event = "new" if old is None else "changed"
            row = self.make_row(item, task, event)
            if old is not None and all(old.get(f) == row.get(f) for f in self.COMPARED):
                continue
            self.rows.append(row)
            self.counts[event] += 1

    def unknown_ids(self, task: dict[str, Any]) -> bool:
        """Whether ``task`` lists an item id this diff has not seen in the stored state."""
        return any(not isinstance(i, dict) and int(i) not in self.known
                   for i in task.get(self.key) or [])

    def finish(self, *, live_task_ids: set[int] | None, deleted_at: datetime) -> None:
        """Add ``deleted`` rows for known items gone from a seen task, or whose task is gone."""
        for iid, old in self.known.items():
            gone_from_task = old["ls_task_id"] in self.seen_tasks and iid not in self.present
            task_gone = live_task_ids is not None and old["ls_task_id"] not in live_task_ids
            if gone_from_task or task_gone:
                self.rows.append({**old, "event": "deleted", "pulled_at": deleted_at})
                self.counts["deleted"] += 1


def diff_annotations(
    tasks: Iterable[dict[str, Any]],
    known: dict[int, dict[str, Any]],
    make_row: Any,
    *,
    live_task_ids: set[int] | None = None,
    deleted_at: datetime,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Rows for new / changed annotations of ``tasks`` and for those that disappeared."""
    diff = EventDiff(known, make_row, key="annotations")
    for task in tasks:
        diff.add(task)
    diff.finish(live_task_ids=live_task_ids, deleted_at=deleted_at)
    return diff.rows, diff.counts


#: A project whose task ids span at most this many times its task count is exported by id
#: range (no task listing); a sparser one is listed first.
DENSE_SPAN = 2.0


def _fetch_plan(
    client: LabelStudioClient, project_id: int, since: datetime | None
) -> tuple[Iterator[list[dict[str, Any]]], set[int] | None]:
    """The export chunks a pull reads, and the live task ids (``None``: the chunks hold all).

    A first pull reads every task: the export by id range needs two tiny requests where the
    listing of ``updated_at`` costs ~0.5 ms a task. Later pulls list the tasks and export
    only those updated since the cursor (less the overlap window).
    """
    span = client.task_id_span(project_id)
    if span is None:
        return iter(()), set()
    lo, hi, total = span
    # A span narrower than the task count means the ordering was not honoured: list instead.
    if since is None and total <= hi - lo + 1 <= DENSE_SPAN * max(total, 1):
        return client.export_id_range(project_id, lo, hi), None
    versions = client.task_versions(project_id)
    changed = [t for t, ts in versions.items() if since is None or ts is None or ts > since]
    return client.export_tasks(project_id, changed), set(versions)


def pull(
    cat: Any,
    project: str,
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
    client: LabelStudioClient | None = None,
    page_size: int | None = None,
    predictions: bool = True,
) -> PullResult:
    """Append new, changed and deleted annotations (and model predictions, into the separate
    ``predictions`` table) of a project to its dataset's tables.

    Idempotent: a second pull with nothing changed in Label Studio appends nothing. Everything
    is fetched and compared before anything is written: a failure part way leaves no trace.
    ``predictions=False`` skips the model predictions: Label Studio's export names them by id
    only, and listing them costs about as much per prediction as the export per annotation.

    Example:
        >>> pull(cat, "sentiment").annotations_new
        42
    """
    from curata_labeling.models import LabelSyncCursor
    from curata_labeling.predictions import prediction_row

    info = get_project(cat, project)
    client = client or LabelStudioClient(info.ls_url or None)
    if page_size is not None:  # smaller export calls (tests of a failure part way)
        client = _chunked(client, page_size)
    with cat.store.session() as s:
        cursor = s.get(LabelSyncCursor, info.id)
        hwm = cursor.high_water_mark if cursor else None
    hwm = hwm.replace(tzinfo=UTC) if hwm is not None and hwm.tzinfo is None else hwm
    since = None if hwm is None else hwm - overlap
    chunks, live = _fetch_plan(client, info.ls_project_id, since)
    users, versions, now = client.users(), list_schemas(cat, info.schema_name), utcnow()

    def make_ann(ann, task, event):
        return annotation_row(ann, task, info=info, users=users, versions=versions,
                              pulled_at=now, event=event, origin="label-studio")

    def make_pred(pred, task, event):
        return prediction_row(pred, task, info=info, pulled_at=now, event=event)

    anns = EventDiff(_known(cat, info, "annotations"), make_ann, key="annotations")
    preds = EventDiff(_known(cat, info, "predictions"), make_pred, key="predictions")
    new_hwm = _consume(chunks, anns, preds if predictions else None, client,
                       info.ls_project_id, hwm)
    live = anns.seen_tasks if live is None else live
    anns.finish(live_task_ids=live, deleted_at=now)
    if predictions:  # skipped, the table is left as it was
        preds.finish(live_task_ids=live, deleted_at=now)
    store.append_events(cat, info.dataset, anns.rows)
    store.append_events(cat, info.dataset, preds.rows, kind="predictions")
    stats = {**anns.counts, **{f"predictions_{k}": v for k, v in preds.counts.items()}}
    _save_cursor(cat, info, new_hwm, now, stats)
    return PullResult(
        project=project,
        project_id=info.ls_project_id,
        annotations_new=anns.counts["new"],
        annotations_changed=anns.counts["changed"],
        annotations_deleted=anns.counts["deleted"],
        tasks_seen=len(anns.seen_tasks),
        high_water_mark=new_hwm,
        predictions_new=preds.counts["new"],
        predictions_changed=preds.counts["changed"],
        predictions_deleted=preds.counts["deleted"],
    )


def _consume(
    chunks: Iterable[list[dict[str, Any]]],
    anns: EventDiff,
    preds: EventDiff | None,
    client: LabelStudioClient,
    project_id: int,
    hwm: datetime | None,
) -> datetime | None:
    """Feed every exported task to both diffs; return the new high-water mark.

    The export names predictions by id only: when an unknown one shows up, the project's
    predictions are listed (one call) on a side thread while the export goes on.
    """
    predicted: dict[int, dict[str, Any]] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="curata-preds") as pool:
        listing = None
        for chunk in chunks:
            for task in chunk:
                anns.add(task)
                ts = parse_time(task.get("updated_at"))
                hwm = ts if ts is not None and (hwm is None or ts > hwm) else hwm
                if preds is None:
                    continue
                preds.add(task)
                if preds.unknown_ids(task):
                    predicted[int(task["id"])] = task.get("data") or {}
            if predicted and listing is None:
                listing = pool.submit(client.predictions, project_id)
        for task_id, items in (listing.result() if listing else {}).items():
            if preds is not None and task_id in predicted:
                preds.add({"id": task_id, "data": predicted[task_id], "predictions": items})
    return hwm


def _known(cat: Any, info: ProjectInfo, kind: str) -> dict[int, dict[str, Any]]:
    key = store.TABLES[kind][1]
    events = store.read_events(cat, info.dataset, project=info.name, kind=kind)
    return {r[key]: r for r in store.current_state(events, key=key).to_pylist()}


def _chunked(client: LabelStudioClient, size: int) -> LabelStudioClient:
    """``client`` with export calls of ``size`` task ids, one at a time."""
    import copy

    small = copy.copy(client)
    small.export_chunk, small.export_ahead = size, 0
    return small


def _save_cursor(cat: Any, info: ProjectInfo, hwm: datetime | None, now: datetime, counts) -> None:
    from curata_labeling.models import LabelSyncCursor

    with cat.store.session() as s:
        cursor = s.get(LabelSyncCursor, info.id) or LabelSyncCursor(project_id=info.id)
        cursor.high_water_mark, cursor.last_pull_at, cursor.last_stats = hwm, now, dict(counts)
        s.add(cursor)
        cat.store.audit(
            "label.pull", dataset=info.dataset, session=s, details={"project": info.name, **counts}
        )


def push_review(
    cat: Any,
    project: str,
    record_ids: Sequence[str],
    *,
    review_project: str | None = None,
    overlap: int = 1,
    client: LabelStudioClient | None = None,
) -> PushResult:
    """Push records needing review (ties, low agreement) to a review project, same schema."""
    from curata_labeling.schema import get_schema

    info = get_project(cat, project)
    schema = get_schema(cat, info.schema_name, info.schema_version)
    return push(
        cat,
        info.dataset,
        project=review_project or f"{project}-review",
        schema_xml=schema.config_xml,
        schema_name=info.schema_name,
        overlap=overlap,
        record_ids=list(record_ids),
        client=client,
    )
