"""Helpers shared by the BOM writers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path

from curata.errors import LicenseError
from curata.governance.facts import SnapshotFacts
from curata.governance.licenses import license_info, license_symbols, parse_expression, render
from curata.governance.policy import LicenseVerdict, evaluate

# Stable namespace so the same snapshot always gets the same document ids.
_NAMESPACE = uuid.UUID("6c7a3f0e-5b1d-4e55-9d8e-2f1c0a7b9e41")


def document_uuid(facts: SnapshotFacts, fmt: str) -> uuid.UUID:
    """A deterministic UUID for a document about ``facts`` in format ``fmt``."""
    return uuid.uuid5(_NAMESPACE, f"{fmt}:{facts.dataset}:{facts.version}:{facts.fingerprint}")


def canonical(expression: str) -> str:
    """The canonical spelling of a license expression (as given if it does not parse)."""
    try:
        return render(parse_expression(expression))
    except LicenseError:
        return expression


def license_ids(expression: str) -> list[str]:
    """Canonical license ids used in an expression (``unknown`` if it does not parse)."""
    try:
        tree = parse_expression(expression)
    except LicenseError:
        return ["unknown"]
    return list(dict.fromkeys(license_info(s).id for s in license_symbols(tree)))


def combined_expression(license_counts: Mapping[str, int]) -> str:
    """One SPDX expression for the whole snapshot: every record's terms apply (``AND``)."""
    parts = sorted({canonical(k) for k, n in license_counts.items() if n > 0})
    if not parts:
        return "unknown"
    if len(parts) == 1:
        return parts[0]
    return " AND ".join(f"({p})" if " " in p else p for p in parts)


def license_urls(license_counts: Mapping[str, int]) -> list[str]:
    """Reference URLs of every license in the mix, most records first."""
    weight: dict[str, int] = {}
    for expression, n in license_counts.items():
        for lid in license_ids(expression):
            weight[lid] = weight.get(lid, 0) + n
    ordered = sorted(weight, key=lambda k: (-weight[k], k))
    return list(dict.fromkeys(license_info(lid).url for lid in ordered))


def as_url(uri: str | None) -> str | None:
    """``uri`` as a URL a BOM may state, or ``None`` (sources named without a location).

    Absolute local paths become ``file://`` URLs; anything with whitespace or no scheme is not
    a location (the catalog stores the source name when no URI was given).
    """
    if not uri or any(c.isspace() for c in uri):
        return None
    if "://" in uri:
        return uri
    if uri.startswith("/"):
        return Path(uri).as_uri()
    return None


def verdicts(facts: SnapshotFacts) -> dict[str, LicenseVerdict]:
    """The license verdict for every purpose."""
    return {p: evaluate(facts.license_counts, p) for p in ("commercial", "research", "internal")}
