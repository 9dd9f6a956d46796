"""The export license gate: refuse records whose license forbids the export's purpose."""

from __future__ import annotations

from typing import Any, cast

from curata._util import current_user
from curata.errors import LicenseViolationError
from curata.export.errors import ExportOptionError
from curata.export.options import ExportOptions
from curata.export.selection import Census
from curata.export.sources import source_details
from curata.governance.licenses import Purpose
from curata.governance.policy import evaluate


def check_licenses(
    snapshot: Any, census: Census, options: ExportOptions
) -> tuple[dict[str, Any], ...]:
    """Evaluate the exported records' licenses for ``options.purpose``.

    Returns:
        The overrides that were needed (one per license expression cleared by
        ``allow_licenses``), for the audit log and the manifest.

    Raises:
        LicenseViolationError: some records' license forbids the purpose and no override
            covers it; ``violations`` holds license -> records and ``sources`` the sources.
    """
    if options.purpose is None:
        if options.allow_licenses:
            raise ExportOptionError("allow_license", list(options.allow_licenses),
                                    reason="only applies together with a purpose")
        return ()

    purpose = cast(Purpose, options.purpose)  # validated by build_options
    verdict = evaluate(dict(census.licenses), purpose, allow=options.allow_licenses)
    if not verdict.allowed:
        raise LicenseViolationError(
            snapshot.ref, purpose=options.purpose, violations=verdict.violations,
            sources=_sources(snapshot, census, verdict.violations),
        )
    return tuple(
        {"license": lic, "records": n, "purpose": options.purpose, "reason": options.reason,
         "actor": current_user(), "sources": dict(sorted(_by_source(census, lic).items()))}
        for lic, n in sorted(verdict.overridden.items())
    )


def _by_source(census: Census, license: str) -> dict[str, int]:
    # governance reports a null `_license` as "unknown"; the census keeps the raw value
    keys: list[str | None] = [license, None] if license == "unknown" else [license]
    out: dict[str, int] = {}
    for key in keys:
        for src, n in census.license_sources.get(key, {}).items():
            out[str(src)] = out.get(str(src), 0) + n
    return out


def _sources(snapshot: Any, census: Census, violations: dict[str, int]) -> list[str]:
    """``"forum crawl [src-…] (200 CC-BY-NC-4.0)"`` per violating source and license."""
    by_license = {lic: sorted(_by_source(census, lic).items()) for lic in violations}
    ids = sorted({src for pairs in by_license.values() for src, _ in pairs})
    names = {k: v.get("name", "") for k, v in source_details(snapshot, ids).items()}
    out = []
    for lic, pairs in by_license.items():
        for src, n in pairs:
            label = f"{names[src]} [{src}]" if names.get(src) else src
            out.append(f"{label} ({n} {lic})")
    return out
