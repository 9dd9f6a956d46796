"""Staged writing and atomic publication of an export folder (local or fsspec)."""

from __future__ import annotations

import json
from typing import Any

from curata.errors import StorageError
from curata.export.manifest import (
    ATTRIBUTION,
    FORMAT,
    MANIFEST,
    ExportManifest,
    manifest_from_document,
)
from curata.export.options import ExportOptions


class Staging:
    """Files written under hidden temporary names, renamed into place by :meth:`publish`.

    Args:
        fs: the fsspec filesystem of the export folder.
        root: the folder path within ``fs``.
        token: unique per export run, so concurrent or killed runs never share temp files.
    """

    def __init__(self, fs: Any, root: str, *, token: str) -> None:
        self.fs, self.root, self.token = fs, root.rstrip("/"), token
        self._staged: list[tuple[str, str]] = []  # (temp path, final path), in write order
        try:
            fs.makedirs(self.root, exist_ok=True)
        except OSError as exc:
            raise StorageError(self.root, reason=str(exc)) from exc

    def path(self, name: str) -> str:
        return f"{self.root}/{name}"

    def uri(self, name: str) -> str:
        return self.fs.unstrip_protocol(self.path(name))

    def _temp(self, name: str) -> str:
        return self.path(f".{name}.{self.token}.partial")

    def open(self, name: str) -> Any:
        """An open binary stream that becomes ``name`` on publication."""
        tmp = self._temp(name)
        self._staged.append((tmp, self.path(name)))
        try:
            return self.fs.open(tmp, "wb")
        except OSError as exc:
            raise StorageError(tmp, reason=str(exc)) from exc

    def expect(self, name: str) -> None:
        """Register ``name`` as written by another process (a Ray task opening it with a
        ``Staging`` of the same token): :meth:`publish` moves it, :meth:`discard` removes it."""
        self._staged.append((self._temp(name), self.path(name)))

    def write(self, name: str, data: bytes) -> None:
        with self.open(name) as f:
            f.write(data)

    def publish(self, manifest: bytes, *, previous: dict[str, Any] | None) -> None:
        """Move staged files into place, drop stale files of ``previous``, write the manifest.

        The old manifest goes first, so the folder never claims a complete export while its
        files are being swapped; the new manifest comes last.

        Raises:
            StorageError: the store refused a rename, delete or write.
        """
        try:
            self._publish(manifest, previous)
        except OSError as exc:
            raise StorageError(self.root, reason=str(exc)) from exc

    def _publish(self, manifest: bytes, previous: dict[str, Any] | None) -> None:
        fs = self.fs
        if fs.exists(self.path(MANIFEST)):
            fs.rm(self.path(MANIFEST))
        finals = set()
        for tmp, final in self._staged:
            fs.mv(tmp, final)
            finals.add(final)
        for name in _files_of(previous):
            if self.path(name) not in finals and fs.exists(self.path(name)):
                fs.rm(self.path(name))
        tmp = self._temp(MANIFEST)
        with fs.open(tmp, "wb") as f:
            f.write(manifest)
        fs.mv(tmp, self.path(MANIFEST))
        self._staged = []

    def discard(self) -> None:
        """Remove whatever this run staged (after an error or interruption)."""
        for tmp, _ in self._staged:
            try:
                if self.fs.exists(tmp):
                    self.fs.rm(tmp)
            except OSError:
                pass  # best effort: the temp name never looks like a finished file
        self._staged = []


def _files_of(doc: dict[str, Any] | None) -> list[str]:
    if not doc:
        return []
    names = [s["name"] for s in doc.get("shards", [])]
    return names + list(doc.get("wids_indexes", {}).values()) + [ATTRIBUTION]


def read_manifest(fs: Any, root: str) -> dict[str, Any] | None:
    """The ``manifest.json`` document in ``root``, or ``None`` if there is none of ours."""
    path = f"{root.rstrip('/')}/{MANIFEST}"
    if not fs.exists(path):
        return None
    try:
        with fs.open(path, "rb") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None  # unreadable: the export rewrites it; shards are only removed by name
    return doc if isinstance(doc, dict) and doc.get("format") == FORMAT else None


def unchanged_manifest(
    doc: dict[str, Any] | None, fs: Any, root: str, *, out: str, snapshot: Any,
    options: ExportOptions,
) -> ExportManifest | None:
    """The existing export if it is this snapshot with these options and its files are intact."""
    if doc is None:
        return None
    snap = doc.get("snapshot", {})
    if (snap.get("fingerprint"), snap.get("version"), snap.get("dataset")) != (
        snapshot.fingerprint, int(snapshot.version), snapshot.dataset
    ):
        return None
    stored = {k: v for k, v in doc.get("options", {}).items() if k != "reason"}
    if stored != options.identity():
        return None
    root = root.rstrip("/")
    for shard in doc.get("shards", []):
        path = f"{root}/{shard['name']}"
        if not fs.exists(path) or fs.size(path) != shard["bytes"]:
            return None
    return manifest_from_document(doc, out=out, uri=fs.unstrip_protocol(f"{root}/{MANIFEST}"))
