"""Small helpers shared across the core (time, identity, names)."""

from __future__ import annotations

import getpass
import os
import re
import uuid
from datetime import UTC, datetime

from curata.errors import InvalidNameError

# Matched with ``fullmatch``: ``$`` alone also matches before a trailing newline, which once let
# ``"name\n"`` into the catalog (a folder name Delta cannot open; `curata datasets` then failed).
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,127}")
NAME_RULE = "use letters, digits, '_', '.', '-' (at most 128) and start with a letter"


def utcnow() -> datetime:
    return datetime.now(UTC)


def current_user() -> str:
    """Who is acting: ``CURATA_USER`` if set, else the OS user."""
    try:
        return os.environ.get("CURATA_USER") or getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


def new_run_id() -> str:
    return uuid.uuid4().hex


def is_valid_name(name: object) -> bool:
    """Whether ``name`` is a valid dataset or tag name (the whole string, ASCII only)."""
    return isinstance(name, str) and _NAME_RE.fullmatch(name) is not None


def check_name(kind: str, name: str) -> str:
    """Validate a dataset or tag name (letters, digits, ``_.-``; starts with a letter).

    The one validator for names: the CLI, the Python API and the catalog all call it.

    Raises:
        InvalidNameError: anything else, including a trailing newline or Rich markup.
    """
    if not is_valid_name(name):
        raise InvalidNameError(kind, name if isinstance(name, str) else repr(name), rule=NAME_RULE)
    return name


def first_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's first line (Rust errors append their whole backtrace), bounded."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
