"""Pure data helpers behind the pages: refs, filters, search, paging and thumbnails.

Nothing here imports Streamlit, so the logic is tested directly and the pages stay thin.
Filters and search are Polars expressions built from typed widget values; no SQL text is
ever assembled from user input.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl
from curata.errors import UsageError

FilterOp = Literal[
    "equals", "not equals", "contains", "starts with", ">", ">=", "<", "<=", "is null",
    "is not null",
]
FILTER_OPS: tuple[FilterOp, ...] = (
    "equals", "not equals", "contains", "starts with", ">", ">=", "<", "<=", "is null",
    "is not null",
)
_NO_VALUE_OPS = {"is null", "is not null"}
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"RIFF", "image/webp"),
    (b"BM", "image/bmp"),
)


class FilterValueError(UsageError):
    """A filter value that does not fit its column's type."""

    def __init__(self, column: str, *, value: str, dtype: str, op: str) -> None:
        self.column = column
        self.value = value
        self.dtype = dtype
        self.op = op
        super().__init__(
            f"Filter {column} {op} {value!r}: the value is not a valid {dtype}",
            hint=f"Enter a {dtype} value, or use 'contains' to match text",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnFilter:
    """One column filter as chosen in the widgets."""

    column: str
    op: FilterOp
    value: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """One page of rows from a (possibly filtered) snapshot scan."""

    rows: pl.DataFrame
    offset: int
    page_size: int
    total: int

    @property
    def page_count(self) -> int:
        return max(1, -(-self.total // self.page_size))


def is_system(column: str) -> bool:
    return column.startswith("_")


def text_columns(schema: pl.Schema) -> list[str]:
    """Content columns holding text (the full-text search runs over these)."""
    return [c for c, t in schema.items() if not is_system(c) and t == pl.String]


def binary_columns(schema: pl.Schema) -> list[str]:
    return [c for c, t in schema.items() if t == pl.Binary]


def _typed_literal(value: str, dtype: pl.DataType, column: str, op: str) -> pl.Expr:
    """The value as a literal of the column's type; strict so a typo is an error, not a null."""
    if dtype == pl.String:
        return pl.lit(value, dtype=pl.String)
    try:
        if dtype == pl.Boolean:
            lowered = value.strip().lower()
            if lowered not in {"true", "false", "1", "0"}:
                raise ValueError(value)
            return pl.lit(lowered in {"true", "1"})
        cast = pl.Series([value.strip()], dtype=pl.String).cast(dtype, strict=True)
    except (ValueError, pl.exceptions.PolarsError) as exc:
        raise FilterValueError(column, value=value, dtype=str(dtype), op=op) from exc
    return pl.lit(cast[0], dtype=dtype)


def filter_expr(f: ColumnFilter, schema: pl.Schema) -> pl.Expr:
    """Turn one widget filter into a Polars expression over the column it names.

    Raises:
        FilterValueError: the value does not parse as the column's type.
        UsageError: the column is not in the snapshot.
    """
    if f.column not in schema:
        raise UsageError(f"Unknown column {f.column!r}", hint="Pick a column from the list")
    col, dtype = pl.col(f.column), schema[f.column]
    if f.op in _NO_VALUE_OPS:
        return col.is_null() if f.op == "is null" else col.is_not_null()
    if f.op in {"contains", "starts with"}:
        as_text = col if dtype == pl.String else col.cast(pl.String)
        if f.op == "contains":
            return as_text.str.contains(f.value, literal=True)
        return as_text.str.starts_with(f.value)
    lit = _typed_literal(f.value, dtype, f.column, f.op)
    return {
        "equals": col == lit,
        "not equals": col != lit,
        ">": col > lit,
        ">=": col >= lit,
        "<": col < lit,
        "<=": col <= lit,
    }[f.op]


#: Columns the curation quality steps add (curata.quality), filterable on the Browse page.
QUALITY_COLUMNS = ("lang", "quality_issues", "pii", "contaminated")


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityFilter:
    """The Browse page's filters on the quality columns; empty choices filter nothing.

    ``issues``/``pii`` keep records holding any of the chosen values; ``clean_only`` keeps
    records with no quality issue; ``contaminated`` keeps records with that flag.
    """

    langs: tuple[str, ...] = ()
    issues: tuple[str, ...] = ()
    clean_only: bool = False
    pii: tuple[str, ...] = ()
    no_pii: bool = False
    contaminated: bool | None = None


def _any_of(column: str, values: Sequence[str]) -> pl.Expr:
    return pl.col(column).list.eval(pl.element().is_in(list(values))).list.any().fill_null(False)


def quality_expr(q: QualityFilter, schema: pl.Schema) -> pl.Expr | None:
    """The quality filters as one Polars expression (``None`` when nothing is chosen); a
    choice on a column the snapshot lacks is ignored."""
    exprs: list[pl.Expr] = []
    if q.langs and "lang" in schema:
        exprs.append(pl.col("lang").is_in(list(q.langs)))
    if "quality_issues" in schema:
        if q.issues:
            exprs.append(_any_of("quality_issues", q.issues))
        if q.clean_only:
            exprs.append(pl.col("quality_issues").list.len() == 0)
    if "pii" in schema:
        if q.pii:
            exprs.append(_any_of("pii", q.pii))
        if q.no_pii:
            exprs.append(pl.col("pii").list.len() == 0)
    if q.contaminated is not None and "contaminated" in schema:
        exprs.append(pl.col("contaminated") == q.contaminated)
    return pl.all_horizontal(exprs) if exprs else None


def search_expr(query: str, columns: Sequence[str]) -> pl.Expr | None:
    """Case-insensitive literal substring match over text columns (any column matches)."""
    query = query.strip()
    if not query or not columns:
        return None
    needle = query.lower()
    return pl.any_horizontal(
        pl.col(c).str.to_lowercase().str.contains(needle, literal=True).fill_null(False)
        for c in columns
    )


def combine(
    filters: Iterable[ColumnFilter], schema: pl.Schema, search: str = "",
    quality: QualityFilter | None = None,
) -> pl.Expr | None:
    """All filters AND the search AND the quality filters, or ``None`` when nothing narrows
    the scan."""
    exprs = [filter_expr(f, schema) for f in filters]
    q = quality_expr(quality, schema) if quality is not None else None
    if q is not None:
        exprs.append(q)
    found = search_expr(search, text_columns(schema))
    if found is not None:
        exprs.append(found)
    if not exprs:
        return None
    return pl.all_horizontal(exprs)


def read_page(
    lf: pl.LazyFrame, *, page: int, page_size: int, total: int | None, where: pl.Expr | None
) -> Page:
    """Collect one page from a lazy scan; only that slice is materialised.

    Args:
        lf: the snapshot's lazy scan.
        page: zero-based page number (clamped to the last page).
        page_size: rows per page.
        total: the row count when known (the snapshot's, when there is no filter).
        where: filter expression or ``None``.
    """
    scan = lf if where is None else lf.filter(where)
    if total is None:
        total = int(scan.select(pl.len()).collect().item())
    last = max(0, -(-total // page_size) - 1)
    page = min(max(page, 0), last)
    rows = scan.slice(page * page_size, page_size).collect()
    return Page(rows=rows, offset=page * page_size, page_size=page_size, total=total)


def image_mime(data: bytes | None) -> str | None:
    """The MIME type of encoded image bytes, from their magic number."""
    if not data:
        return None
    for magic, mime in _IMAGE_MAGIC:
        if data.startswith(magic):
            if mime == "image/webp" and data[8:12] != b"WEBP":
                continue
            return mime
    return None


def image_columns(rows: pl.DataFrame) -> list[str]:
    """Binary columns whose first non-null value is an encoded image."""
    found = []
    for c in binary_columns(rows.schema):
        values = rows.get_column(c).drop_nulls()
        if len(values) and image_mime(values[0]):
            found.append(c)
    return found


def thumbnail_uri(data: bytes | None, size: int = 96) -> str | None:
    """A small PNG data URI for a grid cell (the full image is never sent for the grid)."""
    if data is None or image_mime(data) is None:
        return None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.thumbnail((size, size))
            buf = io.BytesIO()
            img.convert("RGBA" if img.mode in {"RGBA", "LA", "P"} else "RGB").save(buf, "PNG")
    except (OSError, ValueError):
        return None  # undecodable bytes stay visible as "<N bytes>" in the grid
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _cell(value: Any, limit: int, decode: bool = False) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        if not decode:
            return f"<{len(value)} bytes>"
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, (dict, list)):
        value = json.dumps(value, default=str, ensure_ascii=False)
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def grid_frame(
    rows: pl.DataFrame, *, text_limit: int = 200, decode_binary: bool = False
) -> tuple[pl.DataFrame, list[str]]:
    """Rows made display-safe for the grid: thumbnails for images, short text for the rest.

    Args:
        rows: one page of rows.
        text_limit: characters shown per cell.
        decode_binary: show non-image bytes as UTF-8 text (quarantined raw input) instead of
            their length.

    Returns the frame and the names of the columns that now hold thumbnail data URIs.
    """
    images = image_columns(rows)
    out: dict[str, Any] = {}
    for c in rows.columns:
        values = rows.get_column(c).to_list()
        if c in images:
            out[c] = [thumbnail_uri(v) for v in values]
        elif rows.schema[c] in (pl.String, pl.Binary) or isinstance(
            rows.schema[c], (pl.Struct, pl.List)
        ):
            out[c] = [_cell(v, text_limit, decode_binary) for v in values]
        else:
            out[c] = rows.get_column(c)
    return pl.DataFrame(out), images


def to_records(items: Iterable[Any]) -> list[dict[str, Any]]:
    """Dataclasses / mappings / objects as plain dicts for a table (unknown fields kept)."""
    records = []
    for item in items:
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            rec = {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
        elif isinstance(item, dict):
            rec = dict(item)
        else:
            rec = {k: v for k, v in vars(item).items() if not k.startswith("_")}
        records.append({k: _plain(v) for k, v in rec.items()})
    return records


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    return str(value)


def to_frame(items: Iterable[Any]) -> pl.DataFrame:
    """A small table of catalog objects for display (strings for anything nested)."""
    records = to_records(items)
    if not records:
        return pl.DataFrame()
    return pl.DataFrame(records, infer_schema_length=None, strict=False)
