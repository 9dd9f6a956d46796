"""Pipelines from YAML, TOML and Python agree; invalid files fail with the step that is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from curata.transforms import (
    Apply,
    Dedup,
    Filter,
    Join,
    NearDedup,
    Pipeline,
    PipelineError,
    Rename,
    Sample,
    Select,
    Split,
)
from hypothesis import given, settings
from hypothesis import strategies as st

YAML = """
name: clean
steps:
  - filter: "length(text) >= 20 AND lang = 'en'"
  - select: [text, stars]
  - rename: {stars: rating}
  - apply: {fn: upper_text, params: {column: text}}
  - dedup: {}
  - near_dedup: {column: text, threshold: 0.85}
  - split: {fractions: {train: 0.8, val: 0.1, test: 0.1}, seed: 3}
  - sample: {fraction: 0.5, seed: 42}
  - join: {ref: "labels@v2", columns: [label]}
"""

TOML = """
name = "clean"
[[steps]]
filter = "length(text) >= 20 AND lang = 'en'"
[[steps]]
select = ["text", "stars"]
[[steps]]
rename = {stars = "rating"}
[[steps]]
apply = {fn = "upper_text", params = {column = "text"}}
[[steps]]
dedup = {}
[[steps]]
near_dedup = {column = "text", threshold = 0.85}
[[steps]]
split = {fractions = {train = 0.8, val = 0.1, test = 0.1}, seed = 3}
[[steps]]
sample = {fraction = 0.5, seed = 42}
[[steps]]
join = {ref = "labels@v2", columns = ["label"]}
"""

PYTHON = Pipeline([
    Filter("length(text) >= 20 AND lang = 'en'"), Select(["text", "stars"]),
    Rename({"stars": "rating"}), Apply("upper_text", {"column": "text"}), Dedup(),
    NearDedup(column="text", threshold=0.85),
    Split({"train": 0.8, "val": 0.1, "test": 0.1}, seed=3), Sample(0.5, seed=42),
    Join("labels@v2", columns=["label"]),
], name="clean")


def test_yaml_toml_and_python_are_the_same_pipeline(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(YAML)
    (tmp_path / "p.toml").write_text(TOML)
    y = Pipeline.from_file(tmp_path / "p.yaml")
    t = Pipeline.from_file(tmp_path / "p.toml")
    assert y.canonical() == t.canonical() == PYTHON.canonical()
    assert y.name == "clean" and [s["kind"] for s in y.canonical()] == [
        "filter", "select", "rename", "apply", "dedup", "near_dedup", "split", "sample", "join"]


def test_to_dict_round_trips() -> None:
    assert Pipeline.from_dict(PYTHON.to_dict()).canonical() == PYTHON.canonical()


@pytest.mark.parametrize(("steps", "index", "kind"), [
    ([{"filter": "stars > 1"}, {"shuffle": {}}], 1, "shuffle"),
    ([{"split": {"fractions": {"train": 0.5}}}], 0, "split"),
    ([{"sample": {"fraction": 2}}], 0, "sample"),
    ([{"join": {"ref": "a@b@c"}}], 0, "join"),
    ([{"apply": {"fn": "no_such_function"}}], 0, "apply"),
    ([{"filter": "stars >", "select": ["x"]}], 0, None),
    ([{"join": {"ref": "labels", "how": "cross"}}], 0, "join"),
])
def test_invalid_steps_name_their_position(steps, index, kind) -> None:
    with pytest.raises(PipelineError) as info:
        Pipeline.from_dict({"steps": steps})
    assert info.value.step == index and info.value.kind == kind


def test_unparseable_and_unknown_files(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("steps: [filter: 'a'\n")
    (tmp_path / "p.ini").write_text("")
    for name in ("bad.yaml", "p.ini", "missing.yaml"):
        with pytest.raises(PipelineError):
            Pipeline.from_file(tmp_path / name)
    with pytest.raises(PipelineError):
        Pipeline.from_dict({"steps": [], "stages": []})


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.text("abcdefghij", min_size=1, max_size=6),
                       st.integers(1, 10), min_size=1, max_size=5), st.integers(0, 2**31))
def test_split_specs_round_trip_through_yaml(tmp_path_factory, weights, seed) -> None:
    import yaml

    total = sum(weights.values())
    fractions = {k: v / total for k, v in weights.items()}
    fractions[list(fractions)[-1]] += 1 - sum(fractions.values())
    p = Pipeline([Split(fractions, seed=seed)])
    path = tmp_path_factory.mktemp("y") / "p.yaml"
    path.write_text(yaml.safe_dump(p.to_dict()))
    assert Pipeline.from_file(path).canonical() == p.canonical()
