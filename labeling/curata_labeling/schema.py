"""Label schemas: Label Studio labeling configs, versioned in the catalog by canonical hash.

A schema is the XML labeling config of a project. :func:`parse_config` lists its controls (tags
with ``name`` and ``toName``) and their choices / labels. :func:`canonical_hash` hashes the XML
after C14N canonicalisation with insignificant whitespace and attribute order removed, so
re-indenting a config is not a new version. :func:`register_schema` stores a changed config as
the next version; a change that drops choices still used by stored annotations needs a
migration map (rename / merge / remove), which is then applied to those annotations.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from curata._util import current_user, utcnow
from curata.errors import ConflictError, NotFoundError, UsageError
from sqlalchemy import select

from curata_labeling.results import kind_of

# Tags whose children are the allowed values, and the child tag that holds one value.
_VALUE_CHILDREN = {"choice", "label"}
_OBJECT_TAGS = {
    "text", "image", "hypertext", "audio", "video", "paragraphs", "timeseries", "table",
    "pdf", "markdown", "list",
}  # fmt: skip

Migration = Mapping[str, Mapping[str, str | None]]
"""control name → {old value → new value (rename / merge) or ``None`` (remove)}."""


class LabelSchemaError(UsageError):
    """A labeling config that cannot be parsed or is unusable."""

    def __init__(self, name: str, *, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(
            f"Label schema {name!r} is invalid: {reason}",
            hint="Check the XML against https://labelstud.io/tags/",
        )


class LabelSchemaNotFoundError(NotFoundError):
    def __init__(self, name: str, *, version: int | None = None) -> None:
        self.name = name
        self.version = version
        at = f" version {version}" if version is not None else ""
        super().__init__(
            f"Label schema {name!r}{at} not found", hint="Run `curata label schemas` to list them"
        )


class SchemaChangeRefusedError(ConflictError):
    """A new schema version drops choices that stored annotations still use."""

    def __init__(self, name: str, *, dropped: dict[str, list[str]], annotations: list[int]):
        self.name = name
        self.dropped = dropped
        self.annotations = annotations
        listed = "; ".join(f"{c}: {', '.join(v)}" for c, v in dropped.items())
        shown = ", ".join(map(str, annotations[:20])) + (" …" if len(annotations) > 20 else "")
        super().__init__(
            f"Schema {name!r} drops choices still in use ({listed}) by {len(annotations)} "
            f"annotation(s): {shown}",
            hint="Pass a migration map (--migrate control.old=new or control.old=) to rename, "
            "merge or remove them",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Control:
    """One control tag of a labeling config."""

    name: str
    tag: str
    to_name: tuple[str, ...]
    values: tuple[str, ...]
    multiple: bool
    kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelSchema:
    """A stored schema version."""

    name: str
    version: int
    config_hash: str
    config_xml: str
    controls: dict[str, Control]
    created_at: datetime | None = None
    migration: dict[str, dict[str, str | None]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "config_hash": self.config_hash,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "controls": {
                n: {
                    "tag": c.tag,
                    "kind": c.kind,
                    "values": list(c.values),
                    "to_name": list(c.to_name),
                }
                for n, c in self.controls.items()
            },
            "migration": self.migration,
        }

    @property
    def kinds(self) -> dict[str, str]:
        return {n: c.kind for n, c in self.controls.items()}

    @property
    def variables(self) -> list[str]:
        """The task data keys the config reads (``value="$text"`` → ``text``)."""
        root = ET.fromstring(self.config_xml)
        out = []
        for el in root.iter():
            value = el.attrib.get("value", "")
            if el.tag.lower() in _OBJECT_TAGS and value.startswith("$"):
                out.append(value[1:])
        return sorted(set(out))


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaChange:
    """What :func:`register_schema` did."""

    schema: LabelSchema
    created: bool
    dropped: dict[str, list[str]]
    migrated_annotations: int


def parse_config(xml: str, *, name: str = "<config>") -> dict[str, Control]:
    """The controls of a Label Studio labeling config, keyed by control name."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise LabelSchemaError(name, reason=f"not well-formed XML ({exc})") from exc
    if root.tag.lower() != "view":
        raise LabelSchemaError(name, reason=f"the root tag must be <View>, not <{root.tag}>")
    controls: dict[str, Control] = {}
    for el in root.iter():
        if "name" not in el.attrib or "toName" not in el.attrib:
            continue
        cname, tag = el.attrib["name"], el.tag.lower()
        if cname in controls:
            raise LabelSchemaError(name, reason=f"control name {cname!r} is used twice")
        values = tuple(
            child.attrib.get("value", child.attrib.get("alias", ""))
            for child in el.iter()
            if child is not el and child.tag.lower() in _VALUE_CHILDREN
        )
        multiple = el.attrib.get("choice", "single").lower() == "multiple" or tag == "taxonomy"
        controls[cname] = Control(
            name=cname,
            tag=tag,
            to_name=tuple(el.attrib["toName"].split(",")),
            values=values,
            multiple=multiple,
            kind=kind_of(tag, multiple=multiple),
        )
    if not controls:
        raise LabelSchemaError(name, reason="no control tags (with name and toName) found")
    return controls


