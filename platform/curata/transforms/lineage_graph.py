"""The lineage graph of a snapshot: back to ingested sources, forward to derived datasets
and exports, from the catalog's records (``lineage``/``lineage_inputs``, ``snapshots``
``derived_from`` written by other writers such as label pulls, ``sources``, and the
``export`` entries of the audit log).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from curata import resolve
from curata.errors import CurataError
from curata.snapshot import Snapshot
from curata.store import Store

MAX_DEPTH = 32


@dataclass(frozen=True, slots=True, kw_only=True)
class LineageNode:
    """A snapshot (``snapshot:NAME@VERSION``), ingest source (``source:ID``) or export."""

    id: str
    kind: Literal["snapshot", "source", "export"]
    label: str
    dataset: str | None = None
    version: int | None = None
    fingerprint: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class LineageEdge:
    """``source`` flows into ``target`` by ``kind`` (``derive``, ``join``, ``ingest``,
    ``export`` or a ``derived_from`` kind such as ``labels``)."""

    source: str
    target: str
    kind: str
    transform_fingerprint: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LineageGraph:
    """Nodes and edges around ``root``; ``to_dict()`` is what ``curata lineage --json`` prints."""

    root: str
    nodes: list[LineageNode]
    edges: list[LineageEdge]

    def node(self, node_id: str) -> LineageNode:
        return next(n for n in self.nodes if n.id == node_id)

    def parents(self, node_id: str) -> list[LineageNode]:
        return [self.node(e.source) for e in self.edges if e.target == node_id]

    def children(self, node_id: str) -> list[LineageNode]:
        return [self.node(e.target) for e in self.edges if e.source == node_id]

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {"root": self.root, "nodes": [asdict(n) for n in self.nodes],
                "edges": [asdict(e) for e in self.edges]}


class _Builder:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.nodes: dict[str, LineageNode] = {}
        self.edges: dict[tuple[str, str, str], LineageEdge] = {}

    def snapshot_node(self, dataset: str, version: int) -> str:
        nid = f"snapshot:{dataset}@{version}"
        if nid not in self.nodes:
            rec = resolve.version_record(self.store, dataset, version)
            tags = [t.name for t in self.store.tags(dataset) if t.version == version]
            self.nodes[nid] = LineageNode(
                id=nid, kind="snapshot", label=f"{dataset}@{tags[0] if tags else version}",
                dataset=dataset, version=version, fingerprint=rec.fingerprint,
                details={"num_rows": rec.num_rows, "operation": rec.operation, "tags": tags})
        return nid

    def edge(self, source: str, target: str, kind: str, tfp: str | None = None) -> None:
        self.edges.setdefault((source, target, kind), LineageEdge(
            source=source, target=target, kind=kind, transform_fingerprint=tfp))

    # --- upstream -----------------------------------------------------------------------------

    def up(self, dataset: str, version: int, depth: int) -> None:
        me = self.snapshot_node(dataset, version)
        if depth >= MAX_DEPTH:
            return
        store = self.store
        row = store.lineage(dataset, version)
        if row is not None:
            for i in row.inputs:
                parent = self.snapshot_node(i.dataset, i.version)
                self.edge(parent, me, "derive" if i.role == "source" else i.role,
                          row.transform_fingerprint)
                self.up(i.dataset, i.version, depth + 1)
            return
        rec = store.version_record(dataset, version)
        self._derived_from(me, list(rec.derived_from) if rec else [], depth)
        self.sources(me, dataset, version)

    def _derived_from(self, me: str, entries: list[Any], depth: int) -> bool:
        """Follow ``derived_from`` entries of other writers (labels, adjudication…)."""
        followed = False
        for e in entries:
            ref, fpr = str(e.get("ref", "")), e.get("fingerprint")
            try:
                snap = resolve.snapshot(self.store, f"{ref.split('@')[0]}@fp:{fpr}" if fpr else ref)
            except CurataError:
                continue  # outside this catalog (a Label Studio project…): the branch ends
            self.edge(self.snapshot_node(snap.dataset, snap.version), me,
                      str(e.get("kind", "derived")))
            self.up(snap.dataset, snap.version, depth + 1)
            followed = True
        return followed

    def sources(self, me: str, dataset: str, version: int) -> None:
        """Ingest sources of the records in this version (distinct ``_source``)."""
        import polars as pl

        lf = resolve.snapshot(self.store, f"{dataset}@{version}").to_polars(lazy=True)
        assert isinstance(lf, pl.LazyFrame)
        ids = sorted(lf.select(pl.col("_source").unique()).collect()["_source"].to_list())
        rows = self.store.sources(ids)
        for sid in ids:
            r = rows.get(sid)
            nid = f"source:{sid}"
            self.nodes.setdefault(nid, LineageNode(
                id=nid, kind="source", label=r.name if r else str(sid),
                details={"uri": r.uri, "license": r.license, "run_id": r.run_id,
                         "retrieved_at": r.retrieved_at.isoformat() if r.retrieved_at else None}
                if r else {}))
            self.edge(nid, me, "ingest")

    # --- downstream ---------------------------------------------------------------------------

    def down(self, dataset: str, version: int, depth: int) -> None:
        me = self.snapshot_node(dataset, version)
        if depth >= MAX_DEPTH:
            return
        fpr = self.nodes[me].fingerprint
        store = self.store
        children = store.derived_from_snapshot(dataset, version)
        exports = [e for e in store.audit_log(dataset, actions=["export"])[::-1]
                   if e.action == "export"]
        for name, v, tf, role in children:
            child = self.snapshot_node(name, v)
            self.edge(me, child, "derive" if role == "source" else role, tf)
            self.down(name, v, depth + 1)
        for e in exports:
            if (e.details or {}).get("fingerprint") != fpr:
                continue
            nid = f"export:{e.id}"
            self.nodes.setdefault(nid, LineageNode(
                id=nid, kind="export", label=str(e.details.get("out", nid)),
                details={"at": e.at.isoformat(), "actor": e.actor, **e.details}))
            self.edge(me, nid, "export")


def lineage(store: Store, snap: Snapshot, *, direction: Literal["both", "up", "down"] = "both"
            ) -> LineageGraph:
    """The lineage graph of a pinned snapshot (see ``Catalog.lineage``)."""
    b = _Builder(store)
    root = b.snapshot_node(snap.dataset, snap.version)
    if direction in ("both", "up"):
        b.up(snap.dataset, snap.version, 0)
    if direction in ("both", "down"):
        b.down(snap.dataset, snap.version, 0)
    return LineageGraph(root=root, nodes=list(b.nodes.values()), edges=list(b.edges.values()))
