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
from curata.governance.bom.croissant import to_croissant
from curata.governance.bom.cyclonedx import to_cyclonedx
from curata.governance.bom.datasheet import to_datasheet
from curata.governance.bom.spdx import to_spdx
from curata.governance.facts import SnapshotFacts

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
    """

    ref: str
    format: str
    path: str
    bytes: int
    files: int
    derived_from: int


def render_bom(facts: SnapshotFacts, format: BomFormat, *, base_dir: str | None = None) -> str:
    """Render one BOM format as text.

    Args:
        facts: the snapshot's catalog facts.
        format: ``cyclonedx``, ``croissant``, ``spdx`` or ``datasheet``.
        base_dir: where the file will live (Croissant lists files under it by relative path).

    Raises:
        InvalidBomFormatError: unknown format.
    """
    if format == "datasheet":
        return to_datasheet(facts)
    if format == "cyclonedx":
        doc = to_cyclonedx(facts)
    elif format == "croissant":
        doc = to_croissant(facts, base_dir=base_dir)
    elif format == "spdx":
        doc = to_spdx(facts)
    else:
        raise InvalidBomFormatError(format)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def write_bom(facts: SnapshotFacts, format: BomFormat, out: str | os.PathLike[str]) -> BomResult:
    """Render one BOM format and write it to ``out`` (parent folders are created).

    Example:
        >>> write_bom(collect_facts(cat, "reviews@v3"), "spdx", "bom.spdx.json")  # doctest: +SKIP
    """
    path = Path(out)
    text = render_bom(facts, format, base_dir=str(path.parent))
    path.parent.mkdir(parents=True, exist_ok=True)
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
    )


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
