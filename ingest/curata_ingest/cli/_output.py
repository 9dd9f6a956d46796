"""Printing: JSON for scripts (``--json``), rich tables for people.

Values from users and data (dataset, tag and file names, refs, licenses, error messages) are
printed literally: the consoles have Rich markup and emoji codes off, the few styled lines go through
:func:`styled`, which escapes every value it is given. A name like ``x[/x]`` can never raise
``MarkupError`` or swallow part of a message.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import textwrap
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

console = Console(highlight=False, markup=False, emoji=False)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q",
                                        help="No progress bar and no summary (errors still print).")]


def typer_app(**options: Any) -> typer.Typer:
    """A Typer app with Curata's defaults.

    Help is Click's plain formatter (``rich_markup_mode=None``): Rich's option panels squeeze
    and cut option names to fit narrow terminals (``--max-reject-r…`` at 80 columns), Click's
    layout always prints them whole and wraps only the help text.
    """
    defaults: dict[str, Any] = dict(rich_markup_mode=None, pretty_exceptions_enable=False,
                                    add_completion=False)
    return typer.Typer(**{**defaults, **options})


def styled(template: str, /, **values: object) -> Text:
    """Rich markup ``template`` with ``{name}`` fields filled by escaped ``values``.

    Example:
        >>> styled("[bold]{ref}[/] tagged", ref="x[/x]").plain
        'x[/x] tagged'
    """
    return Text.from_markup(template.format(**{k: escape(str(v)) for k, v in values.items()}),
                            emoji=False)


def _default(o: Any) -> Any:
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return {f.name: getattr(o, f.name) for f in dataclasses.fields(o)
                if f.name not in ("catalog", "storage_options")}
    if isinstance(o, (datetime, date)):
        return o.isoformat()
    if isinstance(o, bytes):
        return f"<{len(o)} bytes>"
    if hasattr(o, "to_dict"):
        return o.to_dict()
    return str(o)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=_default, indent=None) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    console.print(t)


def entries(columns: Sequence[str], rows: Sequence[tuple[Sequence[Any], str]]) -> None:
    """A log-style listing (`curata runs`, `curata audit`): short fields in aligned columns on
    one line, then the entry's details indented below, wrapped to the terminal. Readable at
    80 columns however long the details are (a 7-column table leaves them 5 characters)."""
    cells = [["" if v is None else str(v) for v in fields] for fields, _ in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    console.print(Text("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
                       .rstrip(), style="bold"))
    for fields, (_, details) in zip(cells, rows, strict=True):
        console.print("  ".join(f.ljust(w) for f, w in zip(fields, widths, strict=True)).rstrip())
        if details:
            console.print(textwrap.fill(details, width=max(console.width, 40),
                                        initial_indent="    ", subsequent_indent="    ",
                                        break_on_hyphens=False), soft_wrap=True)


def line(text: str) -> None:
    """One plain line (a command to copy, a fingerprint): the terminal wraps it, not Rich."""
    console.print(text, soft_wrap=True)


def show_progress(quiet: bool) -> bool:
    """Progress bars only on a terminal and without --quiet/--json."""
    return not quiet and sys.stderr.isatty()


def when(at: datetime | None, *, seconds: bool = True) -> str:
    """A timestamp as tables show it (to the second, or the minute)."""
    return "" if at is None else at.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def summarize(details: Mapping[str, Any] | None, *, max_value: int = 40) -> str:
    """``k=v`` pairs for a table cell: nested values flattened, long ones cut, empty ones left
    out (``{"rows": 3, "sources": ["a.jsonl"], "reasons": {"bad_json": 1}}`` →
    ``rows=3 sources=a.jsonl reasons=bad_json:1``)."""
    parts = []
    for key, value in (details or {}).items():
        if value is None or value == "" or (isinstance(value, (list, tuple, dict)) and not value):
            continue
        parts.append(f"{key}={_short(value, max_value)}")
    return " ".join(parts)


def _short(value: Any, max_value: int) -> str:
    if isinstance(value, dict):
        text = ",".join(f"{k}:{_short(v, max_value)}" for k, v in value.items()
                        if v not in (None, "", [], {}))
    elif isinstance(value, (list, tuple)):
        shown = [_short(v, max_value) for v in value[:3]]
        text = ",".join(shown) + (f",…({len(value)})" if len(value) > 3 else "")
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        text = value[:16]  # a fingerprint: the prefix `NAME@fp:PREFIX` takes
    else:
        text = str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= max_value else text[: max_value - 1] + "…"
