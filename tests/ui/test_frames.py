"""Filters, search, paging and thumbnails: checked against plain-Python oracles."""

from __future__ import annotations

import polars as pl
import pytest
from curata_ui._frames import (
    ColumnFilter,
    FilterValueError,
    combine,
    filter_expr,
    grid_frame,
    image_mime,
    read_page,
    search_expr,
    thumbnail_uri,
    to_frame,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ui.conftest import png

texts = st.lists(st.one_of(st.none(), st.text(max_size=30)), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(values=texts, query=st.text(min_size=1, max_size=8))
def test_search_matches_python_substring_oracle(values: list[str | None], query: str) -> None:
    df = pl.DataFrame({"text": values}, schema={"text": pl.String})
    expr = search_expr(query, ["text"])
    if not query.strip():
        assert expr is None
        return
    got = df.with_row_index().filter(expr).get_column("index").to_list()
    needle = query.strip().lower()
    want = [i for i, v in enumerate(values) if v is not None and needle in v.lower()]
    assert got == want


@settings(max_examples=150, deadline=None)
@given(values=texts, needle=st.text(max_size=8))
def test_contains_and_equals_filters_match_oracle(values: list[str | None], needle: str) -> None:
    df = pl.DataFrame({"t": values}, schema={"t": pl.String})
    for op, oracle in (
        ("contains", lambda v: v is not None and needle in v),
        ("starts with", lambda v: v is not None and v.startswith(needle)),
        ("equals", lambda v: v == needle),
    ):
        expr = filter_expr(ColumnFilter(column="t", op=op, value=needle), df.schema)
        got = df.with_row_index().filter(expr).get_column("index").to_list()
        assert got == [i for i, v in enumerate(values) if oracle(v)], op


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.integers(-10**6, 10**6)), min_size=1, max_size=40),
       bound=st.integers(-10**6, 10**6))
def test_numeric_comparisons_match_oracle(values: list[int | None], bound: int) -> None:
    df = pl.DataFrame({"n": values}, schema={"n": pl.Int64})
    ops = {">": int.__gt__, ">=": int.__ge__, "<": int.__lt__, "<=": int.__le__,
           "not equals": int.__ne__}
    for op, fn in ops.items():
        expr = filter_expr(ColumnFilter(column="n", op=op, value=f" {bound} "), df.schema)
        got = df.with_row_index().filter(expr).get_column("index").to_list()
        assert got == [i for i, v in enumerate(values) if v is not None and fn(v, bound)], op


@pytest.mark.parametrize("value", ["abc", "1; DROP TABLE records", "1 OR 1=1", "", "1.5"])
def test_untypable_value_raises_filter_value_error(value: str) -> None:
    schema = pl.Schema({"n": pl.Int64})
    with pytest.raises(FilterValueError) as info:
        filter_expr(ColumnFilter(column="n", op="equals", value=value), schema)
    assert info.value.column == "n" and info.value.value == value
    assert info.value.exit_code == 2


def test_unknown_column_is_a_usage_error() -> None:
    from curata.errors import UsageError

    with pytest.raises(UsageError):
        filter_expr(ColumnFilter(column="nope", op="is null"), pl.Schema({"n": pl.Int64}))


def test_combine_ands_filters_and_search_over_text_columns_only() -> None:
    df = pl.DataFrame({"text": ["cat", "dog", "cat dog"], "label": [1, 2, 3],
                       "_source": ["cat", "cat", "cat"]})
    where = combine([ColumnFilter(column="label", op=">=", value="2")], df.schema, "DOG")
    assert df.filter(where).get_column("label").to_list() == [2, 3]
    # System columns are not searched: "cat" only in _source does not match row 2.
    assert df.filter(combine([], df.schema, "cat")).get_column("label").to_list() == [1, 3]
    assert combine([], df.schema, "  ") is None


def test_read_page_slices_and_clamps() -> None:
    lf = pl.LazyFrame({"i": list(range(103))})
    page = read_page(lf, page=2, page_size=50, total=103, where=None)
    assert page.rows.get_column("i").to_list() == [100, 101, 102]
    assert page.page_count == 3 and page.offset == 100
    clamped = read_page(lf, page=99, page_size=50, total=None, where=pl.col("i") < 10)
    assert clamped.total == 10 and clamped.offset == 0 and clamped.rows.height == 10
    empty = read_page(lf, page=0, page_size=50, total=None, where=pl.col("i") < 0)
    assert empty.total == 0 and empty.rows.is_empty() and empty.page_count == 1


def test_thumbnails_are_small_pngs_and_garbage_is_not_an_image() -> None:
    import base64
    import io

    from PIL import Image

    uri = thumbnail_uri(png("red", (800, 600)))
    assert uri is not None and uri.startswith("data:image/png;base64,")
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as img:
        assert max(img.size) <= 96
    assert image_mime(b"not an image") is None
    assert thumbnail_uri(b"\x89PNG\r\n\x1a\n" + b"truncated") is None


def test_grid_frame_truncates_text_and_thumbnails_images() -> None:
    rows = pl.DataFrame({"text": ["x" * 1000], "image": [png("blue")], "blob": [b"\x00\x01"],
                         "n": [1]})
    grid, images = grid_frame(rows, text_limit=50)
    assert images == ["image"]
    assert len(grid["text"][0]) == 50
    assert grid["blob"][0] == "<2 bytes>"
    assert grid["n"][0] == 1
    raw, _ = grid_frame(pl.DataFrame({"raw": [b"{broken \xff"]}), decode_binary=True)
    assert raw["raw"][0] == "{broken \ufffd"


def test_to_frame_keeps_unknown_fields_as_text() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True, slots=True, kw_only=True)
    class V:
        version: int
        meta: dict

    frame = to_frame([V(version=1, meta={"a": 1}), V(version=2, meta={})])
    assert frame.get_column("version").to_list() == [1, 2]
    assert frame.get_column("meta").to_list() == ['{"a": 1}', "{}"]
