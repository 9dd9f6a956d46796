"""The one place where exceptions become exit codes and one-line messages (like the `hf` CLI).

Exit codes: 0 success; 1 unexpected error; 2 bad usage or input; 3 not found; 4 integrity
(verify failed, fingerprint mismatch); 5 conflict (tag exists, commit conflict, old catalog
schema); 6 policy (license gate, reject ratio); 7 external system (source, storage, Label Studio).
Tracebacks only with ``CURATA_DEBUG=1``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from curata.errors import CurataError
from rich.console import Console
from rich.markup import escape

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 unexpected error, 2 bad usage/input, 3 not found, 4 integrity "
    "(verify failed), 5 conflict, 6 policy (license gate, reject ratio), 7 external system. "
    "Set CURATA_DEBUG=1 for tracebacks."
)

# Markup and emoji codes off: messages carry user values (names, refs, paths) that must print
# literally.
err_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)


def error_line(exc: BaseException, label: str = "error") -> str:
    """``error: MESSAGE`` as Rich markup, the message escaped (print with ``markup=True``)."""
    return f"[bold red]{label}:[/] {escape(str(exc))}"


def debug() -> bool:
    return os.environ.get("CURATA_DEBUG", "") not in ("", "0", "false")


def run(app: Callable[..., Any]) -> None:
    """Run a Typer app, turning Curata errors into one line and an exit code."""
    try:
        app()
    except CurataError as exc:
        if debug():
            raise
        if "--json" in sys.argv:
            print(json.dumps(exc.to_dict(), default=str))
        err_console.print(error_line(exc), markup=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if debug():
            raise
        err_console.print(
            f"[bold red]unexpected error:[/] {escape(f'{type(exc).__name__}: {exc}')}. "
            "Run again with CURATA_DEBUG=1 for a traceback.", markup=True)
        sys.exit(1)
