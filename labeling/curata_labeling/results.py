"""Normalize Label Studio annotation results into one comparable value per control.

A Label Studio annotation ``result`` is a list of regions, each ``{"from_name", "to_name",
"type", "value": {...}}``. Agreement, adjudication and schema migrations need one value per
control instead: a choice (or a sorted tuple of choices), a number, a text, or a list of regions
(spans / boxes) with their labels. The normalized form is JSON-serialisable so it can be stored
in the annotations table and hashed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

Kind = Literal["choice", "multi", "number", "text", "span", "box", "other"]

# Label Studio result ``type`` → how we compare values of that control.
_REGION_TYPES = {"labels": "span", "hypertextlabels": "span", "paragraphlabels": "span"}
_BOX_TYPES = {"rectanglelabels", "rectangle", "polygonlabels", "ellipselabels", "brushlabels"}
_LABEL_KEYS = (
    "labels", "rectanglelabels", "polygonlabels", "ellipselabels", "brushlabels",
    "hypertextlabels", "paragraphlabels", "keypointlabels", "timeserieslabels",
)  # fmt: skip


def kind_of(result_type: str, *, multiple: bool = False) -> Kind:
    """How values of a control with this Label Studio result type are compared."""
    t = result_type.lower()
    if t in ("choices", "taxonomy"):
        return "multi" if multiple else "choice"
    if t in ("rating", "number"):
        return "number"
    if t == "textarea":
        return "text"
    if t in _REGION_TYPES:
        return "span"
    if t in _BOX_TYPES:
        return "box"
    return "other"


def _labels_of(value: dict[str, Any]) -> list[str]:
    for key in _LABEL_KEYS:
        if key in value:
            return sorted(str(v) for v in value[key])
    return []


def _region(kind: Kind, value: dict[str, Any]) -> dict[str, Any]:
    if kind == "span":
        return {
            "start": value.get("start"),
            "end": value.get("end"),
            "labels": _labels_of(value),
        }
    keys = ("x", "y", "width", "height", "rotation")
    return {**{k: value[k] for k in keys if k in value}, "labels": _labels_of(value)}


def normalize(result: list[dict[str, Any]]) -> dict[str, Any]:
    """One value per control name from a Label Studio ``result`` list.

    Choices become a sorted list of chosen values (a single-choice control a list of one),
    numbers a float, texts a list of strings, regions a list of region dicts sorted by position.
    """
    out: dict[str, Any] = {}
    for item in result or []:
        name, rtype = item.get("from_name"), str(item.get("type", "")).lower()
        value = item.get("value") or {}
        if not name:
            continue
        kind = kind_of(rtype)
        if kind in ("choice", "multi"):
            chosen = value.get("choices", value.get("taxonomy", []))
            flat = ["/".join(c) if isinstance(c, list) else str(c) for c in chosen]
            out[name] = sorted(set(out.get(name, [])) | set(flat))
        elif kind == "number":
            num = value.get("rating", value.get("number"))
            out[name] = None if num is None else float(num)
        elif kind == "text":
            out[name] = [*out.get(name, []), *map(str, value.get("text", []))]
        elif kind in ("span", "box"):
            regions = [*out.get(name, []), _region(kind, value)]
            out[name] = sorted(regions, key=lambda r: json.dumps(r, sort_keys=True))
        else:
            out[name] = [*out.get(name, []), value]
    return out


def result_hash(result: list[dict[str, Any]]) -> str:
    """Hash of a result that ignores region ids and key order (what changed, not how stored)."""
    canon = sorted(
        json.dumps({k: v for k, v in r.items() if k not in ("id", "origin")}, sort_keys=True)
        for r in result or []
    )
    return hashlib.sha256("\n".join(canon).encode()).hexdigest()[:32]


def choice_value(value: Any) -> str | None:
    """The single category of a normalized choice value (``None`` when empty)."""
    if isinstance(value, list):
        return "|".join(map(str, value)) if value else None
    return None if value is None else str(value)
