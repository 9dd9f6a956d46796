"""Catalog.derive on a real SQLite catalog and Delta warehouse: one commit, system columns
carried, cached re-derives, recomputation on change, nothing committed on failure."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pytest
from curata import errors
from curata import fingerprint as fp
from curata.transforms import (
    Apply,
    Dedup,
    DeriveTargetError,
    Filter,
    Join,
    Pipeline,
    Sample,
    Split,
    StepFailedError,
)

from tests.transforms.conftest import reviews

CLEAN = Pipeline([Filter("length(text) >= 20"), Dedup(),
                  Split({"train": 0.8, "val": 0.1, "test": 0.1})])


def versions(cat, name: str) -> list[int]:
    return sorted(v.version for v in cat.versions(name))


def test_derive_commits_one_version_and_matches_a_polars_oracle(corpus) -> None:
    src = corpus.snapshot("reviews@v1")
    res = corpus.derive("reviews@v1", CLEAN, into="clean", tag="c1")
    assert res.status == "committed" and res.snapshot.ref == "clean@c1"
    assert versions(corpus, "clean") == [0]
    out = res.snapshot.to_polars()
    assert isinstance(out, pl.DataFrame)
    want = src.to_polars().filter(pl.col("text").str.len_chars() >= 20)
    assert sorted(out["_id"]) == sorted(want["_id"].unique())
    assert res.stats["rows_in"] == 3000 and res.stats["rows_out"] == out.height
    # a re-read of the committed files gives the recorded fingerprint
    assert res.snapshot.verify().ok
    assert res.snapshot.fingerprint == fp.snapshot_fingerprint(res.snapshot.to_arrow(),
                                                               schema=res.snapshot.schema)


def test_system_columns_are_carried_through_and_ids_follow_content(corpus) -> None:
    src = corpus.snapshot("reviews@v1").to_polars()
    pipe = Pipeline([Filter("stars >= 2"), Apply("upper_text"), Sample(0.5, seed=3)])
    out = corpus.derive("reviews@v1", pipe, into="loud").snapshot.to_polars()
    system = ["_source", "_license", "_provenance"]
    joined = out.select(system).join(src.select(system), on=system, how="anti")
    assert joined.height == 0  # every output row's system columns exist verbatim in the input
    assert set(out["_license"]) == {"CC-BY-4.0", "CC0-1.0"}
    assert all(t == t.upper() for t in out["text"])
    # `_id` is the hash of the content the record now holds, not of the row it came from.
    content = out.select([c for c in out.columns if not c.startswith("_")]).to_arrow()
    assert out["_id"].to_list() == fp.record_ids(content).to_pylist()
    assert out.join(src.select("_id"), on="_id", how="semi").height == 0


def test_dedup_after_a_content_change_sees_the_new_content(cat) -> None:
    """`apply: lowercase` then `dedup` keeps one of "Hello world", "hello world", "HELLO WORLD"
    (the input ids once carried through made them three distinct records)."""
    cat.append("greet", pa.table({"text": ["Hello world", "hello world", "HELLO WORLD", "x"]}),
               license="CC0-1.0", source="s")
    res = cat.derive("greet", [Apply("lowercase_text"), Dedup()], into="greet-clean")
    out = res.snapshot.to_arrow()
    assert sorted(out.column("text").to_pylist()) == ["hello world", "x"]
    assert out.column("_id").to_pylist() == fp.record_ids(out.select(["text"])).to_pylist()
    assert res.snapshot.verify().ok


def test_rederive_is_a_noop(corpus) -> None:
    first = corpus.derive("reviews@v1", CLEAN, into="clean")
    again = corpus.derive("reviews@v1", CLEAN, into="clean")
    by_version = corpus.derive("reviews@1", CLEAN, into="clean")  # same data, another ref
    assert again.status == by_version.status == "unchanged"
    assert again.snapshot.fingerprint == first.snapshot.fingerprint
    assert versions(corpus, "clean") == [0]
    assert again.transform_fingerprint == first.transform_fingerprint


def test_changed_step_or_input_recomputes(corpus) -> None:
    a = corpus.derive("reviews@v1", CLEAN, into="clean")
    other = Pipeline([Filter("length(text) >= 25"), Dedup(),
                      Split({"train": 0.8, "val": 0.1, "test": 0.1})])
    b = corpus.derive("reviews@v1", other, into="clean")
    assert b.status == "committed" and b.snapshot.version == 1
    assert b.snapshot.num_rows < a.snapshot.num_rows
    corpus.append("reviews", reviews(100, 5000), license="CC0-1.0", source="site-c")
    c = corpus.derive("reviews", other, into="clean")
    assert c.status == "committed" and c.snapshot.version == 2
    assert c.transform_fingerprint != b.transform_fingerprint
    # asking for the first derivation again restores it without recomputing
    d = corpus.derive("reviews@v1", CLEAN, into="clean")
    assert d.status == "restored" and d.snapshot.version == 3
    assert d.snapshot.fingerprint == a.snapshot.fingerprint and d.snapshot.verify().ok
    assert corpus.derive("reviews@v1", CLEAN, into="clean").status == "unchanged"


def test_splits_stay_stable_when_rows_are_added(corpus) -> None:
    split = Pipeline([Split({"train": 0.8, "val": 0.1, "test": 0.1})])
    before = corpus.derive("reviews@v1", split, into="split").snapshot.to_polars()
    corpus.append("reviews", reviews(700, 9000), license="CC0-1.0", source="site-c")
    after = corpus.derive("reviews", split, into="split").snapshot.to_polars()
    assert after.height == before.height + 700
    pairs = before.select("_id", "split").join(after.select("_id", "split"), on="_id")
    assert pairs.height >= before["_id"].n_unique()
    assert (pairs["split"] == pairs["split_right"]).all()


def test_join_with_another_snapshot_is_an_input(corpus) -> None:
    src = corpus.snapshot("reviews@v1").to_polars()
    uniq = sorted(set(src["_id"]))
    labels = pa.table({"review_id": uniq[:100],
                       "label": ["pos" if i % 2 else "neg" for i in range(100)]})
    lab = corpus.append("labels", labels, license="CC0-1.0", source="annotators")
    pipe = Pipeline([Dedup(), Join("labels", right_on="review_id", how="inner",
                                   columns=["label"])])
    res = corpus.derive("reviews@v1", pipe, into="labelled")
    out = res.snapshot.to_polars()
    want = (src.unique(subset="_id").join(pl.from_arrow(labels), left_on="_id",
                                          right_on="review_id"))
    assert dict(out.select("_id", "label").iter_rows()) == dict(
        want.select("_id", "label").iter_rows())
    assert [(i["role"], i["fingerprint"]) for i in res.inputs] == [
        ("source", corpus.snapshot("reviews@v1").fingerprint), ("join", lab.fingerprint)]
    # new labels change an input: the derivation is recomputed
    corpus.append("labels", pa.table({"review_id": uniq[100:110], "label": ["pos"] * 10}),
                  license="CC0-1.0", source="annotators")
    again = corpus.derive("reviews@v1", pipe, into="labelled")
    assert again.status == "committed" and again.snapshot.num_rows == 110
    dup = pa.table({"review_id": uniq[:2] + uniq[:1], "label": ["a", "b", "c"]})
    corpus.append("dups", dup, license="CC0-1.0", source="annotators")
    with pytest.raises(errors.UsageError):
        corpus.derive("reviews@v1", Pipeline([Join("dups", right_on="review_id")]), into="d")


def test_failed_step_commits_nothing(corpus) -> None:
    with pytest.raises(StepFailedError) as info:
        corpus.derive("reviews@v1", Pipeline([Filter("stars > 1"), Apply("explode")]),
                      into="broken")
    assert info.value.index == 1
    with pytest.raises(errors.SnapshotNotFoundError):
        corpus.snapshot("broken")
    runs = corpus.runs("broken")
    assert [r.status for r in runs] == ["failed"]


def test_empty_result_is_a_version_with_no_rows(corpus) -> None:
    res = corpus.derive("reviews@v1", Pipeline([Filter("stars > 100")]), into="none")
    assert res.status == "committed" and res.snapshot.num_rows == 0
    assert "text" in res.snapshot.schema.names and res.snapshot.verify().ok


def test_refuses_targets_it_did_not_derive(corpus) -> None:
    with pytest.raises(DeriveTargetError):
        corpus.derive("reviews@v1", CLEAN, into="reviews")
    corpus.append("other", reviews(5), license="MIT", source="s")
    with pytest.raises(DeriveTargetError) as info:
        corpus.derive("reviews@v1", CLEAN, into="other")
    assert info.value.dataset == "other" and info.value.exit_code == 5
    assert versions(corpus, "other") == [0]


def test_derived_from_is_recorded_for_governance(corpus) -> None:
    res = corpus.derive("reviews@v1", CLEAN, into="clean")
    rec = corpus.store.version_record("clean", res.snapshot.version)
    assert rec is not None and rec.operation == "derive"
    derived_from = rec.derived_from
    src = corpus.snapshot("reviews@v1")
    assert derived_from == [{"ref": "reviews@v1", "fingerprint": src.fingerprint,
                             "kind": "derive", "details": {
                                 "transform_fingerprint": res.transform_fingerprint,
                                 "role": "source", "steps": ["filter", "dedup", "split"]}}]


def test_derive_streams_in_bounded_batches(corpus) -> None:
    from curata.transforms import derive

    from tests.transforms import _funcs

    _funcs.SEEN_HEIGHTS.clear()
    res = derive(corpus.store, corpus.snapshot("reviews@v1"), Pipeline([Apply("record_heights")]),
                 into="streamed", batch_size=400)
    assert res.snapshot.num_rows == 3000
    assert len(_funcs.SEEN_HEIGHTS) >= 3000 // 400 and max(_funcs.SEEN_HEIGHTS) <= 400


def test_a_new_version_may_change_the_schema(corpus) -> None:
    from curata.transforms import Select

    corpus.derive("reviews@v1", CLEAN, into="clean")
    slim = corpus.derive("reviews@v1", Pipeline([Select(["text"])]), into="clean").snapshot
    assert [n for n in slim.schema.names if not n.startswith("_")] == ["text"]
    assert "split" in corpus.snapshot("clean@0").schema.names and slim.verify().ok


def test_public_names() -> None:
    import curata.transforms as t

    # names load lazily (PEP 562): dir() lists them, each resolves, none is a submodule
    assert sorted(t.__all__) == sorted(n for n in dir(t) if not n.startswith("_"))
    values = {n: getattr(t, n) for n in t.__all__}
    assert not [n for n, v in values.items() if type(v).__name__ == "module"]
    assert callable(t.derive) and callable(t.lineage)


def test_same_work_gives_the_same_snapshot_fingerprint(corpus) -> None:
    from curata.transforms import derive

    a = derive(corpus.store, corpus.snapshot("reviews@v1"), CLEAN, into="a", batch_size=256).snapshot
    b = derive(corpus.store, corpus.snapshot("reviews@1"), CLEAN, into="b", batch_size=100_000).snapshot
    assert a.fingerprint == b.fingerprint and a.num_rows == b.num_rows


def test_edited_function_recomputes(corpus, tmp_path, monkeypatch) -> None:
    import importlib
    import sys
    import textwrap

    mod = tmp_path / "edited_steps.py"
    body = """
        import polars as pl
        from curata.transforms import register

        @register("shorten")
        def shorten(df):
            return df.with_columns(pl.col("text").str.slice(0, {n}))
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    mod.write_text(textwrap.dedent(body.format(n=8)))
    importlib.import_module("edited_steps")
    pipe = Pipeline([Apply("shorten")])
    first = corpus.derive("reviews@v1", pipe, into="short")
    assert corpus.derive("reviews@v1", pipe, into="short").status == "unchanged"
    mod.write_text(textwrap.dedent(body.format(n=12)))
    importlib.reload(sys.modules["edited_steps"])
    second = corpus.derive("reviews@v1", pipe, into="short")
    assert second.status == "committed"
    assert second.transform_fingerprint != first.transform_fingerprint
    assert max(len(t) for t in second.snapshot.to_polars()["text"]) == 12
