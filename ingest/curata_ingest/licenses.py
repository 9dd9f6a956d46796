"""License checks for ingest: SPDX validation with close-match suggestions for typos."""

from __future__ import annotations

from curata.errors import LicenseError
from curata.write import validate_license

UNKNOWN = "unknown"


def check_license(expression: str) -> str:
    """Validate an SPDX expression and return it normalised.

    ``LicenseRef-…`` ids are accepted; ``unknown`` only when given literally (it is then flagged
    in the report). A typo raises :class:`~curata.errors.LicenseError` whose ``suggestions``
    hold the closest SPDX ids.

    Example:
        >>> check_license("cc-by-4.0")
        'CC-BY-4.0'
    """
    if not expression or not expression.strip():
        raise LicenseError(expression, reason="a license is required")
    return validate_license(expression.strip())
