"""``derive(..., engine="ray")`` gives the local engine's derivation (issue 22 item 4).

Each case derives the same pinned source twice, into ``NAME-local`` with the local engine and
``NAME-ray`` on the session's cluster (``ray_cluster`` in ``conftest.py``: a head and two
1-CPU worker nodes), and compares the rows, the snapshot fingerprint, the transform
fingerprint, the stats and the lineage record. The source has three Parquet files (three
appends, kept duplicates), so the tasks see different parts and the global steps (``dedup``,
``near_dedup``) must decide across them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import curata
import polars as pl
import pyarrow as pa
import pytest
from curata.errors import UsageError
from curata.quality.decontaminate import Decontaminate
from curata.quality.images import ImageNearDedup
from curata.quality.steps import Language, Pii, Quality
from curata.transforms import (
    Apply,
    Dedup,
    DeriveTargetError,
    Filter,
    Join,
    NearDedup,
    Pipeline,
    Rename,
    Sample,
    Select,
    Split,
    StepFailedError,
    register,
)
from curata.transforms.steps import Step

import tests.transforms._funcs  # noqa: F401  (registers upper_text, drop_odd_stars, ...)

pytestmark = pytest.mark.slow

_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
          "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
          "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "river", "stone",
          "cloud", "maple", "ember", "frost", "lantern", "meadow", "harbor", "canyon", "willow",
          "summit", "copper", "falcon", "garden", "island", "jungle", "kettle", "lemon", "mirror")


def doc(i: int, n: int = 40) -> str:
    rng = random.Random(i)
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def near(i: int) -> str:
    """``doc(i)`` with its last word changed: word-3-gram Jaccard 37/39."""
    words = doc(i).split()
    words[-1] = "zulu"
    return " ".join(words)


def _rows(texts: list[str | None]) -> pa.Table:
    """Other columns follow from the text: a text in two files is one record (one ``_id``)."""
    keys = [zlib.crc32((t or "").encode()) for t in texts]
    return pa.table({
        "text": pa.array(texts, pa.string()),
        "stars": pa.array([k % 5 + 1 for k in keys], pa.int64()),
        "lang": pa.array([("en", "de")[k // 5 % 2] for k in keys], pa.string()),
    })


def _extras(seed: int) -> list[str]:
    """Texts for the quality steps: personal data, German, very short ones."""
    return [f"Write to person{seed}@example.com or call +1 415 555 01{seed:02d} today please",
            "Der schnelle braune Fuchs springt über den faulen Hund und läuft weiter",
            "ok", f"server at 10.0.{seed}.7 is down, card 4111 1111 1111 1111 was charged"]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> curata.Catalog:
    """``src@v1``: three files with exact duplicates across and within files (kept: dedup
    off), near duplicates across files, empty and null texts; ``evals@v1`` and
    ``labels@v1`` for decontaminate and join."""
    cat = curata.connect(home=tmp_path_factory.mktemp("ray-derive") / "home")
    a = [doc(i) for i in range(300)] + _extras(1)
    b = [doc(i) for i in range(200, 400)] + [near(i) for i in range(50)] + _extras(2)
    c = ([doc(i) for i in range(400, 600)] + [near(i) for i in range(250, 280)]
         + [doc(450), doc(451), "", None, None] + _extras(1))
    cat.append("src", _rows(a), license="CC-BY-4.0", source="site-a", dedup="off")
    cat.append("src", _rows(b), license="CC0-1.0", source="site-b", dedup="off")
    cat.append("src", _rows(c), license="MIT", source="site-c", dedup="off")
    cat.tag("src", "v1")
    cat.append("evals", pa.table({"text": [doc(7), " ".join(doc(520).split()[5:20]), "x y z"]}),
               license="CC-BY-4.0", source="evals")
    cat.tag("evals", "v1")
    ids = cat.snapshot("src@v1").to_arrow(columns=["_id"]).column("_id").to_pylist()
    labels = sorted(set(ids))[::3]
    cat.append("labels", pa.table({"key": labels, "label": [f"l{i % 4}" for i in
                                                            range(len(labels))]}),
               license="CC0-1.0", source="labels")
    cat.tag("labels", "v1")
    return cat


def _table(snap: curata.Snapshot) -> pl.DataFrame:
    df = pl.from_arrow(snap.to_arrow())
    assert isinstance(df, pl.DataFrame)
    return df.sort(df.columns, nulls_last=True)


def _same(cat: curata.Catalog, pipeline: object, name: str, src: str = "src@v1"):
    """Derive with both engines; everything but the dataset name must agree."""
    local = cat.derive(src, pipeline, into=f"{name}-local")
    ray = cat.derive(src, pipeline, into=f"{name}-ray", engine="ray")
    assert (local.status, ray.status) == ("committed", "committed")
    assert ray.snapshot.fingerprint == local.snapshot.fingerprint
    assert ray.transform_fingerprint == local.transform_fingerprint
    assert ray.stats == local.stats
    assert ray.inputs == local.inputs
    a, b = _table(local.snapshot), _table(ray.snapshot)
    assert b.schema == a.schema
    assert b.equals(a, null_equal=True)
    la = cat.store.lineage(f"{name}-local", local.snapshot.version)
    lb = cat.store.lineage(f"{name}-ray", ray.snapshot.version)
    assert dataclasses.replace(lb, dataset="x", run_id=None) == dataclasses.replace(
        la, dataset="x", run_id=None)
    audit = cat.store.audit_log(f"{name}-ray", actions=["derive"])
    assert audit and audit[0].details["engine"] == "ray"
    return local, ray


def test_source_has_several_files(catalog) -> None:
    assert len(catalog.snapshot("src@v1").files()) == 3


def test_row_wise_steps_match_local(catalog, ray_cluster) -> None:
    pipe = Pipeline([Filter("stars >= 2"), Apply("upper_text"), Apply("drop_odd_stars"),
                     Rename({"stars": "rating"}), Select(["text", "rating"]),
                     Split({"train": 0.8, "val": 0.1, "test": 0.1}), Sample(0.9, seed=3)])
    local, ray = _same(catalog, pipe, "rows")
    assert 0 < ray.snapshot.num_rows < local.stats["rows_in"]
    assert ray.stats["rows_in"] == catalog.snapshot("src@v1").num_rows


def test_dedup_across_files_matches_local(catalog, ray_cluster) -> None:
    local, ray = _same(catalog, [Dedup(), Split({"train": 0.9, "test": 0.1})], "dedup")
    src = catalog.snapshot("src@v1")
    ids = src.to_arrow(columns=["_id"]).column("_id")
    assert ray.snapshot.num_rows == len(set(ids.to_pylist())) < src.num_rows
    # which copy survives (its _source/_license) is the local engine's choice
    licenses = _table(ray.snapshot).group_by("_license").len().sort("_license")
    assert licenses.height == 3


def test_dedup_after_a_content_change_and_twice(catalog, ray_cluster) -> None:
    _same(catalog, [Apply("lowercase_text"), Filter("stars > 1"), Dedup(),
                    Apply("upper_text"), Dedup()], "dedup2")


def test_near_dedup_across_files_matches_local(catalog, ray_cluster) -> None:
    # repeated ids across files: the parts' ids are collected (first occurrence wins)
    local, ray = _same(catalog, [NearDedup("text", threshold=0.8)], "near")
    dropped = local.stats["rows_in"] - local.stats["0:near_dedup"]
    assert dropped > 80  # ~100 exact repeats and 80 planted near duplicates
    texts = set(_table(ray.snapshot)["text"].drop_nulls().to_list())
    # of each planted pair (in different files) one survives: the first by _id, as locally
    for i in [*range(50), *range(250, 280)]:
        assert (doc(i) in texts) != (near(i) in texts), i


def test_near_dedup_after_dedup_matches_local(catalog, ray_cluster) -> None:
    # ids are unique after `dedup`: the near duplicates alone are shipped to every part
    _same(catalog, [Dedup(), Filter("stars >= 2"), NearDedup("text", threshold=0.8),
                    Split({"a": 0.5, "b": 0.5})], "near2")


def test_quality_steps_match_local(catalog, ray_cluster) -> None:
    _same(catalog, [Language("text"), Quality("text", rules=["gopher", "c4"]),
                    Pii("text", action="redact"),
                    Decontaminate("text", against=["evals@v1"], ngram=8)], "quality")
    _same(catalog, [Pii("text", action="flag"), Quality("text", drop=True, stats=False)],
          "quality-flag")
    _same(catalog, [Pii("text", action="drop"),
                    Decontaminate("text", against=["evals@v1"], ngram=8, action="drop"),
                    Language("text", keep=["en"])], "quality-drop")


def test_join_matches_local(catalog, ray_cluster) -> None:
    _same(catalog, [Join("labels@v1", on="_id", right_on="key", columns=["label"]),
                    Filter("label IS NOT NULL OR stars = 5")], "joined")


def test_cache_is_shared_by_the_engines(catalog, ray_cluster) -> None:
    one, two = [Filter("stars >= 3")], [Filter("stars >= 4")]
    first = catalog.derive("src@v1", one, into="cached", engine="ray")
    assert catalog.derive("src@v1", one, into="cached").status == "unchanged"
    assert catalog.derive("src@v1", two, into="cached").status == "committed"
    again = catalog.derive("src@v1", one, into="cached", engine="ray")
    assert again.status == "restored"
    assert again.snapshot.fingerprint == first.snapshot.fingerprint
    assert catalog.derive("src@v1", one, into="cached", engine="ray").status == "unchanged"
    # a Ray derive over an existing version of another schema replaces it whole
    three = [Select(["text"]), Filter("text IS NOT NULL"), Split({"a": 0.5, "b": 0.5})]
    replaced = catalog.derive("src@v1", three, into="cached", engine="ray")
    assert replaced.status == "committed"
    assert replaced.snapshot.schema.names[-2:] == ["text", "split"]
    assert replaced.snapshot.fingerprint == catalog.derive(
        "src@v1", three, into="cached-local").snapshot.fingerprint
    assert catalog.snapshot("cached").num_rows == replaced.snapshot.num_rows


def test_empty_result_is_an_empty_version(catalog, ray_cluster) -> None:
    local, ray = _same(catalog, [Filter("stars > 10")], "empty")
    assert ray.snapshot.num_rows == 0
    # an empty version as the source is refused by both, nothing committed
    for engine in ("local", "ray"):
        with pytest.raises(DeriveTargetError, match="no rows"):
            catalog.derive("empty-ray", [Filter("stars > 1"), Dedup()],
                           into=f"from-empty-{engine}", engine=engine)
        assert catalog.store.delta(f"from-empty-{engine}") is None


_LOCK = threading.Lock()


@register("needs_a_lock")
def needs_a_lock(df: pl.DataFrame) -> pl.DataFrame:
    with _LOCK:  # a module global that does not pickle
        return df


@register("fails_on_near_texts")
def fails_on_near_texts(df: pl.DataFrame) -> pl.DataFrame:
    if df["text"].str.contains("zulu").any():  # the parts of site-b and site-c
        time.sleep(3)  # the part of site-a writes its shards meanwhile
        raise RuntimeError("bad part")
    return df


class Shout(Step):
    kind = "shout"

    def spec(self) -> dict:
        return {"kind": self.kind}

    def apply(self, df, ctx):  # type: ignore[no-untyped-def]
        return df


@pytest.mark.parametrize(("steps", "named"), [
    ([Filter("stars > 1"), ImageNearDedup("text")], "step 1 (near_dedup:phash)"),
    ([Shout()], "step 0 (shout)"),
    ([Apply("needs_a_lock")], "step 0 (apply:needs_a_lock)"),
])
def test_refused_before_the_cluster_starts(catalog, monkeypatch, steps, named) -> None:
    from curata.engines import derive_ray

    def no_cluster() -> None:
        raise AssertionError("the cluster was started")

    monkeypatch.setattr(derive_ray, "connect", no_cluster)
    with pytest.raises(UsageError, match="--engine local") as err:
        catalog.derive("src@v1", steps, into="refused", engine="ray")
    assert named in str(err.value)
    assert catalog.store.delta("refused") is None
    with pytest.raises(UsageError, match="unknown engine"):
        catalog.derive("src@v1", [Filter("stars > 1")], into="refused", engine="spark")


def test_failure_commits_nothing_and_removes_shards(catalog, ray_cluster) -> None:
    with pytest.raises(StepFailedError, match="bad part"):
        catalog.derive("src@v1", [Apply("fails_on_near_texts")], into="failed", engine="ray")
    assert catalog.store.delta("failed") is None
    folder = Path(catalog.store.table_uri("failed"))
    assert not list(folder.rglob("*.parquet")) if folder.exists() else True
    runs = catalog.store.runs("failed")
    assert runs and runs[0].status == "failed"


def _cli(catalog: curata.Catalog, *args: str, ray_address: str) -> subprocess.CompletedProcess:
    env = {"CURATA_HOME": str(catalog.settings.home), "PATH": os.environ["PATH"],
           "HOME": str(catalog.settings.home), "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
           "RAY_ADDRESS": ray_address}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env.update({k: v for k, v in os.environ.items() if k.startswith("RAY_AUTH_")})
    code = ("import sys; from curata_ingest.cli import app; from curata_ingest.cli._errors "
            "import run; sys.argv = ['curata', *sys.argv[1:]]; run(app)")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=Path(__file__).resolve().parents[2])


def test_cli_engine_ray_json(catalog, tmp_path, ray_cluster) -> None:
    spec = {"name": "cli", "imports": ["tests.transforms._funcs"],
            "steps": [{"filter": "stars >= 2"}, {"apply": "lowercase_text"}, "dedup",
                      {"near_dedup": {"column": "text", "threshold": 0.8}},
                      {"split": {"fractions": {"train": 0.9, "test": 0.1}}}]}
    path = tmp_path / "pipe.json"
    path.write_text(json.dumps(spec))
    local = catalog.derive("src@v1", Pipeline.from_dict(spec), into="cli-local")
    res = _cli(catalog, "derive", "src@v1", "--pipeline", str(path), "--into", "cli-ray",
               "--engine", "ray", "--json", ray_address=ray_cluster.address)
    assert res.returncode == 0, res.stderr[-3000:]
    doc_ = json.loads(res.stdout)
    assert doc_["status"] == "committed"
    assert doc_["fingerprint"] == local.snapshot.fingerprint
    assert doc_["transform_fingerprint"] == local.transform_fingerprint
    assert doc_["stats"] == local.stats
    # the same derive again is cached, for either engine
    again = _cli(catalog, "derive", "src@v1", "--pipeline", str(path), "--into", "cli-ray",
                 "--engine", "ray", "--json", ray_address=ray_cluster.address)
    assert again.returncode == 0 and json.loads(again.stdout)["status"] == "unchanged"