def canonical_hash(xml: str) -> str:
    """SHA-256 of the C14N form without insignificant whitespace: formatting is not a change."""
    try:
        canon = ET.canonicalize(xml_data=xml, strip_text=True)
    except ET.ParseError as exc:
        raise LabelSchemaError("<config>", reason=f"not well-formed XML ({exc})") from exc
    return hashlib.sha256(canon.encode()).hexdigest()


def _to_schema(row: Any) -> LabelSchema:
    return LabelSchema(
        name=row.name,
        version=row.version,
        config_hash=row.config_hash,
        config_xml=row.config_xml,
        controls=parse_config(row.config_xml, name=row.name),
        created_at=row.created_at,
        migration=row.migration or {},
    )


def list_schemas(cat: Any, name: str | None = None) -> list[LabelSchema]:
    """Every stored schema version (of one name), oldest first."""
    from curata_labeling.models import LabelSchemaVersion as Row

    with cat.store.session() as s:
        q = select(Row).order_by(Row.name, Row.version)
        if name is not None:
            q = q.where(Row.name == name)
        return [_to_schema(r) for r in s.scalars(q)]


def get_schema(cat: Any, name: str, version: int | None = None) -> LabelSchema:
    """One schema version; the latest when ``version`` is ``None``."""
    found = [s for s in list_schemas(cat, name) if version is None or s.version == version]
    if not found:
        raise LabelSchemaNotFoundError(name, version=version)
    return found[-1]


def dropped_values(old: dict[str, Control], new: dict[str, Control]) -> dict[str, list[str]]:
    """Values (choices / labels) of ``old`` controls that ``new`` no longer offers."""
    out = {}
    for cname, control in old.items():
        kept = set(new[cname].values) if cname in new else set()
        gone = [v for v in control.values if v not in kept]
        if gone:
            out[cname] = gone
    return out


def _check_migration(name: str, migration: Migration, new: dict[str, Control]) -> None:
    for cname, mapping in migration.items():
        for old, target in mapping.items():
            if target is not None and (cname not in new or target not in new[cname].values):
                raise LabelSchemaError(
                    name,
                    reason=f"migration maps {cname}.{old} to {target!r}, which the new config "
                    f"does not offer",
                )


def migrate_value(value: Any, mapping: Mapping[str, str | None]) -> Any:
    """Apply a rename / merge / remove map to one normalized control value."""
    if not isinstance(value, list):
        return value
    if value and isinstance(value[0], dict):  # regions: map their labels, drop emptied ones
        out = []
        for region in value:
            labels = [mapping.get(lab, lab) for lab in region.get("labels", [])]
            labels = sorted({lab for lab in labels if lab is not None})
            if labels or not region.get("labels"):
                out.append({**region, "labels": labels})
        return out
    mapped = (mapping.get(v, v) if v in mapping else v for v in value)
    return sorted({v for v in mapped if v is not None})


def _uses(value: Any, values: set[str]) -> bool:
    if isinstance(value, list):
        return any(
            (set(v.get("labels", [])) & values) if isinstance(v, dict) else (v in values)
            for v in value
        )
    return value in values


