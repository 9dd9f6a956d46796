"""Governance: license policy, attribution, bills of materials, datasheets and the audit log.

The license policy (:func:`evaluate`) is the one evaluation shared by ``curata license``, the
BOM writers and the export license gate.
"""

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

__all__ = [
    "KNOWN_LICENSES",
    "PURPOSES",
    "ExpressionVerdict",
    "InvalidPurposeError",
    "LicenseConflict",
    "LicenseInfo",
    "LicenseVerdict",
    "Obligation",
    "Purpose",
    "evaluate",
    "license_info",
    "normalize_license",
]
