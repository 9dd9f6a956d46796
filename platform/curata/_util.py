"""Small helpers shared across the core (time, identity, names)."""

from __future__ import annotations

import getpass
import os
import re
import uuid
from datetime import UTC, datetime

from curata.errors import InvalidNameError

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")


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


def check_name(kind: str, name: str) -> str:
    """Validate a dataset or tag name (letters, digits, ``_.-``; starts with a letter)."""
    if not _NAME_RE.match(name):
        raise InvalidNameError(
            kind, name, rule="use letters, digits, '_', '.', '-' and start with a letter"
        )
    return name


def first_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's first line (Rust errors append their whole backtrace), bounded."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
