"""Active-learning selection: strategy scores against oracles, ordering and determinism
(hypothesis), diverse picks against scikit-learn's k-means, `--into` lineage, the CLI."""

from __future__ import annotations

import json

import curata
import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from curata_labeling.cli import app
from curata_labeling.select import (
    POOL_FACTOR,
    SelectionInputError,
    SelectParams,
    informativeness,
    pick,
    random_scores,
    select,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import entropy as scipy_entropy
from typer.testing import CliRunner


def _probs(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return rng.dirichlet(np.ones(k), size=n)


def _frame(p: np.ndarray, ids: list[str] | None = None, **extra) -> pl.DataFrame:
    ids = ids or [f"{i:032x}" for i in range(len(p))]
    return pl.DataFrame({"_id": ids, "probs": p.tolist(), **extra})


def test_scores_match_their_definitions():
    p = _probs(np.random.default_rng(1), 500, 4)
    top = np.sort(p, axis=1)[:, ::-1]
    np.testing.assert_allclose(informativeness(p, "uncertainty"), 1 - p.max(axis=1))
    np.testing.assert_allclose(informativeness(p, "margin"), -(top[:, 0] - top[:, 1]))
    np.testing.assert_allclose(informativeness(p, "entropy"), scipy_entropy(p, axis=1), atol=1e-12)


def test_entropy_treats_zero_probabilities_as_zero_terms():
    p = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    np.testing.assert_allclose(informativeness(p, "entropy"), [0.0, np.log(2)])


probs_matrices = st.integers(2, 5).flatmap(
    lambda k: arrays(np.float64, st.tuples(st.integers(1, 40), st.just(k)),
                     elements=st.floats(0.01, 1.0)).map(lambda a: a / a.sum(axis=1, keepdims=True))
)


@settings(max_examples=60, deadline=None)
@given(p=probs_matrices, n=st.integers(1, 50),
       strategy=st.sampled_from(["uncertainty", "margin", "entropy"]), data=st.data())
def test_pick_is_the_sorted_top_n_and_ignores_row_order(p, n, strategy, data):
    frame = _frame(p)
    picks, candidates = pick(frame, SelectParams(scores="probs", strategy=strategy, n=n))
    scores = informativeness(p, strategy)
    oracle = sorted(zip(frame["_id"], scores, strict=True), key=lambda t: (-t[1], t[0]))[:n]
    assert candidates == len(p)
    assert [(x.record_id, x.score) for x in picks] == [(i, pytest.approx(s)) for i, s in oracle]
    perm = data.draw(st.permutations(range(len(p))))
    shuffled = frame[list(perm)]
    again, _ = pick(shuffled, SelectParams(scores="probs", strategy=strategy, n=n))
    assert again == picks


@settings(max_examples=30, deadline=None)
@given(n_rows=st.integers(1, 60), n=st.integers(1, 20), seed=st.integers(0, 2**31))
def test_random_is_deterministic_per_seed_and_independent_of_other_rows(n_rows, n, seed):
    p = _probs(np.random.default_rng(0), n_rows, 3)
    frame = _frame(p)
    params = SelectParams(scores="probs", strategy="random", n=n, seed=seed)
    first, _ = pick(frame, params)
    assert first == pick(frame.reverse(), params)[0]
    assert all(0 <= x.score < 1 for x in first)
    # a record's draw does not depend on which other records exist
    alone = random_scores(frame["_id"][:1], seed)[0]
    assert alone == pytest.approx(random_scores(frame["_id"], seed)[0])


def test_random_seeds_differ_and_are_uniform():
    ids = pl.Series([f"{i:032x}" for i in range(20_000)])
    a, b = random_scores(ids, 1), random_scores(ids, 2)
    assert not np.allclose(a, b)
    assert abs(a.mean() - 0.5) < 0.01 and a.min() >= 0 and a.max() < 1


def test_ties_are_broken_by_id_and_nulls_are_no_candidates():
    p = np.array([[0.5, 0.5]] * 4 + [[0.9, 0.1]])
    ids = ["d", "b", "c", "a", "e"]
    frame = pl.DataFrame({"_id": ids + ["f"], "probs": p.tolist() + [None]})
    picks, candidates = pick(frame, SelectParams(scores="probs", strategy="margin", n=3))
    assert candidates == 5
    assert [x.record_id for x in picks] == ["a", "b", "c"]


def test_diverse_takes_the_best_of_each_kmeans_cluster():
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(7)
    centers = np.array([[0, 0], [20, 0], [0, 20], [20, 20]], dtype=float)
    emb = np.vstack([c + rng.normal(size=(50, 2)) for c in centers])
    p = _probs(rng, 200, 3)
    frame = _frame(p, emb=emb.tolist())
    n, seed = 4, 3
    picks, _ = pick(frame, SelectParams(scores="probs", strategy="entropy", n=n, seed=seed,
                                        diverse=True, embedding="emb"))
    # oracle: the POOL_FACTOR * n most informative, k-means on them, best of each cluster
    scores = informativeness(p, "entropy")
    ids = frame["_id"].to_numpy()
    order = np.lexsort((ids, -scores))[: POOL_FACTOR * n]
    labels = KMeans(n_clusters=n, random_state=seed, n_init=3).fit_predict(emb[order])
    best = {}
    for i, g in zip(order, labels, strict=True):
        best.setdefault(g, i)
    expected = sorted(best.values(), key=lambda i: (-scores[i], ids[i]))
    assert [x.record_id for x in picks] == [ids[i] for i in expected]
    assert len({tuple(np.round(emb[ids.tolist().index(x.record_id)] / 10)) for x in picks}) == 4
    plain, _ = pick(frame, SelectParams(scores="probs", strategy="entropy", n=n))
    assert picks != plain or len(set(labels)) == 1


def test_diverse_minhash_never_picks_two_near_duplicates_while_others_remain():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**40, size=(5, 64))
    sigs, p = [], []
    for g in range(5):
        for j in range(4):  # four near-duplicates per group: same first band
            s = base[g].copy()
            s[8:] = rng.integers(0, 2**40, size=56) if j else s[8:]
            sigs.append(s.tolist())
            p.append([0.5 - 0.01 * g - 0.001 * j, 0.5 + 0.01 * g + 0.001 * j])
    frame = _frame(np.array(p), sig=sigs)
    picks, _ = pick(frame, SelectParams(scores="probs", strategy="margin", n=5, diverse=True,
                                        embedding="sig"))
    groups = {int(frame["_id"].to_list().index(x.record_id)) // 4 for x in picks}
    assert groups == set(range(5))
    top5, _ = pick(frame, SelectParams(scores="probs", strategy="margin", n=5))
    assert len({frame["_id"].to_list().index(x.record_id) // 4 for x in top5}) < 5


@pytest.mark.parametrize(
    ("probs", "reason"),
    [
        ([[0.5, 0.6]], "sum"),
        ([[1.0]], "two classes"),
        ([[0.5, 0.5], [0.2, 0.3, 0.5]], "rows hold"),
        ([[-0.5, 1.5]], ">= 0"),
    ],
)
def test_bad_probabilities_are_refused(probs, reason):
    frame = pl.DataFrame({"_id": [str(i) for i in range(len(probs))], "probs": probs})
    with pytest.raises(SelectionInputError) as err:
        pick(frame, SelectParams(scores="probs", strategy="entropy", n=1))
    assert err.value.column == "probs" and reason in err.value.reason


def test_bad_parameters_are_refused():
    frame = _frame(_probs(np.random.default_rng(0), 3, 2))
    for params in (
        SelectParams(scores="probs", strategy="confidence", n=1),
        SelectParams(scores="probs", strategy="entropy", n=0),
        SelectParams(scores="probs", strategy="entropy", n=1, diverse=True),
    ):
        with pytest.raises(SelectionInputError):
            pick(frame, params)


def _dataset(cat, name="pool", n=120, seed=0):
    rng = np.random.default_rng(seed)
    table = pa.table({
        "text": [f"record {i}" for i in range(n)],
        "probs": _probs(rng, n, 3).tolist(),
        "emb": rng.normal(size=(n, 3)).tolist(),
    })
    return cat.append(name, table, license="CC0-1.0", source="test")


def test_select_into_writes_a_snapshot_whose_lineage_names_ref_and_parameters(cat):
    snap = _dataset(cat)
    plain = select(cat, snap.ref, scores="probs", strategy="margin", n=10, seed=5,
                   diverse=True, embedding="emb")
    res = select(cat, snap.ref, scores="probs", strategy="margin", n=10, seed=5,
                 diverse=True, embedding="emb", into="round-1", tag="r1")
    assert res.selected == plain.selected
    assert res.into["ref"] == "round-1@r1" and res.into["status"] == "committed"
    out = cat.snapshot("round-1@r1").to_arrow()
    assert out.num_rows == 10
    ranked = sorted(out.to_pylist(), key=lambda r: r["select_rank"])
    assert [r["_id"] for r in ranked] == [p.record_id for p in res.selected]
    assert set(out.column_names) >= {"_id", "_license", "text", "probs", "select_score"}
    row = cat.store.lineage("round-1", cat.snapshot("round-1@r1").version)
    assert row is not None
    inputs, step = row.inputs, row.pipeline["steps"][0]
    assert [(i.dataset, i.version, i.fingerprint) for i in inputs] == [
        (snap.dataset, snap.version, snap.fingerprint)]
    assert step == {"kind": "label_select", "scores": "probs", "strategy": "margin", "n": 10,
                    "seed": 5, "diverse": True, "embedding": "emb"}
    graph = cat.lineage("round-1@r1", direction="up")
    assert any(e.source == f"snapshot:{snap.dataset}@{snap.version}" for e in graph.edges)
    again = select(cat, snap.ref, scores="probs", strategy="margin", n=10, seed=5,
                   diverse=True, embedding="emb", into="round-1")
    assert again.into["status"] == "unchanged" and again.selected == res.selected


def test_cli_select_json_contract(home):
    cat = curata.connect()
    snap = _dataset(cat, n=50)
    result = CliRunner().invoke(app, ["select", snap.ref, "--scores", "probs", "--strategy",
                                      "entropy", "--n", "7", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert out["ref"] == snap.ref and out["strategy"] == "entropy"
    assert [set(x) for x in out["selected"]] == [{"_id", "score"}] * 7
    scores = [x["score"] for x in out["selected"]]
    assert scores == sorted(scores, reverse=True)
    p = np.array(cat.snapshot(snap.ref).to_arrow(columns=["probs"])["probs"].to_pylist())
    assert scores[0] == pytest.approx(scipy_entropy(p, axis=1).max())
    missing = CliRunner().invoke(app, ["select", snap.ref, "--scores", "nope", "--json"])
    assert missing.exit_code != 0
