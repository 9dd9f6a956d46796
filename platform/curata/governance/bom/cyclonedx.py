"""CycloneDX 1.6 JSON bill of materials for a snapshot.

The snapshot is the BOM's subject (``metadata.component``, type ``data``); each source of
records and each data file is a component; upstream snapshots and label projects appear as
the subject's ``pedigree.ancestors``. Licenses use SPDX ids where CycloneDX accepts them, named
licenses for ``LicenseRef-…``/``unknown``, and one expression for compound terms.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import curata
from curata.governance.bom._common import (
    as_url,
    canonical,
    combined_expression,
    document_uuid,
    license_ids,
    verdicts,
)
from curata.governance.facts import DerivedFrom, FileFacts, SnapshotFacts, SourceFacts
from curata.governance.licenses import license_info, spdx_licensing

SPEC_VERSION = "1.6"


def to_cyclonedx(facts: SnapshotFacts) -> dict[str, Any]:
    """Render the CycloneDX 1.6 document (a JSON-ready dict).

    Example:
        >>> json.dump(to_cyclonedx(facts), open("bom.cdx.json", "w"))  # doctest: +SKIP
    """
    subject = _subject(facts)
    return {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{document_uuid(facts, 'cyclonedx')}",
        "version": 1,
        "metadata": {
            "timestamp": _timestamp(facts.created_at),
            "tools": {"components": [_tool()]},
            "component": subject,
        },
        "components": [_source(s) for s in facts.sources] + [_file(f) for f in facts.files],
        "dependencies": [
            {"ref": subject["bom-ref"], "dependsOn": [f"source:{s.id}" for s in facts.sources]},
            *({"ref": f"source:{s.id}"} for s in facts.sources),
        ],
    }


def _timestamp(at: datetime | None) -> str:
    at = at or datetime.now(UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tool() -> dict[str, Any]:
    return {"type": "application", "name": "curata", "version": curata.__version__}


def _subject(facts: SnapshotFacts) -> dict[str, Any]:
    props = {
        "curata:ref": facts.ref,
        "curata:version": str(facts.version),
        "curata:fingerprint": facts.fingerprint,
        "curata:records": str(facts.num_rows),
        "curata:table-uri": facts.table_uri,
        "curata:license-expression": combined_expression(facts.license_counts),
    }
    for purpose, verdict in verdicts(facts).items():
        props[f"curata:license-verdict:{purpose}"] = "allowed" if verdict.allowed else "refused"
    component: dict[str, Any] = {
        "type": "data",
        "bom-ref": f"snapshot:{facts.ref}",
        "name": facts.dataset,
        "version": facts.tag or str(facts.version),
        "description": facts.description or f"Curata snapshot {facts.ref}",
        "licenses": license_choice(facts.license_counts),
        "data": [_component_data(facts)],
        "properties": _properties(props),
    }
    if facts.derived_from:
        component["pedigree"] = {"ancestors": [_ancestor(d) for d in facts.derived_from]}
    return component


def _component_data(facts: SnapshotFacts) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "dataset",
        "name": facts.ref,
        "contents": {
            "properties": _properties({f"curata:field:{f.name}": f.type for f in facts.fields}),
        },
        "description": f"{facts.num_rows} records, {len(facts.files)} data files",
    }
    if facts.creators:
        data["governance"] = {"owners": [{"contact": {"name": c}} for c in facts.creators]}
    return data


def _ancestor(entry: DerivedFrom) -> dict[str, Any]:
    props = {"curata:kind": entry.kind, "curata:depth": str(entry.depth)}
    if entry.fingerprint:
        props["curata:fingerprint"] = entry.fingerprint
    if entry.parent:
        props["curata:recorded-on"] = entry.parent
    props.update({f"curata:detail:{k}": _text(v) for k, v in entry.details.items()})
    dataset, _, version = entry.ref.partition("@")
    return {
        "type": "data",
        "bom-ref": f"ancestor:{entry.depth}:{entry.ref}",
        "name": dataset,
        "version": version or "latest",
        "properties": _properties(props),
    }


def _source(source: SourceFacts) -> dict[str, Any]:
    props = {"curata:source-id": source.id, "curata:records": str(source.records)}
    if source.attribution:
        props["curata:attribution"] = source.attribution
    component: dict[str, Any] = {
        "type": "data",
        "bom-ref": f"source:{source.id}",
        "name": source.name,
        "licenses": license_choice(source.licenses or {source.license: source.records}),
        "data": [{"type": "dataset", "name": source.name}],
        "properties": _properties(props),
    }
    if url := as_url(source.uri):
        component["data"][0]["contents"] = {"url": url}
        component["externalReferences"] = [{"type": "distribution", "url": url}]
    return component


def _file(file: FileFacts) -> dict[str, Any]:
    return {
        "type": "file",
        "bom-ref": f"file:{file.path}",
        "name": file.path,
        "mime-type": file.encoding_format,
        "hashes": [{"alg": "SHA-256", "content": file.sha256}],
        "properties": _properties({"curata:size": str(file.size)}),
    }


def license_choice(license_counts: Mapping[str, int]) -> list[dict[str, Any]]:
    """A CycloneDX LicenseChoice for a license mix.

    Single licenses become ``license`` objects (SPDX ``id`` when CycloneDX's SPDX list has it,
    else ``name``); any compound expression turns the whole mix into one ``expression``.
    """
    expressions = sorted({canonical(k) for k, n in license_counts.items() if n > 0})
    if not expressions:
        expressions = ["unknown"]
    if any(" " in e for e in expressions):
        return [{"expression": combined_expression(license_counts)}]
    return [{"license": _license(license_ids(e)[0])} for e in expressions]


def _license(license_id: str) -> dict[str, Any]:
    info = license_info(license_id)
    spdx = spdx_licensing()
    listed = not spdx.unknown_license_keys(spdx.parse(license_id))
    key = "id" if listed and not license_id.startswith("LicenseRef-") else "name"
    return {key: license_id, "url": info.url}


def _properties(values: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in values.items() if v]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
