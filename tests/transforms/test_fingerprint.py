"""The transform fingerprint: stable for the same work, changed by any input, step, code or
library version; never random (unhashable steps are errors naming the step)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from curata.transforms import (
    Apply,
    Filter,
    Pipeline,
    Sample,
    Split,
    UnhashableStepError,
    identity,
    register,
)
from curata.transforms import fingerprint as tfp

SRC = [{"role": "source", "ref": "r@v1", "dataset": "r", "version": 0, "fingerprint": "ab" * 32}]


def fp_of(pipe: Pipeline, inputs=SRC) -> str:
    return identity(pipe, inputs).fingerprint


def test_same_pipeline_same_fingerprint_in_another_process() -> None:
    pipe = Pipeline([Filter("stars > 2"), Split({"train": 0.9, "test": 0.1}), Sample(0.5)])
    code = ("from curata.transforms import *; from tests.transforms.test_fingerprint import SRC;"
            "print(identity(Pipeline([Filter('stars > 2'), Split({'train': 0.9, 'test': 0.1}),"
            " Sample(0.5)]), SRC).fingerprint)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == fp_of(pipe)


def test_any_change_changes_the_fingerprint() -> None:
    base = fp_of(Pipeline([Filter("stars > 2"), Sample(0.5, seed=1)]))
    variants = [
        Pipeline([Filter("stars > 3"), Sample(0.5, seed=1)]),
        Pipeline([Filter("stars > 2"), Sample(0.5, seed=2)]),
        Pipeline([Sample(0.5, seed=1), Filter("stars > 2")]),
        Pipeline([Filter("stars > 2")]),
    ]
    fps = {fp_of(v) for v in variants}
    assert base not in fps and len(fps) == len(variants)
    other_input = [{**SRC[0], "fingerprint": "cd" * 32}]
    assert fp_of(Pipeline([Filter("stars > 2"), Sample(0.5, seed=1)]), other_input) != base
    # the ref does not matter, only the data it names
    same_data = [{**SRC[0], "ref": "r@0"}]
    assert fp_of(Pipeline([Filter("stars > 2"), Sample(0.5, seed=1)]), same_data) == base


def test_library_versions_are_part_of_it(monkeypatch) -> None:
    pipe = Pipeline([Filter("stars > 2")])
    before = identity(pipe, SRC)
    assert before.libraries["polars"] == pl.__version__
    monkeypatch.setattr(pl, "__version__", "0.0.1")
    assert fp_of(pipe) != before.fingerprint
    monkeypatch.undo()
    monkeypatch.setattr(tfp, "TRANSFORM_VERSION", "curata-transform-999")
    assert fp_of(pipe) != before.fingerprint


def test_changed_function_code_changes_the_fingerprint(tmp_path: Path, monkeypatch) -> None:
    mod = tmp_path / "my_steps.py"
    body = """
        import polars as pl
        from curata.transforms import register

        @register("my_clean")
        def my_clean(df, *, n=1):
            return df.with_columns(pl.col("text").str.slice(0, {cut}))
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    mod.write_text(textwrap.dedent(body.format(cut=10)))
    importlib.import_module("my_steps")
    pipe = Pipeline([Apply("my_clean")])
    first = identity(pipe, SRC)
    assert list(first.code) == ["my_clean"]
    mod.write_text(textwrap.dedent(body.format(cut=20)))
    importlib.reload(sys.modules["my_steps"])
    assert fp_of(pipe) != first.fingerprint
    assert fp_of(Pipeline([Apply("my_clean", {"n": 2})])) != fp_of(pipe)


def test_unhashable_steps_are_errors_naming_the_step() -> None:
    lam = eval("lambda df: df")  # no source file behind it, like a REPL lambda
    with pytest.raises(UnhashableStepError) as info:
        fp_of(Pipeline([Apply(lam)]))
    assert "lambda" in info.value.step
    import functools

    with pytest.raises(UnhashableStepError):
        fp_of(Pipeline([Apply(functools.partial(lambda df, k: df, k=1))]))
    with pytest.raises(UnhashableStepError) as info:
        fp_of(Pipeline([Apply("upper_text", {"column": object()})]))
    assert info.value.step == "apply:upper_text"
    with pytest.raises(UnhashableStepError):
        fp_of(Pipeline([Filter(pl.col("text").map_elements(len, return_dtype=pl.Int64) > 3)]))


def test_register_by_qualified_name() -> None:
    @register
    def local_fn(df):
        return df

    pipe = Pipeline([Apply(local_fn)])
    assert list(identity(pipe, SRC).code)[0].endswith("local_fn")
