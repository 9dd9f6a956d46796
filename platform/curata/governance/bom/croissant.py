"""Croissant 1.1 JSON-LD metadata for a snapshot (or for its export shards).

Every data file is a ``cr:FileObject`` with its sha256 and size; one ``cr:FileSet`` lists the
exact files of the snapshot's version (a Delta folder also holds files of other versions, so a
glob would be wrong) and feeds the ``records`` record set. Croissant resolves a local
``FileSet`` relative to the metadata file, so records are readable where the metadata sits in a
folder that holds the data: the table root (as ``_croissant.json``; Delta ignores ``_`` files)
or an export folder. Provenance goes into ``prov:wasDerivedFrom``.

Written anywhere else (``curata bom REF --format croissant --out elsewhere/croissant.json``),
the files are listed in a *file view* beside the metadata, ``croissant.files/``, which holds a
symbolic link to each local file (a copy of each object-store file, since Croissant readers
resolve a FileSet on the local disk only); every FileObject also names its original URI as
``sameAs``. So records load from wherever the metadata is written.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence
from typing import Any

import curata
from curata.governance.bom._common import as_url, license_urls
from curata.governance.facts import FieldFacts, FileFacts, SnapshotFacts

CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
RECORD_SET = "records"
_FILESET = "snapshot-files"


def context() -> dict[str, Any]:
    """The Croissant 1.1 ``@context`` (as published with the spec) plus the PROV namespace."""
    return {
        "@language": "en",
        "@vocab": "https://schema.org/",
        "arrayShape": "cr:arrayShape",
        "citeAs": "cr:citeAs",
        "column": "cr:column",
        "conformsTo": "dct:conformsTo",
        "containedIn": "cr:containedIn",
        "cr": "http://mlcommons.org/croissant/",
        "rai": "http://mlcommons.org/croissant/RAI/",
        "data": {"@id": "cr:data", "@type": "@json"},
        "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
        "dct": "http://purl.org/dc/terms/",
        "description": {"@container": "@language"},
        "equivalentProperty": "cr:equivalentProperty",
        "examples": {"@id": "cr:examples", "@type": "@json"},
        "extract": "cr:extract",
        "field": "cr:field",
        "fileProperty": "cr:fileProperty",
        "fileObject": "cr:fileObject",
        "fileSet": "cr:fileSet",
        "format": "cr:format",
        "includes": "cr:includes",
        "isArray": "cr:isArray",
        "isLiveDataset": "cr:isLiveDataset",
        "jsonPath": "cr:jsonPath",
        "key": "cr:key",
        "md5": "cr:md5",
        "name": {"@container": "@language"},
        "parentField": "cr:parentField",
        "path": "cr:path",
        "prov": "http://www.w3.org/ns/prov#",
        "recordSet": "cr:recordSet",
        "references": "cr:references",
        "regex": "cr:regex",
        "repeated": "cr:repeated",
        "replace": "cr:replace",
        "samplingRate": "cr:samplingRate",
        "sc": "https://schema.org/",
        "separator": "cr:separator",
        "source": "cr:source",
        "subField": "cr:subField",
        "transform": "cr:transform",
    }


def to_croissant(facts: SnapshotFacts, *, base_dir: str | None = None,
                 file_view: str | None = None) -> dict[str, Any]:
    """Render the Croissant 1.1 document (a JSON-ready dict).

    Args:
        facts: the snapshot's catalog facts.
        base_dir: the folder the metadata file will be written to; files under it are listed
            by relative path, so ``mlcroissant`` reads the records from there.
        file_view: a folder under ``base_dir`` (relative name) that holds every data file by
            its base name (``write_bom`` makes it when the files live elsewhere): files are
            listed there, each with its original URI as ``sameAs``.
    """
    located = [_in_view(f, file_view) if file_view else _locate(f, base_dir) for f in facts.files]
    includes = [rel for rel, _ in located]
    doc: dict[str, Any] = {
        "@context": context(),
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": facts.dataset,
        "description": _description(facts),
        "url": _url(facts.table_uri) or f"urn:curata:{facts.ref}",
        "version": _semver(facts.version),
        "citeAs": f"{facts.ref} (fingerprint {facts.fingerprint})",
        "license": license_urls(facts.license_counts),
        "creator": _creators(facts),
        "identifier": f"urn:curata:{facts.dataset}:fp:{facts.fingerprint}",
        "prov:wasDerivedFrom": _derived(facts),
        "distribution": [
            *(_file_object(f, *loc) for f, loc in zip(facts.files, located, strict=True)),
            {
                "@type": "cr:FileSet",
                "@id": _FILESET,
                "name": _FILESET,
                "description": f"The {len(facts.files)} Parquet files of {facts.ref}",
                "encodingFormat": "application/x-parquet",
                "includes": includes,
            },
        ],
        "recordSet": [_record_set(facts.fields)],
    }
    if facts.created_at:
        doc["datePublished"] = facts.created_at.date().isoformat()
    doc["sdPublisher"] = {
        "@type": "sc:SoftwareApplication",
        "name": "curata",
        "softwareVersion": curata.__version__,
    }
    return doc


def _description(facts: SnapshotFacts) -> str:
    text = facts.description or f"Curata snapshot {facts.ref}"
    return f"{text}: {facts.num_rows} records from {len(facts.sources)} sources."


def _semver(version: int) -> str:
    # Croissant expects MAJOR.MINOR.PATCH; the Delta version is the major number.
    return f"{version}.0.0"


def _url(uri: str) -> str | None:
    return as_url(uri if "://" in uri or not uri else os.path.abspath(uri))


def _creators(facts: SnapshotFacts) -> list[dict[str, Any]]:
    people = [{"@type": "sc:Person", "name": actor} for actor in facts.creators]
    credited = [
        {
            "@type": "sc:Organization",
            "name": s.attribution,
            **({"url": as_url(s.uri)} if as_url(s.uri) else {}),
        }
        for s in facts.sources
        if s.attribution
    ]
    return people + credited or [{"@type": "sc:Organization", "name": "unknown"}]


def _derived(facts: SnapshotFacts) -> list[dict[str, str]]:
    refs = [f"urn:curata:{d.ref}" if "://" not in d.ref else d.ref for d in facts.derived_from]
    refs += [u for s in facts.sources if (u := as_url(s.uri))]
    return [{"@id": r} for r in dict.fromkeys(refs)]


def _locate(file: FileFacts, base_dir: str | None) -> tuple[str, str]:
    """``(path for includes, contentUrl)``: relative when under ``base_dir``, else absolute."""
    local = file.uri.removeprefix("file://")
    if base_dir and "://" not in local:
        rel = os.path.relpath(os.path.abspath(local), os.path.abspath(base_dir))
        if not rel.startswith(".."):
            return rel, rel
    return file.path, file.uri


def _in_view(file: FileFacts, view: str) -> tuple[str, str]:
    rel = f"{view}/{posixpath.basename(file.path)}"
    return rel, rel


def view_name(file: FileFacts) -> str:
    """The name a data file has in a Croissant file view (its base name)."""
    return posixpath.basename(file.path)


def _file_object(file: FileFacts, rel: str, url: str) -> dict[str, Any]:
    obj = {
        "@type": "cr:FileObject",
        "@id": f"file:{rel}",
        "name": rel,
        "contentUrl": url,
        "contentSize": f"{file.size} B",
        "encodingFormat": file.encoding_format,
        "sha256": file.sha256,
    }
    if url != file.uri and (original := as_url(_absolute(file.uri))):
        obj["sameAs"] = original  # where the bytes live (the view holds a link or a copy)
    return obj


def _absolute(uri: str) -> str:
    return uri if "://" in uri else os.path.abspath(uri)


_DATA_TYPES = (
    ("bool", "sc:Boolean"),
    ("int", "sc:Integer"),
    ("uint", "sc:Integer"),
    ("float", "sc:Float"),
    ("double", "sc:Float"),
    ("decimal", "sc:Float"),
    ("date", "sc:Date"),
    ("timestamp", "sc:DateTime"),
    ("string", "sc:Text"),
    ("large_string", "sc:Text"),
    ("binary", "sc:Text"),
    ("large_binary", "sc:Text"),
)


def data_type(arrow_type: str) -> str | None:
    """The Croissant ``dataType`` of an Arrow type, or ``None`` for nested types."""
    if arrow_type.startswith(("struct", "list", "large_list", "map", "fixed_size_list")):
        return None
    for prefix, dtype in _DATA_TYPES:
        if arrow_type.startswith(prefix):
            return dtype
    return "sc:Text"


def _record_set(fields: Sequence[FieldFacts]) -> dict[str, Any]:
    out = []
    for f in fields:
        dtype = data_type(f.type)
        if dtype is None:  # nested columns (e.g. _provenance) have no flat Croissant type
            continue
        out.append(
            {
                "@type": "cr:Field",
                "@id": f"{RECORD_SET}/{f.name}",
                "name": f.name,
                "dataType": dtype,
                "source": {"fileSet": {"@id": _FILESET}, "extract": {"column": f.name}},
            }
        )
    record_set: dict[str, Any] = {"@type": "cr:RecordSet", "@id": RECORD_SET, "name": RECORD_SET}
    if any(f.name == "_id" for f in fields):
        record_set["key"] = {"@id": f"{RECORD_SET}/_id"}
    record_set["field"] = out
    return record_set
