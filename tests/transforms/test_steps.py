"""Each step on in-memory frames, against Polars written by hand as the oracle."""

from __future__ import annotations

import math
import random

import polars as pl
import pyarrow as pa
import pytest
from curata import fingerprint as fp
from curata.transforms import (
    Apply,
    Dedup,
    Filter,
    NearDedup,
    Pipeline,
    PipelineError,
    Rename,
    Sample,
    Select,
    Split,
    StepFailedError,
)
from curata.transforms.steps import Context
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transforms.conftest import reviews


def frame(n: int = 200, start: int = 0, source: str = "src-a") -> pl.DataFrame:
    t = reviews(n, start)
    df = pl.from_arrow(t)
    return df.with_columns(
        _id=pl.Series(fp.record_ids(t).to_pylist(), dtype=pl.String),
        _source=pl.lit(source), _license=pl.lit("CC0-1.0"),
        _provenance=pl.struct(uri=pl.lit("file:///x"),
                              locator=pl.int_range(pl.len()).cast(pl.String)),
    ).select("_id", "_source", "_license", "_provenance", "text", "stars", "lang")


def run(pipeline: Pipeline, *frames: pl.DataFrame) -> pl.DataFrame:
    out = list(pipeline.run(lambda: iter(frames), Context()))
    return pl.concat(out) if out else pl.DataFrame()


def test_sql_filter_matches_polars_oracle() -> None:
    df = frame(500)
    got = run(Pipeline([Filter("length(text) > 20 AND lang = 'en' AND stars >= 3")]), df)
    want = df.filter((pl.col("text").str.len_chars() > 20) & (pl.col("lang") == "en")
                     & (pl.col("stars") >= 3))
    assert got.equals(want)


def test_polars_expression_filter_and_serialised_roundtrip() -> None:
    step = Filter(pl.col("stars") > 3)
    rebuilt = Pipeline.from_dict(Pipeline([step]).to_dict())
    assert rebuilt.canonical() == Pipeline([step]).canonical()
    df = frame(100)
    assert run(rebuilt, df).equals(df.filter(pl.col("stars") > 3))


def test_bad_sql_is_a_pipeline_error() -> None:
    with pytest.raises(PipelineError) as info:
        Filter("length(text >")
    assert info.value.kind == "filter"


def test_select_keeps_system_columns_and_rename_refuses_them() -> None:
    df = frame(10)
    got = run(Pipeline([Select(["stars", "text"]), Rename({"stars": "rating"})]), df)
    assert got.columns == ["_id", "_source", "_license", "_provenance", "rating", "text"]
    with pytest.raises(PipelineError):
        Rename({"_license": "lic"})
    with pytest.raises(PipelineError):
        Rename({"text": "_text"})


def test_apply_carries_system_columns_by_id() -> None:
    df = frame(50)
    got = run(Pipeline([Apply("drop_odd_stars")]), df)
    want = df.filter(pl.col("stars") % 2 == 0).reverse().drop("lang")
    # The content changed (`lang` dropped): `_id` is recomputed from what is left; the other
    # system columns come from the input row.
    content = want.select([c for c in want.columns if not c.startswith("_")]).to_arrow()
    want = want.with_columns(pl.Series("_id", fp.record_ids(content), dtype=pl.String))
    assert got.sort("_id").equals(want.sort("_id"))
    # whatever the function does to _license, the input's value comes through
    assert run(Pipeline([Apply("tamper_license")]), df)["_license"].equals(df["_license"])


