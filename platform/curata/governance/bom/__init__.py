"""Dataset bills of materials: CycloneDX 1.6, Croissant 1.1, SPDX 3.0.1 and a datasheet.

Every writer is a pure function of :class:`~curata.governance.facts.SnapshotFacts`;
:func:`write_bom` renders one format to a file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from curata.errors import UsageError
from curata.governance.bom.croissant import to_croissant, view_name
from curata.governance.bom.cyclonedx import to_cyclonedx
from curata.governance.bom.datasheet import to_datasheet
from curata.governance.bom.spdx import to_spdx
from curata.governance.facts import SnapshotFacts
from curata.storage import filesystem, is_local

BomFormat = Literal["cyclonedx", "croissant", "spdx", "datasheet"]
BOM_FORMATS: tuple[str, ...] = get_args(BomFormat)


class InvalidBomFormatError(UsageError):
    """A BOM format Curata does not write."""

    def __init__(self, format: str) -> None:
        self.format = format
        self.valid = list(BOM_FORMATS)
        super().__init__(
            f"Invalid BOM format {format!r} (valid: {', '.join(BOM_FORMATS)})",
            hint="Pass --format cyclonedx, croissant, spdx or datasheet",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BomResult:
    """What :func:`write_bom` wrote.

    Attributes:
        ref: the snapshot ref.
        format: the format written.
        path: the file written.
        bytes: its size.
        files: data files listed (with sha256).
        derived_from: provenance entries listed.
        file_view: Croissant written outside the table folder: the folder beside it that
            holds the data files (links or copies), else ``None``.
    """

    ref: str
    format: str
    path: str
    bytes: int
    files: int
    derived_from: int
    file_view: str | None = None


def render_bom(facts: SnapshotFacts, format: BomFormat, *, base_dir: str | None = None,
               file_view: str | None = None) -> str:
    """Render one BOM format as text.

    Args:
        facts: the snapshot's catalog facts.
        format: ``cyclonedx``, ``croissant``, ``spdx`` or ``datasheet``.
        base_dir: where the file will live (Croissant lists files under it by relative path).
        file_view: Croissant: a folder under ``base_dir`` holding every data file by name.

    Raises:
        InvalidBomFormatError: unknown format.
    """
    if format == "datasheet":
        return to_datasheet(facts)
    if format == "cyclonedx":
        doc = to_cyclonedx(facts)
    elif format == "croissant":
        doc = to_croissant(facts, base_dir=base_dir, file_view=file_view)
    elif format == "spdx":
        doc = to_spdx(facts)
    else:
        raise InvalidBomFormatError(format)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def write_bom(facts: SnapshotFacts, format: BomFormat, out: str | os.PathLike[str], *,
              storage_options: dict[str, str] | None = None) -> BomResult:
    """Render one BOM format and write it to ``out`` (parent folders are created).

    A Croissant file written outside the snapshot's table folder gets a file view beside it
    (``<name>.files/``: links to local files, copies of object-store files) so that
    ``mlcroissant`` reads the records wherever it is (``storage_options``: for the copies).

    Example:
        >>> write_bom(collect_facts(cat, "reviews@v3"), "spdx", "bom.spdx.json")  # doctest: +SKIP
    """
    path = Path(out)
    if not path.name:
        raise UsageError("--out names no file", hint="Pass --out FOLDER/croissant.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    view = None
    if format == "croissant" and facts.files and not _all_under(facts, path.parent):
        view = make_file_view(facts, path.parent / f"{path.name}.files", storage_options)
    text = render_bom(facts, format, base_dir=str(path.parent), file_view=view)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # atomic: a reader never sees half a BOM
    return BomResult(
        ref=facts.ref,
        format=format,
        path=str(path),
        bytes=len(text.encode()),
        files=len(facts.files),
        derived_from=len(facts.derived_from),
        file_view=str(path.parent / view) if view else None,
    )


def _all_under(facts: SnapshotFacts, folder: Path) -> bool:
    root = os.path.abspath(folder)
    return all("://" not in f.uri.removeprefix("file://")
               and os.path.abspath(f.uri.removeprefix("file://")).startswith(root + os.sep)
               for f in facts.files)


_VIEW_MARK = ".curata-croissant-view"


def make_file_view(facts: SnapshotFacts, folder: Path,
                   storage_options: dict[str, str] | None = None) -> str:
    """A folder holding every data file of ``facts`` by its base name: a symbolic link to a
    local file, a copy of a remote one. Returns its name (relative to its parent).

    A folder of that name that Curata did not make is never touched (an error instead).
    """
    import shutil

    if folder.exists() or folder.is_symlink():
        if not (folder / _VIEW_MARK).is_file() or folder.is_symlink():
            raise UsageError(f"{folder} exists and is not a Croissant file view Curata made",
                             hint="Choose another --out, or move that folder away")
        shutil.rmtree(folder)
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / _VIEW_MARK).write_text(f"{facts.ref}\n")
    for f in facts.files:
        target = staging / view_name(f)
        if is_local(f.uri):
            target.symlink_to(os.path.abspath(f.uri.removeprefix("file://")))
            continue
        fs, src = filesystem(f.uri, storage_options)
        with fs.open_input_stream(src) as inp, open(target, "wb") as outp:
            shutil.copyfileobj(inp, outp, 8 << 20)
    staging.rename(folder)
    return folder.name


__all__ = [
    "BOM_FORMATS",
    "BomFormat",
    "BomResult",
    "InvalidBomFormatError",
    "render_bom",
    "to_croissant",
    "to_cyclonedx",
    "to_datasheet",
    "to_spdx",
    "write_bom",
]
