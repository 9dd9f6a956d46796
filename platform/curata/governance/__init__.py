"""Governance: license policy, attribution, bills of materials, datasheets and the audit log.

The license policy (:func:`evaluate`) is the one evaluation shared by ``curata license``, the
BOM writers and the export license gate (:func:`check_license`).

Example:
    >>> from curata.governance import evaluate
    >>> evaluate({"CC-BY-4.0": 10, "CC-BY-NC-4.0": 2}, "commercial").violations
    {'CC-BY-NC-4.0': 2}
"""

from curata.governance.audit import audit_entries
from curata.governance.bom import BOM_FORMATS, BomResult, render_bom, write_bom
from curata.governance.collect import collect_facts
from curata.governance.facts import AuditEntry, DerivedFrom, SnapshotFacts
from curata.governance.licenses import (
    KNOWN_LICENSES,
    PURPOSES,
    InvalidPurposeError,
    LicenseInfo,
    Purpose,
    license_info,
    normalize_license,
)
from curata.governance.policy import (
    ExpressionVerdict,
    LicenseConflict,
    LicenseVerdict,
    Obligation,
    evaluate,
)
from curata.governance.provenance import derivation, provenance_chain, record_derivation
from curata.governance.report import (
    Credit,
    LicenseReport,
    OverrideReasonRequiredError,
    check_license,
    license_report,
)

__all__ = [
    "BOM_FORMATS",
    "KNOWN_LICENSES",
    "PURPOSES",
    "AuditEntry",
    "BomResult",
    "Credit",
    "DerivedFrom",
    "ExpressionVerdict",
    "InvalidPurposeError",
    "LicenseConflict",
    "LicenseInfo",
    "LicenseReport",
    "LicenseVerdict",
    "Obligation",
    "OverrideReasonRequiredError",
    "Purpose",
    "SnapshotFacts",
    "audit_entries",
    "check_license",
    "collect_facts",
    "derivation",
    "evaluate",
    "license_info",
    "license_report",
    "normalize_license",
    "provenance_chain",
    "record_derivation",
    "render_bom",
    "write_bom",
]
