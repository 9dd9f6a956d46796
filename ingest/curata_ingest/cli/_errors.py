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

import typer
from curata import interrupt
from curata.errors import CurataError
from rich.console import Console
from rich.markup import escape
from typer import Abort

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 unexpected error, 2 bad usage/input, 3 not found, 4 integrity "
    "(verify failed), 5 conflict, 6 policy (license gate, reject ratio), 7 external system. "
    "Set CURATA_DEBUG=1 for tracebacks."
)

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
# Typer vendors Click and exports only some of its exceptions: the base class of its usage
# errors ("No such option", a missing argument) is found from one it does export.
ClickException: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def debug() -> bool:
    return os.environ.get("CURATA_DEBUG", "") not in ("", "0", "false")


def run(app: Callable[..., Any]) -> None:
    """Run a Typer app, turning Curata errors into one line and an exit code.

    Ctrl-C and SIGTERM cancel (``curata.interrupt``): the command stops before its commit,
    says so in one line and exits 130; one that arrives during a commit lets it finish.
    """
    interrupt.install()
    json_mode = "--json" in sys.argv
    try:
        code = app(standalone_mode=False)
    except CurataError as exc:
        if debug():
            raise
        _error_line(exc.to_dict(), str(exc), json_mode)
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, Abort):
        code = 130
    except ClickException as exc:  # usage errors: bad option, missing argument
        _error_line({"error": "UsageError", "message": exc.format_message(), "hint": _usage(exc)},
                    f"{exc.format_message()}. {_usage(exc)}", json_mode)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if debug():
            raise
        err_console.print(
            f"[bold red]unexpected error:[/] {escape(type(exc).__name__)}: {escape(str(exc))}. "
            "Run again with CURATA_DEBUG=1 for a traceback.", markup=True)
        sys.exit(1)
    code = code if isinstance(code, int) else 0
    if code == 130:  # Typer turns the KeyboardInterrupt of a command into Exit(130)
        _cancelled(json_mode)
    elif interrupt.late():
        err_console.print("interrupted during the commit, which completed: the new version is "
                          "committed", markup=False)
        code = 130
    sys.exit(code)


def _error_line(obj: dict[str, Any], text: str, json_mode: bool) -> None:
    if json_mode:
        print(json.dumps(obj, default=str))
    err_console.print(f"[bold red]error:[/] {escape(text)}", markup=True)


def _usage(exc: Exception) -> str:
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "curata"
    return f"Run `{command} --help` for the options"


def _cancelled(json_mode: bool) -> None:
    if json_mode:
        print(json.dumps({"status": "cancelled", "error": {"error": "Cancelled",
                          "message": "cancelled by the user; nothing was committed"}}))
    err_console.print("cancelled: nothing was committed", markup=False)
