"""Offline import of a Label Studio JSON export into the annotations table.

Teams that already labeled in Label Studio hand over the project's JSON export (a list of tasks,
each with its ``annotations``). The rows go into the same ``annotations`` Delta table as pulled
ones, with ``origin = "import:<file name>"``; importing the same file twice adds nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curata._util import utcnow
from curata.errors import SourceError, UsageError
from sqlalchemy import select

from curata_labeling import store
from curata_labeling.schema import list_schemas, register_schema
from curata_labeling.sync import (
    LabelProjectNotFoundError,
    annotation_row,
    diff_annotations,
    get_project,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportResult:
    project: str
    dataset: str
    tasks: int
    annotations_new: int
    annotations_changed: int


def _read_export(path: Path) -> list[dict[str, Any]]:
    try:
        tasks = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SourceError(str(path), reason=f"not a readable JSON export ({exc})") from exc
    if not isinstance(tasks, list) or not all(isinstance(t, dict) and "id" in t for t in tasks):
        raise SourceError(
            str(path),
            reason="expected a JSON list of tasks with an 'id' each (Label Studio: Export > JSON)",
        )
    return tasks


def _ensure_offline_project(cat: Any, project: str, dataset: str | None, tasks, config: str | None):
    from curata_labeling.models import LabelProject

    try:
        return get_project(cat, project)
    except LabelProjectNotFoundError:
        if dataset is None:
            raise UsageError(
                f"Project {project!r} is not linked to a dataset",
                hint="Pass --dataset NAME (and --schema FILE) for a first import",
            ) from None
    schema = register_schema(cat, project, config).schema if config else None
    with cat.store.session() as s:
        if s.scalar(select(LabelProject).where(LabelProject.name == project)) is None:
            s.add(
                LabelProject(
                    name=project,
                    dataset=dataset,
                    ls_url="",
                    ls_project_id=int(tasks[0].get("project") or 0) if tasks else 0,
                    schema_name=project,
                    schema_version=schema.version if schema else 0,
                )
            )
    return get_project(cat, project)


def import_export(
    cat: Any,
    path: str | Path,
    *,
    project: str,
    dataset: str | None = None,
    schema_xml: str | None = None,
) -> ImportResult:
    """Import a Label Studio JSON export as annotations of ``project``.

    Example:
        >>> import_export(cat, "export.json", project="legacy", dataset="reviews")
    """
    path = Path(path)
    tasks = _read_export(path)
    info = _ensure_offline_project(cat, project, dataset, tasks, schema_xml)
    now = utcnow()
    versions = list_schemas(cat, info.schema_name)
    state = store.current_state(store.read_events(cat, info.dataset, project=project))
    known = {r["ls_annotation_id"]: r for r in state.to_pylist()}

    def make_row(ann, task, event):
        return annotation_row(
            ann,
            task,
            info=info,
            users={},
            versions=versions,
            pulled_at=now,
            event="imported" if event == "new" else event,
            origin=f"import:{path.name}",
        )

    rows, _ = diff_annotations(tasks, known, make_row, deleted_at=now)
    rows = [r for r in rows if r["event"] != "deleted"]  # an export is not a full picture
    store.append_events(cat, info.dataset, rows)
    cat.audit(
        "label.import",
        dataset=info.dataset,
        details={"project": project, "file": path.name, "rows": len(rows)},
    )
    return ImportResult(
        project=project,
        dataset=info.dataset,
        tasks=len(tasks),
        annotations_new=sum(r["event"] == "imported" for r in rows),
        annotations_changed=sum(r["event"] == "changed" for r in rows),
    )