def _linked_projects(cat: Any, name: str) -> list[tuple[str, str]]:
    from curata_labeling.models import LabelProject

    with cat.store.session() as s:
        rows = s.execute(
            select(LabelProject.name, LabelProject.dataset).where(LabelProject.schema_name == name)
        )
        return [(p, d) for p, d in rows]


def _affected(cat: Any, name: str, dropped: dict[str, list[str]]) -> list[tuple[str, dict]]:
    """(dataset, current annotation row) for every stored annotation using a dropped value."""
    from curata_labeling import store

    hits = []
    for project, dataset in _linked_projects(cat, name):
        state = store.current_state(store.read_events(cat, dataset, project=project))
        for row in state.to_pylist():
            values = json.loads(row["values"] or "{}")
            if any(_uses(values.get(c), set(v)) for c, v in dropped.items()):
                hits.append((dataset, row))
    return hits


def _migration_rows(hits, migration: Migration, version: int, now: datetime) -> dict[str, list]:
    by_dataset: dict[str, list] = {}
    for dataset, row in hits:
        values = json.loads(row["values"] or "{}")
        for cname, mapping in migration.items():
            if cname in values:
                values[cname] = migrate_value(values[cname], mapping)
        new = {
            **row,
            "values": json.dumps(values, sort_keys=True),
            "schema_version": version,
            "pulled_at": now,
            "event": "migrated",
            "origin": f"migration:{version}",
        }
        by_dataset.setdefault(dataset, []).append(new)
    return by_dataset


def register_schema(
    cat: Any, name: str, config_xml: str, *, migration: Migration | None = None
) -> SchemaChange:
    """Store ``config_xml`` as the next version of schema ``name`` unless unchanged.

    Dropping a choice or label that stored annotations use is refused with
    :class:`SchemaChangeRefusedError` listing them, unless ``migration`` says what it becomes
    (``{"sentiment": {"neutral": "mixed", "spam": None}}``); the map is then applied to those
    annotations by appending ``migrated`` rows to the annotations table.

    Example:
        >>> register_schema(cat, "reviews", open("labels.xml").read()).schema.version
        1
    """
    from curata_labeling import store
    from curata_labeling.models import LabelSchemaVersion as Row

    controls, digest = parse_config(config_xml, name=name), canonical_hash(config_xml)
    migration = {c: dict(m) for c, m in (migration or {}).items()}
    existing = list_schemas(cat, name)
    for old in existing:
        if old.config_hash == digest:
            return SchemaChange(schema=old, created=False, dropped={}, migrated_annotations=0)
    dropped = dropped_values(existing[-1].controls, controls) if existing else {}
    _check_migration(name, migration, controls)
    uncovered = {c: [v for v in vs if v not in migration.get(c, {})] for c, vs in dropped.items()}
    uncovered = {c: vs for c, vs in uncovered.items() if vs}
    if uncovered and (blocking := _affected(cat, name, uncovered)):
        ids = sorted({int(r["ls_annotation_id"]) for _, r in blocking})
        raise SchemaChangeRefusedError(name, dropped=uncovered, annotations=ids)
    version = (existing[-1].version + 1) if existing else 1
    now = utcnow()
    hits = _affected(cat, name, {c: list(m) for c, m in migration.items()}) if migration else []
    with cat.store.session() as s:
        row = Row(
            name=name,
            version=version,
            config_hash=digest,
            config_xml=config_xml,
            controls={c: list(k.values) for c, k in controls.items()},
            migration=migration,
            created_at=now,
            created_by=current_user(),
        )
        s.add(row)
        s.flush()
        # Inside the transaction: if the Delta append fails, the version is not recorded.
        migrated = sum(
            store.append_events(cat, ds, rows)
            for ds, rows in _migration_rows(hits, migration, version, now).items()
        )
        cat.store.audit(
            "label.schema",
            details={"name": name, "version": version, "migrated_annotations": migrated},
            session=s,
        )
    return SchemaChange(
        schema=get_schema(cat, name, version),
        created=True,
        dropped=dropped,
        migrated_annotations=migrated,
    )
