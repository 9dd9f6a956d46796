"""License checks for ingest: SPDX validation with close-match suggestions for typos."""

from __future__ import annotations

import difflib
import re
from functools import cache

from curata.errors import LicenseError
from curata.writer import validate_license

UNKNOWN = "unknown"
_TOKEN = re.compile(r"[A-Za-z0-9.+\-]+")
_OPERATORS = {"AND", "OR", "WITH"}


@cache
def _known_keys() -> tuple[str, ...]:
    from license_expression import get_spdx_licensing

    licensing = get_spdx_licensing()
    keys = set()
    for symbol in licensing.known_symbols.values():
        keys.add(symbol.key)
        keys.update(getattr(symbol, "aliases", ()) or ())
    return tuple(sorted(keys))


def suggestions(expression: str, limit: int = 3) -> list[str]:
    """SPDX ids close to the unknown tokens of ``expression`` (``CC-BY-40`` → ``CC-BY-4.0``)."""
    keys = _known_keys()
    lowered = {k.lower(): k for k in keys}
    out: list[str] = []
    for token in _TOKEN.findall(expression):
        if (
            token.upper() in _OPERATORS
            or token.lower() in lowered
            or token.startswith("LicenseRef-")
        ):
            continue
        for match in difflib.get_close_matches(token.lower(), lowered, n=limit, cutoff=0.6):
            out.append(lowered[match])
    return list(dict.fromkeys(out))[:limit]


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
    try:
        return validate_license(expression.strip())
    except LicenseError as exc:
        raise LicenseError(
            expression, reason=exc.reason, suggestions=suggestions(expression)
        ) from None
