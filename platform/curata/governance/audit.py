"""Reading the audit log: who tagged, overrode a license, exported, collected garbage, when.

Writers record entries with ``Catalog.audit(action, dataset=..., details=...)``; this module
lists them for ``curata audit`` and the datasheet, oldest first, with stable ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from curata.governance.facts import AuditEntry

if TYPE_CHECKING:
    from curata.catalog import Catalog

#: Audit actions Curata itself records (others may add their own).
KNOWN_ACTIONS = (
    "tag",
    "tag.force",
    "license.override",
    "export",
    "gc",
    "schema.change",
)


def audit_entries(
    cat: Catalog,
    dataset: str | None = None,
    *,
    actions: Sequence[str] = (),
    since: datetime | None = None,
    limit: int | None = None,
) -> list[AuditEntry]:
    """Audit-log entries, oldest first.

    Args:
        cat: the catalog.
        dataset: only entries about this dataset.
        actions: only these actions (a prefix such as ``tag`` also matches ``tag.force``).
        since: only entries at or after this time (naive times are UTC).
        limit: only the newest ``limit`` entries (still returned oldest first).

    Example:
        >>> [e.action for e in audit_entries(cat, "reviews")]  # doctest: +SKIP
        ['tag', 'license.override', 'export']
    """
    from curata.catalog.models import AuditEntry as Row

    q = select(Row).order_by(Row.id.desc())
    if dataset:
        q = q.where(Row.dataset == dataset)
    if since is not None:
        q = q.where(Row.at >= _as_stored(cat, since))
    if actions:
        q = q.where(_action_filter(Row, actions))
    if limit:
        q = q.limit(limit)
    with cat.session() as s:
        rows = list(s.scalars(q))
        entries = [_entry(r) for r in rows]
    return entries[::-1]


def _action_filter(row: Any, actions: Sequence[str]) -> Any:
    from sqlalchemy import or_

    return or_(*(or_(row.action == a, row.action.startswith(f"{a}.")) for a in actions))


def _as_stored(cat: Catalog, at: datetime) -> datetime:
    """``at`` in UTC, naive for SQLite (which stores naive UTC), aware for servers."""
    aware = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.replace(tzinfo=None) if cat.engine.dialect.name == "sqlite" else aware


def _entry(row: Any) -> AuditEntry:
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    return AuditEntry(
        id=row.id,
        at=at,
        actor=row.actor,
        action=row.action,
        dataset=row.dataset,
        details=dict(row.details or {}),
    )
