"""Reading the audit log: who tagged, overrode a license, exported, collected garbage, when.

Writers record entries with ``Catalog.audit(action, dataset=..., details=...)``; this module
lists them for ``curata audit`` and the datasheet, oldest first, with stable ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from curata.governance.facts import AuditEntry

if TYPE_CHECKING:
    from curata.store import Store

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
    store: Store,
    dataset: str | None = None,
    *,
    actions: Sequence[str] = (),
    since: datetime | None = None,
    limit: int | None = None,
) -> list[AuditEntry]:
    """Audit-log entries, oldest first.

    Args:
        store: the catalog's store (``Catalog.store``).
        dataset: only entries about this dataset.
        actions: only these actions (a prefix such as ``tag`` also matches ``tag.force``).
        since: only entries at or after this time (naive times are UTC).
        limit: only the newest ``limit`` entries (still returned oldest first).

    Example:
        >>> [e.action for e in audit_entries(cat.store, "reviews")]  # doctest: +SKIP
        ['tag', 'license.override', 'export']
    """
    rows = store.audit_log(dataset, limit=limit, actions=actions, since=since)
    return [_entry(r) for r in reversed(rows)]


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
