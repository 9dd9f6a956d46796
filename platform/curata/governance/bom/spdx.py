"""SPDX 3.0.1 JSON-LD document with a dataset package for a snapshot.

The snapshot is a ``dataset_DatasetPackage`` (the document's root element) with its concluded
license expression, data files (``hasDataFile``, sha256 each), sources (packages with their own
licenses and attribution text) and upstream snapshots / label projects (``descendantOf``).
``LicenseRef-…`` ids and ``unknown`` are mapped to reference URLs through
``simplelicensing_customIdToUri`` so the expression stays valid SPDX.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import curata
from curata.governance.bom._common import as_url, canonical, combined_expression, license_ids
from curata.governance.facts import (
    DerivedFrom,
    FieldFacts,
    FileFacts,
    SnapshotFacts,
    SourceFacts,
)
from curata.governance.licenses import license_info

CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
SPEC_VERSION = "3.0.1"
_CREATION = "_:creation-info"
_UNKNOWN_REF = "LicenseRef-Curata-unknown"


class _Doc:
    """Accumulates graph elements with ids under one namespace."""

    def __init__(self, facts: SnapshotFacts) -> None:
        self.ns = f"urn:curata:{_slug(facts.dataset)}:v{facts.version}:{facts.fingerprint[:16]}"
        self.graph: list[dict[str, Any]] = []
        self.counter = 0

    def id(self, kind: str) -> str:
        self.counter += 1
        return f"{self.ns}#{kind}-{self.counter}"

    def add(self, element: dict[str, Any]) -> str:
        element.setdefault("creationInfo", _CREATION)
        self.graph.append(element)
        return element["spdxId"]

    def relate(self, src: str, rel: str, targets: list[str], comment: str | None = None) -> None:
        element = {
            "type": "Relationship",
            "spdxId": self.id("rel"),
            "from": src,
            "relationshipType": rel,
            "to": targets,
        }
        if comment:
            element["comment"] = comment
        self.add(element)


def to_spdx(facts: SnapshotFacts) -> dict[str, Any]:
    """Render the SPDX 3.0.1 document (a JSON-ready dict)."""
    doc = _Doc(facts)
    created = _time(facts.created_at)
    agent = doc.add(
        {
            "type": "SoftwareAgent",
            "spdxId": f"{doc.ns}#curata",
            "name": "curata",
            "comment": f"curata {curata.__version__}",
        }
    )
    root = doc.add(_dataset_package(doc, facts, created))
    _license(doc, root, facts.license_counts)
    files = [doc.add(_file(doc, f)) for f in facts.files]
    if files:
        doc.relate(root, "hasDataFile", files)
    for source in facts.sources:
        pkg = doc.add(_source_package(doc, source, created))
        _license(doc, pkg, source.licenses or {source.license: source.records})
        doc.relate(root, "descendantOf", [pkg], comment=f"{source.records} records ingested")
    for entry in facts.derived_from:
        pkg = doc.add(_upstream_package(doc, entry, created))
        doc.relate(root, "descendantOf", [pkg], comment=f"{entry.kind} (depth {entry.depth})")
    data_license = doc.add(_expression(doc, "CC0-1.0"))
    elements = [e["spdxId"] for e in doc.graph]
    document = {
        "type": "SpdxDocument",
        "spdxId": f"{doc.ns}#document",
        "name": f"Curata dataset BOM for {facts.ref}",
        "creationInfo": _CREATION,
        "profileConformance": ["core", "software", "dataset", "simpleLicensing"],
        "rootElement": [root],
        "element": elements,
        "dataLicense": data_license,
    }
    creation = {
        "type": "CreationInfo",
        "@id": _CREATION,
        "specVersion": SPEC_VERSION,
        "created": created,
        "createdBy": [agent],
    }
    return {"@context": CONTEXT, "@graph": [creation, document, *doc.graph]}


def _time(at: datetime | None) -> str:
    at = at or datetime.now(UTC)
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", text)


def _download_location(uri: str | None) -> str | None:
    return as_url(uri)


def _dataset_package(doc: _Doc, facts: SnapshotFacts, created: str) -> dict[str, Any]:
    pkg: dict[str, Any] = {
        "type": "dataset_DatasetPackage",
        "spdxId": f"{doc.ns}#snapshot",
        "name": facts.dataset,
        "description": facts.description or f"Curata snapshot {facts.ref}",
        "software_packageVersion": facts.tag or str(facts.version),
        "software_primaryPurpose": "data",
        "builtTime": created,
        "releaseTime": created,
        "dataset_datasetType": _dataset_types(facts.content_fields),
        "dataset_datasetSize": facts.total_bytes,
        "dataset_datasetAvailability": "directDownload",
        "dataset_dataCollectionProcess": _collection(facts),
        "comment": f"ref {facts.ref}; fingerprint {facts.fingerprint}; {facts.num_rows} records",
        "software_attributionText": _attributions(facts.sources),
    }
    location = _download_location(facts.table_uri)
    if location:
        pkg["software_downloadLocation"] = location
    return {k: v for k, v in pkg.items() if v not in (None, [], "")}


def _collection(facts: SnapshotFacts) -> str:
    lines = [
        f"{s.name}: {s.records} records from {s.uri or 'an unrecorded location'}"
        for s in facts.sources
    ]
    return "; ".join(lines)


def _attributions(sources: tuple[SourceFacts, ...]) -> list[str]:
    return list(dict.fromkeys(s.attribution for s in sources if s.attribution))


_TYPE_RULES = (
    (("string", "large_string"), "text"),
    (("binary", "large_binary"), "image"),
    (("int", "uint", "float", "double", "decimal"), "numeric"),
    (("bool", "dictionary"), "categorical"),
    (("timestamp", "date", "time"), "timestamp"),
    (("struct", "list", "large_list", "map"), "structured"),
)


def _dataset_types(fields: tuple[FieldFacts, ...]) -> list[str]:
    types = []
    for f in fields:
        for prefixes, kind in _TYPE_RULES:
            if f.type.startswith(prefixes):
                types.append(kind)
                break
    return list(dict.fromkeys(types)) or ["noAssertion"]


def _hash(sha256: str) -> dict[str, str]:
    return {"type": "Hash", "algorithm": "sha256", "hashValue": sha256}


def _file(doc: _Doc, file: FileFacts) -> dict[str, Any]:
    return {
        "type": "software_File",
        "spdxId": doc.id("file"),
        "name": file.path,
        "contentType": file.encoding_format,
        "software_fileKind": "file",
        "verifiedUsing": [_hash(file.sha256)],
        "comment": f"{file.size} bytes",
    }


def _source_package(doc: _Doc, source: SourceFacts, created: str) -> dict[str, Any]:
    pkg: dict[str, Any] = {
        "type": "dataset_DatasetPackage",
        "spdxId": doc.id("source"),
        "name": source.name,
        "software_primaryPurpose": "data",
        "builtTime": created,
        "releaseTime": created,
        "dataset_datasetType": ["noAssertion"],
        "comment": f"curata source {source.id}",
    }
    if source.attribution:
        pkg["software_attributionText"] = [source.attribution]
    if location := _download_location(source.uri):
        pkg["software_downloadLocation"] = location
    return pkg


def _upstream_package(doc: _Doc, entry: DerivedFrom, created: str) -> dict[str, Any]:
    details = "; ".join(f"{k}={v}" for k, v in sorted(entry.details.items()))
    return {
        "type": "dataset_DatasetPackage",
        "spdxId": doc.id("upstream"),
        "name": entry.ref,
        "software_primaryPurpose": "data",
        "builtTime": created,
        "releaseTime": created,
        "dataset_datasetType": ["noAssertion"],
        "software_packageVersion": entry.ref.partition("@")[2] or "latest",
        "comment": f"{entry.kind}; fingerprint {entry.fingerprint or 'n/a'}"
        + (f"; {details}" if details else ""),
    }


def _license(doc: _Doc, element: str, license_counts: Mapping[str, int]) -> None:
    doc.relate(
        element,
        "hasConcludedLicense",
        [doc.add(_expression(doc, combined_expression(license_counts)))],
    )


def _expression(doc: _Doc, expression: str) -> dict[str, Any]:
    text = canonical(expression)
    custom = {}
    for lid in license_ids(text):
        if lid == "unknown" or lid.startswith("LicenseRef-"):
            ref = _UNKNOWN_REF if lid == "unknown" else lid
            custom[ref] = license_info(lid).url
    text = re.sub(r"(?<![\w.-])unknown(?![\w.-])", _UNKNOWN_REF, text)
    element: dict[str, Any] = {
        "type": "simplelicensing_LicenseExpression",
        "spdxId": doc.id("license"),
        "simplelicensing_licenseExpression": text,
    }
    if custom:
        element["simplelicensing_customIdToUri"] = [
            {"type": "DictionaryEntry", "key": k, "value": v} for k, v in sorted(custom.items())
        ]
    return element
