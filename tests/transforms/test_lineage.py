"""Lineage round-trips: ingest -> derive -> derive (+ join) -> export, walked both ways from
the catalog records, and `curata derive` / `curata lineage` from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from curata.transforms import Dedup, Filter, Join, Pipeline, Split

CURATA = [sys.executable, "-c", "from curata_ingest.cli import main; main()"]


def chain(cat):
    """reviews (2 sources) -> clean -> train (joined with labels), and an export of train."""
    clean = cat.derive("reviews@v1", Pipeline([Filter("length(text) >= 20"), Dedup()]),
                       into="clean", tag="c1").snapshot
    ids = clean.to_arrow(columns=["_id"]).column("_id").to_pylist()[:50]
    labels = cat.append("labels", pa.table({"rid": ids, "label": ["x"] * 50}),
                        license="CC0-1.0", source="annotators")
    train = cat.derive("clean@c1", Pipeline([
        Split({"train": 0.9, "test": 0.1}, keep="train"),
        Join("labels", right_on="rid", columns=["label"])]), into="train", tag="t1").snapshot
    cat.audit("export", dataset="train", details={
        "ref": train.ref, "fingerprint": train.fingerprint, "out": "/shards/train",
        "format": "webdataset"})
    return clean, labels, train


def test_lineage_walks_back_to_sources_and_forward_to_exports(corpus) -> None:
    clean, labels, train = chain(corpus)
    up = corpus.lineage("train@t1", direction="up")
    root = up.node(up.root)
    assert (root.dataset, root.version, root.fingerprint) == ("train", 0, train.fingerprint)
    parents = {(n.dataset, n.fingerprint) for n in up.parents(up.root)}
    assert parents == {("clean", clean.fingerprint), ("labels", labels.fingerprint)}
    kinds = {e.kind for e in up.edges if e.target == up.root}
    assert kinds == {"derive", "join"}
    sources = sorted(n.label for n in up.nodes if n.kind == "source")
    assert sources == ["annotators", "site-a", "site-b"]
    reviews_node = next(n for n in up.nodes if n.dataset == "reviews")
    assert {p.label for p in up.parents(reviews_node.id)} == {"site-a", "site-b"}
    assert {p.details["license"] for p in up.parents(reviews_node.id)} == {"CC-BY-4.0", "CC0-1.0"}

    down = corpus.lineage("reviews@v1", direction="down")
    reached = {(n.kind, n.dataset or n.label) for n in down.nodes}
    assert {("snapshot", "clean"), ("snapshot", "train"), ("export", "/shards/train")} <= reached
    both = corpus.lineage("clean@c1")
    assert {n.dataset for n in both.parents(both.root)} == {"reviews"}
    assert {n.dataset for n in both.children(both.root)} == {"train"}


def test_lineage_json_round_trips(corpus) -> None:
    chain(corpus)
    g = corpus.lineage("train@t1")
    data = json.loads(json.dumps(g.to_dict()))
    ids = {n["id"] for n in data["nodes"]}
    assert data["root"] in ids
    assert all(e["source"] in ids and e["target"] in ids for e in data["edges"])
    derive_edges = [e for e in data["edges"] if e["kind"] == "derive"]
    assert all(len(e["transform_fingerprint"]) == 64 for e in derive_edges)


def run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CURATA_HOME": str(home)}
    env.pop("CURATA_DEBUG", None)
    return subprocess.run([*CURATA, *args], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.mark.slow
def test_cli_derive_then_lineage(corpus, home: Path, tmp_path: Path) -> None:
    pipe = tmp_path / "clean.yaml"
    pipe.write_text("steps:\n  - filter: \"length(text) >= 20\"\n  - dedup: {}\n"
                    "  - split: {fractions: {train: 0.8, test: 0.2}}\n")
    args = ["derive", "reviews@v1", "--pipeline", str(pipe), "--into", "clean", "--tag", "c1",
            "--json"]
    first = run(args, home)
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert out["status"] == "committed" and out["ref"] == "clean@c1"
    second = json.loads(run(args[:-3] + ["--json"], home).stdout)
    assert second["status"] == "unchanged" and second["fingerprint"] == out["fingerprint"]
    lin = run(["lineage", "clean@c1", "--json"], home)
    assert lin.returncode == 0, lin.stderr
    graph = json.loads(lin.stdout)
    assert {n["label"] for n in graph["nodes"] if n["kind"] == "source"} == {"site-a", "site-b"}
    human = run(["lineage", "clean@c1"], home)
    assert human.returncode == 0 and "site-a" in human.stdout


@pytest.mark.slow
def test_cli_errors_have_exit_codes(corpus, home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - shuffle: {}\n")
    r = run(["derive", "reviews@v1", "-p", str(bad), "--into", "x"], home)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = run(["lineage", "nope@v9"], home)
    assert r.returncode == 3


@pytest.mark.postgres
def test_derive_and_lineage_on_postgres(pg_url: str, tmp_path: Path) -> None:
    import curata

    from tests.transforms.conftest import reviews

    cat = curata.connect(home=tmp_path, catalog_url=pg_url, warehouse=str(tmp_path / "wh"),
                         upgrade=True)
    try:
        cat.append("reviews", reviews(300), license="CC-BY-4.0", source="site-a")
        pipe = Pipeline([Filter("length(text) >= 20"), Dedup()])
        first = cat.derive("reviews", pipe, into="clean", tag="c1")
        assert cat.derive("reviews", pipe, into="clean").status == "unchanged"
        g = cat.lineage("clean@c1")
        assert {n.label for n in g.nodes if n.kind == "source"} == {"site-a"}
        assert g.node(g.root).fingerprint == first.snapshot.fingerprint
    finally:
        cat.engine.dispose()


def test_governance_provenance_chain_sees_derivations(corpus) -> None:
    from curata.governance import provenance_chain

    clean, labels, train = chain(corpus)
    entries = provenance_chain(corpus.store, corpus.snapshot("train@t1"))
    direct = {(e.kind, e.fingerprint) for e in entries if e.depth == 1}
    assert direct == {("derive", clean.fingerprint), ("join", labels.fingerprint)}
    assert any(e.depth == 2 and e.ref == "reviews@v1" for e in entries)
