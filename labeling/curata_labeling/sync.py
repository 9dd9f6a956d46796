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
from collections.abc import Iterable, Sequence
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


@dataclass(frozen=True, slots=True, kw_only=True)
class PullResult:
    project: str
    project_id: int
    annotations_new: int
    annotations_changed: int
    annotations_deleted: int
    tasks_seen: int
    high_water_mark: datetime | None


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

    with cat.session() as s:
        row = s.scalar(select(LabelProject).where(LabelProject.name == name))
        if row is None:
            raise LabelProjectNotFoundError(
                name, available=s.scalars(select(LabelProject.name)).all()
            )
        return _info(row)


def list_projects(cat: Any) -> list[ProjectInfo]:
    from curata_labeling.models import LabelProject

    with cat.session() as s:
        return [_info(r) for r in s.scalars(select(LabelProject).order_by(LabelProject.name))]


def _link_project(
    cat: Any, client: LabelStudioClient, name: str, dataset: str, schema: LabelSchema, overlap: int
) -> ProjectInfo:
    """Create the Label Studio project, or update its config when the schema version moved."""
    from curata_labeling.models import LabelProject

    with cat.session() as s:
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
        cat.audit(
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


def _tasks(table: pa.Table, project: str, snap: Any, columns: Sequence[str]) -> list[dict]:
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
        tasks.append({"data": data})
    return tasks


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

    Example:
        >>> push(cat, "reviews@v3", project="sentiment", schema_xml=xml, sample=500)
    """
    client = client or LabelStudioClient()
    snap = cat.snapshot(ref)
    schema = register_schema(cat, schema_name or project, schema_xml).schema
    columns = schema.variables
    table = select_records(
        snap, columns, filter=filter, sample=sample, seed=seed, record_ids=record_ids
    )
    info = _link_project(cat, client, project, snap.dataset, schema, overlap)
    existing = client.task_keys(info.ls_project_id, KEY)
    todo = [t for t in _tasks(table, project, snap, columns) if t["data"][KEY] not in existing]
    created = 0
    for start in range(0, len(todo), batch_size):
        # Each batch is one request: Label Studio creates all of its tasks or none.
        created += len(client.import_tasks(info.ls_project_id, todo[start : start + batch_size]))
    cat.audit(
        "label.push",
        dataset=snap.dataset,
        details={
            "project": project,
            "ref": snap.ref,
            "created": created,
            "ls_project_id": info.ls_project_id,
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
    )


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


def diff_annotations(
    tasks: Iterable[dict[str, Any]],
    known: dict[int, dict[str, Any]],
    make_row: Any,
    *,
    live_task_ids: set[int] | None = None,
    deleted_at: datetime,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Rows for new / changed annotations of ``tasks`` and for those that disappeared."""
    rows, counts = [], {"new": 0, "changed": 0, "deleted": 0}
    seen_tasks: set[int] = set()
    present: set[int] = set()
    for task in tasks:
        seen_tasks.add(int(task["id"]))
        for ann in task.get("annotations") or []:
            aid = int(ann["id"])
            present.add(aid)
            old = known.get(aid)
            event = "new" if old is None else "changed"
            row = make_row(ann, task, event)
            if old is not None and (old["result_hash"], old["was_cancelled"]) == (
                row["result_hash"],
                row["was_cancelled"],
            ):
                continue
            rows.append(row)
            counts[event] += 1
    for aid, old in known.items():
        gone_from_task = old["ls_task_id"] in seen_tasks and aid not in present
        task_gone = live_task_ids is not None and old["ls_task_id"] not in live_task_ids
        if gone_from_task or task_gone:
            rows.append({**old, "event": "deleted", "pulled_at": deleted_at})
            counts["deleted"] += 1
    return rows, counts


def pull(
    cat: Any,
    project: str,
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
    client: LabelStudioClient | None = None,
    page_size: int = 500,
) -> PullResult:
    """Append new, changed and deleted annotations of a project to its dataset's table.

    Idempotent: a second pull with nothing changed in Label Studio appends nothing.

    Example:
        >>> pull(cat, "sentiment").annotations_new
        42
    """
    from curata_labeling.models import LabelSyncCursor

    info = get_project(cat, project)
    client = client or LabelStudioClient(info.ls_url or None)
    with cat.session() as s:
        cursor = s.get(LabelSyncCursor, info.id)
        hwm = cursor.high_water_mark if cursor else None
    hwm = hwm.replace(tzinfo=UTC) if hwm is not None and hwm.tzinfo is None else hwm
    since = None if hwm is None else hwm - overlap
    # Fetch everything first: a failure here leaves the table and the cursor untouched.
    versions_by_task = client.task_versions(info.ls_project_id)
    live = set(versions_by_task)
    changed = [t for t, ts in versions_by_task.items() if since is None or ts is None or ts > since]
    tasks = [
        t
        for chunk in client.export_tasks(info.ls_project_id, changed, chunk=page_size)
        for t in chunk
    ]
    users = client.users()
    versions = list_schemas(cat, info.schema_name)
    now = utcnow()
    state = store.current_state(store.read_events(cat, info.dataset, project=project))
    known = {r["ls_annotation_id"]: r for r in state.to_pylist()}

    def make_row(ann, task, event):
        return annotation_row(
            ann,
            task,
            info=info,
            users=users,
            versions=versions,
            pulled_at=now,
            event=event,
            origin="label-studio",
        )

    rows, counts = diff_annotations(tasks, known, make_row, live_task_ids=live, deleted_at=now)
    store.append_events(cat, info.dataset, rows)
    new_hwm = max(
        [hwm] * (hwm is not None)
        + [parse_time(t.get("updated_at")) for t in tasks if t.get("updated_at")],
        default=None,
    )
    _save_cursor(cat, info, new_hwm, now, counts)
    return PullResult(
        project=project,
        project_id=info.ls_project_id,
        annotations_new=counts["new"],
        annotations_changed=counts["changed"],
        annotations_deleted=counts["deleted"],
        tasks_seen=len(tasks),
        high_water_mark=new_hwm,
    )


def _save_cursor(cat: Any, info: ProjectInfo, hwm: datetime | None, now: datetime, counts) -> None:
    from curata_labeling.models import LabelSyncCursor

    with cat.session() as s:
        cursor = s.get(LabelSyncCursor, info.id) or LabelSyncCursor(project_id=info.id)
        cursor.high_water_mark, cursor.last_pull_at, cursor.last_stats = hwm, now, dict(counts)
        s.add(cursor)
        cat.audit(
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
