"""Governance: license policy, attribution, bills of materials, datasheets and the audit log.

The license policy (:func:`evaluate`) is the one evaluation shared by ``curata license``, the
BOM writers and the export license gate (:func:`check_license`).

Example:
    >>> from curata.governance import evaluate
    >>> evaluate({"CC-BY-4.0": 10, "CC-BY-NC-4.0": 2}, "commercial").violations
    {'CC-BY-NC-4.0': 2}

Names are imported on first use (PEP 562): the policy and license tables are what the export
gate needs, while reports and BOMs build on snapshots (which export), so importing this
package must not load them all (it would make ``snapshot → export → governance → snapshot`` a
cycle).
"""

import typing as _typing

from curata.lazy import lazy_names as _lazy_names

_LAZY = {
    "AuditEntry": "curata.governance.facts",
    "BOM_FORMATS": "curata.governance.bom",
    "BomResult": "curata.governance.bom",
    "Credit": "curata.governance.report",
    "DerivedFrom": "curata.governance.facts",
    "ExpressionVerdict": "curata.governance.policy",
    "InvalidPurposeError": "curata.governance.licenses",
    "KNOWN_LICENSES": "curata.governance.licenses",
    "LicenseConflict": "curata.governance.policy",
    "LicenseInfo": "curata.governance.licenses",
    "LicenseReport": "curata.governance.report",
    "LicenseVerdict": "curata.governance.policy",
    "Obligation": "curata.governance.policy",
    "OverrideReasonRequiredError": "curata.governance.report",
    "PURPOSES": "curata.governance.licenses",
    "Purpose": "curata.governance.licenses",
    "SnapshotFacts": "curata.governance.facts",
    "audit_entries": "curata.governance.audit",
    "check_license": "curata.governance.report",
    "collect_facts": "curata.governance.collect",
    "derivation": "curata.governance.provenance",
    "evaluate": "curata.governance.policy",
    "license_info": "curata.governance.licenses",
    "license_report": "curata.governance.report",
    "normalize_license": "curata.governance.licenses",
    "provenance_chain": "curata.governance.provenance",
    "record_derivation": "curata.governance.provenance",
    "render_bom": "curata.governance.bom",
    "write_bom": "curata.governance.bom",
}

if _typing.TYPE_CHECKING:
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


__getattr__, __dir__ = _lazy_names(__name__, _LAZY)


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