def test_apply_gives_each_copy_of_a_record_its_own_system_columns() -> None:
    """A record from two sources in one batch: filtered and reversed by the function, each
    copy keeps its own `_source` (once, all took the first copy's: a license could change
    with the batch boundaries)."""
    df = pl.concat([frame(40, source="src-a"), frame(40, source="src-b")])
    got = run(Pipeline([Apply("drop_odd_stars")]), df)
    want = run(Pipeline([Apply("drop_odd_stars")]), df.head(40), df.tail(40))
    key = ["_id", "_source"]
    assert got.select(key).sort(key).equals(want.select(key).sort(key))
    assert got.group_by("_source").len().sort("_source")["len"].to_list() == [
        want.height // 2] * 2


def test_apply_cannot_invent_rows_and_errors_name_the_step() -> None:
    with pytest.raises(StepFailedError) as info:
        run(Pipeline([Apply("invent_rows")]), frame(5))
    assert info.value.step == "apply:invent_rows"
    with pytest.raises(StepFailedError) as info:
        run(Pipeline([Select(["text"]), Apply("explode")]), frame(5))
    assert info.value.index == 1 and "boom" in info.value.reason


def test_split_fractions_are_close_to_requested() -> None:
    df = frame(20_000)
    got = run(Pipeline([Split({"train": 0.8, "val": 0.1, "test": 0.1})]), df)
    counts = dict(got.group_by("split").len().iter_rows())
    n = df.height
    for name, p in {"train": 0.8, "val": 0.1, "test": 0.1}.items():
        sigma = math.sqrt(n * p * (1 - p))
        assert abs(counts[name] - n * p) < 5 * sigma, (name, counts)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 5000), st.integers(1, 300), st.integers(0, 300), st.integers(0, 9))
def test_split_and_sample_are_stable_when_rows_are_added(start, n, extra, seed) -> None:
    base, more = frame(n, start), frame(extra, start + n + 10_000)
    pipe = Pipeline([Split({"train": 0.7, "val": 0.2, "test": 0.1}, seed=seed)])
    before = dict(run(pipe, base).select("_id", "split").iter_rows())
    after = dict(run(pipe, base, more).select("_id", "split").iter_rows())
    assert all(after[k] == v for k, v in before.items())
    sample = Pipeline([Sample(0.3, seed=seed)])
    small = set(run(sample, base)["_id"]) if base.height else set()
    grown = set(run(sample, more, base)["_id"])
    assert small == grown & set(base["_id"])


def test_split_keep_and_sample_superset_and_seed() -> None:
    df = frame(2000)
    train = run(Pipeline([Split({"train": 0.8, "test": 0.2}, keep="train")]), df)
    assert set(train["split"]) == {"train"} and 0.7 < train.height / 2000 < 0.9
    s10 = set(run(Pipeline([Sample(0.1, seed=7)]), df)["_id"])
    s50 = set(run(Pipeline([Sample(0.5, seed=7)]), df)["_id"])
    other = set(run(Pipeline([Sample(0.1, seed=8)]), df)["_id"])
    assert s10 <= s50 and s10 != other
    with pytest.raises(PipelineError):
        Split({"train": 0.8, "test": 0.3})


def test_exact_dedup_is_independent_of_order_and_batches() -> None:
    a = frame(300, 0, "src-a")
    b = frame(300, 150, "src-b")  # 150 rows of the same content from another source
    pipe = Pipeline([Dedup()])
    first = run(pipe, a, b).sort("_id")
    rows = pl.concat([a, b]).sample(fraction=1.0, shuffle=True, seed=3)
    shuffled = run(pipe, *rows.iter_slices(37)).sort("_id")
    assert first.equals(shuffled)
    assert first.height == pl.concat([a, b])["_id"].n_unique() == 450


def test_near_dedup_drops_near_copies_deterministically() -> None:
    words = [f"w{i}" for i in range(60)]
    texts = [" ".join(random.Random(k).sample(words, 40)) for k in range(30)]
    near = [t + " extra" for t in texts[:10]]  # one word appended: Jaccard ~0.95
    t = pa.table({"text": texts + near})
    df = pl.from_arrow(t).with_columns(
        _id=pl.Series(fp.record_ids(t).to_pylist()), _source=pl.lit("s"), _license=pl.lit("MIT"),
        _provenance=pl.struct(uri=pl.lit("u"))).select("_id", "_source", "_license",
                                                      "_provenance", "text")
    pipe = Pipeline([NearDedup(column="text", threshold=0.8)])
    out = run(pipe, df)
    assert out.height == 30
    again = run(pipe, *df.reverse().iter_slices(7))
    assert set(out["_id"]) == set(again["_id"])
