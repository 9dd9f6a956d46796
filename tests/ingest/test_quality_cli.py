"""`curata stats` and `curata leakage` through Typer's runner: the JSON shapes of DESIGN.md §9."""

from __future__ import annotations

import json

import pyarrow as pa
from curata_ingest.cli import app
from typer.testing import CliRunner

from tests.transforms.test_quality_rules import GOOD

runner = CliRunner()


def _seed(cat) -> None:
    near = GOOD.replace("museum", "gallery")
    texts = [GOOD, GOOD, near, "Another page, about engines and the weather in the winter."]
    cat.append("lk", pa.table({"text": texts, "split": ["train", "test", "test", "train"],
                               "lang": ["en"] * 4}), license="CC0-1.0", source="crawl")


def test_stats_json_shape(cat) -> None:
    _seed(cat)
    result = runner.invoke(app, ["stats", "lk", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"ref", "fingerprint", "rows", "by", "lengths", "rates"} <= set(out)
    assert out["rows"] == 4 and out["fingerprint"] == cat.snapshot("lk").fingerprint
    assert out["by"]["split"] == {"test": 2, "train": 2} and out["by"]["lang"] == {"en": 4}
    assert set(out["by"]) >= {"_license", "_source"}
    assert out["rates"] == {"quality_issues": {}, "pii": {}}
    assert "text" in out["lengths"]


def test_leakage_json_shape(cat) -> None:
    _seed(cat)
    result = runner.invoke(app, ["leakage", "lk", "--split-column", "split", "--threshold",
                                 "0.7", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["ref"] == cat.snapshot("lk").ref
    assert out["counts"] == {"exact": 1, "near": 1}
    assert [p["kind"] for p in out["pairs"]] == ["exact", "near"]
    for p in out["pairs"]:
        assert {"a", "b", "split_a", "split_b", "kind", "distance"} <= set(p)
        assert p["split_a"] != p["split_b"] and p["a"] < p["b"]


def test_leakage_unknown_split_column_is_usage_error(cat) -> None:
    _seed(cat)
    from curata.errors import UsageError

    result = runner.invoke(app, ["leakage", "lk", "--split-column", "fold", "--json"])
    assert isinstance(result.exception, UsageError) and result.exception.exit_code == 2
