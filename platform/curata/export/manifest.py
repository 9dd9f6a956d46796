"""The export manifest, its ``wids`` index and ``ATTRIBUTION.md``.

``manifest.json`` is the export's commit record: it is written last, under a temporary name
and then renamed, so a folder with a manifest always holds every shard it lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from curata import __version__

MANIFEST = "manifest.json"
ATTRIBUTION = "ATTRIBUTION.md"
FORMAT = "curata-webdataset"
FORMAT_VERSION = 1

# The only names an export writes into its folder (``shardset.shard_name`` and the ``wids``
# index names are built from a dataset name made of ``[A-Za-z0-9_.-]`` and split labels of
# ``[A-Za-z0-9_]``). One path component, never hidden, never ``..``: whatever an old
# manifest lists, only files of these names inside the folder are ever replaced or removed.
_STEM = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
SHARD_NAME = re.compile(_STEM + r"-[0-9]{6,}\.tar")
WIDS_NAME = re.compile(_STEM + r"\.wids\.json")


def is_export_name(name: object) -> bool:
    """Whether ``name`` is a file name the exporter itself writes into an export folder."""
    return isinstance(name, str) and (
        name in (MANIFEST, ATTRIBUTION)
        or SHARD_NAME.fullmatch(name) is not None
        or WIDS_NAME.fullmatch(name) is not None
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardInfo:
    """One shard of an export: file name (relative to the export folder) and checksums."""

    name: str
    split: str
    samples: int
    bytes: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "split": self.split, "samples": self.samples,
                "bytes": self.bytes, "sha256": self.sha256}


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportManifest:
    """What an export wrote (or found already written, ``status="unchanged"``).

    Attributes:
        status: ``"written"`` or ``"unchanged"``.
        out: the export folder or URI.
        manifest_uri: where ``manifest.json`` lies.
        shards: the shards in order; ``num_samples``/``num_bytes`` are their totals.
        licenses / sources: record counts per license and per source.
        overrides: license overrides used (license, records, reason, actor).
        wids_indexes: split -> file name of the ``wids`` shard index.
    """

    status: Literal["written", "unchanged"]
    out: str
    manifest_uri: str
    ref: str
    dataset: str
    version: int
    fingerprint: str
    num_samples: int
    num_bytes: int
    shards: tuple[ShardInfo, ...]
    options: dict[str, Any] = field(default_factory=dict)
    fields: tuple[dict[str, str], ...] = ()
    licenses: dict[str, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    overrides: tuple[dict[str, Any], ...] = ()
    wids_indexes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The manifest document (what ``manifest.json`` holds) plus ``status`` and ``out``."""
        return {"status": self.status, "out": self.out, **manifest_document(self)}

    def shard_names(self, split: str | None = None) -> list[str]:
        return [s.name for s in self.shards if split is None or s.split == split]


def manifest_document(m: ExportManifest) -> dict[str, Any]:
    """The JSON document stored as ``manifest.json`` (deterministic: no timestamps)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "curata_version": __version__,
        "snapshot": {"ref": m.ref, "dataset": m.dataset, "version": m.version,
                     "fingerprint": m.fingerprint},
        "options": m.options,
        "fields": list(m.fields),
        "num_samples": m.num_samples,
        "num_bytes": m.num_bytes,
        "shards": [s.to_dict() for s in m.shards],
        "wids_indexes": m.wids_indexes,
        "licenses": m.licenses,
        "sources": m.sources,
        "license_overrides": list(m.overrides),
        "attribution": ATTRIBUTION,
    }


def manifest_from_document(doc: Mapping[str, Any], *, out: str, uri: str) -> ExportManifest:
    """Rebuild an :class:`ExportManifest` from a stored ``manifest.json``."""
    snap = doc["snapshot"]
    return ExportManifest(
        status="unchanged", out=out, manifest_uri=uri, ref=snap["ref"], dataset=snap["dataset"],
        version=snap["version"], fingerprint=snap["fingerprint"],
        num_samples=doc["num_samples"], num_bytes=doc["num_bytes"],
        shards=tuple(ShardInfo(**s) for s in doc["shards"]), options=doc["options"],
        fields=tuple(doc["fields"]), licenses=doc["licenses"], sources=doc["sources"],
        overrides=tuple(doc.get("license_overrides", ())),
        wids_indexes=doc.get("wids_indexes", {}),
    )


def dumps(doc: Any) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def wids_index(name: str, shards: Sequence[ShardInfo]) -> dict[str, Any]:
    """A ``wids`` shard index (``wids.ShardListDataset(path)``); URLs relative to the folder."""
    return {
        "__kind__": "wids-shard-index-v1",
        "wids_version": 1,
        "name": name,
        "shardlist": [
            {"url": s.name, "nsamples": s.samples, "filesize": s.bytes, "sha256": s.sha256}
            for s in shards
        ],
    }


def attribution_markdown(m: ExportManifest, details: Mapping[str, Mapping[str, Any]]) -> str:
    """``ATTRIBUTION.md``: licenses, sources and attribution texts of the exported records.

    Args:
        m: the manifest being written.
        details: per source id, catalog fields (``name``, ``uri``, ``license``, ``attribution``).
    """
    lines = [f"# Attribution for {m.ref}", "",
             f"Exported from snapshot `{m.ref}` (fingerprint `{m.fingerprint}`): "
             f"{m.num_samples} records in {len(m.shards)} shards.", "",
             "## Licenses", "", "| License | Records |", "|---|---:|"]
    lines += [f"| {_cell(lic)} | {n} |" for lic, n in m.licenses.items()]
    lines += ["", "## Sources", "", "| Source | Name | License | Records | URI |",
              "|---|---|---|---:|---|"]
    for src, n in m.sources.items():
        d = details.get(src, {})
        lines.append(f"| {_cell(src)} | {_cell(d.get('name', ''))} | "
                     f"{_cell(d.get('license', ''))} | {n} | {_cell(d.get('uri', ''))} |")
    texts = [(s, details.get(s, {}).get("attribution", "")) for s in m.sources]
    texts = [(s, t) for s, t in texts if t]
    if texts:
        lines += ["", "## Attribution notices"]
        for src, text in texts:
            lines += ["", f"### {src}", "", text.strip()]
    if m.overrides:
        lines += ["", "## License overrides", ""]
        lines += [f"- {o['license']} ({o['records']} records) allowed for {o['purpose']} use by "
                  f"{o['actor']}: {o['reason']}" for o in m.overrides]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")
