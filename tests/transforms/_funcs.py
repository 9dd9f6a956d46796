"""Functions registered for `apply` steps in the tests (a real module, so their source hashes)."""

from __future__ import annotations

import polars as pl
from curata.transforms import register


@register("upper_text")
def upper_text(df: pl.DataFrame, *, column: str = "text") -> pl.DataFrame:
    return df.with_columns(pl.col(column).str.to_uppercase())


@register("drop_odd_stars")
def drop_odd_stars(df: pl.DataFrame) -> pl.DataFrame:
    # Drops rows and reorders: system columns must still come back from the input.
    return df.filter(pl.col("stars") % 2 == 0).reverse().select("_id", "text", "stars")


@register("tamper_license")
def tamper_license(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.lit("MIT").alias("_license"))


@register("invent_rows")
def invent_rows(df: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([df, df.head(1).with_columns(pl.lit("f" * 32).alias("_id"))])


@register("explode")
def explode(df: pl.DataFrame) -> pl.DataFrame:
    raise RuntimeError("boom")


SEEN_HEIGHTS: list[int] = []


@register("record_heights")
def record_heights(df: pl.DataFrame) -> pl.DataFrame:
    SEEN_HEIGHTS.append(df.height)
    return df


@register("lowercase_text")
def lowercase_text(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.col("text").str.to_lowercase())
