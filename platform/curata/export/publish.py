"""Staged writing and atomic publication of an export folder (local or fsspec).

An export folder may hold anything; the exporter owns only the names it writes
(``manifest.is_export_name``). It replaces or removes nothing else: names an old manifest
lists are checked against those names before anything happens, and on a local disk a
symlink or folder under one of them is refused (a rename onto a symlinked folder would move
the shard *into* it, outside the export folder).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Sequence
from typing import Any

from curata.errors import StorageError
from curata.export.errors import ExportFolderError
from curata.export.manifest import (
    ATTRIBUTION,
    FORMAT,
    MANIFEST,
    SHARD_NAME,
    WIDS_NAME,
    ExportManifest,
    is_export_name,
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

    def publish(self, manifest: bytes, *, stale: Sequence[str] = ()) -> None:
        """Move staged files into place, remove ``stale`` files, write the manifest.

        ``stale`` are the names an earlier export of this folder listed (checked by
        :func:`previous_files`); those this run did not write again are removed.

        The old manifest goes first, so the folder never claims a complete export while its
        files are being swapped; the new manifest comes last.

        Raises:
            StorageError: the store refused a rename, delete or write.
        """
        try:
            self._publish(manifest, stale)
        except OSError as exc:
            raise StorageError(self.root, reason=str(exc)) from exc

    def _publish(self, manifest: bytes, stale: Sequence[str]) -> None:
        fs = self.fs
        self._remove(self.path(MANIFEST))
        finals = set()
        for tmp, final in self._staged:
            self._replace(tmp, final)
            finals.add(final)
        for name in stale:
            if is_export_name(name) and self.path(name) not in finals:
                self._remove(self.path(name))
        tmp = self._temp(MANIFEST)
        with fs.open(tmp, "wb") as f:
            f.write(manifest)
        self._replace(tmp, self.path(MANIFEST))
        self._staged = []

    def _replace(self, tmp: str, final: str) -> None:
        if _is_local(self.fs):  # a rename never follows a symlink at `final` (shutil.move does)
            os.replace(tmp, final)
        else:
            self.fs.mv(tmp, final)

    def _remove(self, path: str) -> None:
        if _is_local(self.fs):  # the entry itself, never what a symlink points at
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        elif self.fs.exists(path):
            self.fs.rm(path)

    def discard(self) -> None:
        """Remove whatever this run staged (after an error or interruption)."""
        for tmp, _ in self._staged:
            try:
                if self.fs.exists(tmp):
                    self.fs.rm(tmp)
            except OSError:
                pass  # best effort: the temp name never looks like a finished file
        self._staged = []


def _is_local(fs: Any) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocol or "local" in protocol


def check_folder(fs: Any, root: str) -> None:
    """Refuse a local export folder where one of the exporter's names is not a plain file.

    Raises:
        ExportFolderError: a symlink, folder or device under an exporter-owned name.
    """
    if not _is_local(fs):
        return  # object stores have neither symlinks nor folders under a key
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError):
        return  # not there yet (a file there fails when the folder is made)
    for entry in entries:
        if not is_export_name(entry.name):
            continue
        mode = entry.stat(follow_symlinks=False).st_mode
        if not stat.S_ISREG(mode):
            kind = "a symlink" if stat.S_ISLNK(mode) else "not a regular file"
            raise ExportFolderError(root, name=entry.name,
                                    reason=f"is {kind} where the export writes a file")


def previous_files(doc: dict[str, Any] | None, *, folder: str) -> tuple[str, ...]:
    """The files an earlier export listed in the ``manifest.json`` of ``folder``.

    Raises:
        ExportFolderError: an entry is not a name this exporter writes (a path such as
            ``../victim``, an absolute path, a hidden or sub-folder name) or the manifest is
            malformed. Nothing has been deleted or written at that point.
    """
    if doc is None:
        return ()
    shards, wids = doc.get("shards", []), doc.get("wids_indexes", {})
    if not isinstance(shards, list) or not isinstance(wids, dict):
        raise ExportFolderError(folder, name=MANIFEST,
                                reason="is malformed (shards must be a list, wids_indexes a "
                                       "mapping)")
    names = []
    for shard in shards:
        name = shard.get("name") if isinstance(shard, dict) else shard
        names.append(_checked(name, SHARD_NAME, folder, "a shard", "NAME-000000.tar"))
    for name in wids.values():
        names.append(_checked(name, WIDS_NAME, folder, "a wids index", "NAME.wids.json"))
    return (*names, ATTRIBUTION)


def _checked(name: Any, pattern: Any, folder: str, what: str, example: str) -> str:
    if not isinstance(name, str) or pattern.fullmatch(name) is None:
        raise ExportFolderError(
            folder, name=name,
            reason=f"is listed in its {MANIFEST} as {what}, but is not a file name the "
                   f"exporter writes (like {example}, directly inside the folder)")
    return name


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
    try:  # names were checked by previous_files; any other field may still be missing
        for shard in doc.get("shards", []):
            path = f"{root}/{shard['name']}"
            if not fs.exists(path) or fs.size(path) != shard["bytes"]:
                return None
        uri = fs.unstrip_protocol(f"{root}/{MANIFEST}")
        return manifest_from_document(doc, out=out, uri=uri)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None  # not a complete manifest of ours: export again
