"""The committed sample corpus is what scripts/make_samples.py generates, and ingests as the
demo expects (two licenses, images and text, malformed rows quarantined)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from curata_ingest import ingest

REPO = Path(__file__).resolve().parents[2]


def test_samples_are_deterministic(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "make_samples", REPO / "scripts" / "make_samples.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path / "samples")
    fresh = {
        p.relative_to(tmp_path / "samples"): p.read_bytes()
        for p in (tmp_path / "samples").rglob("*")
        if p.is_file()
    }
    committed = {
        p.relative_to(REPO / "samples"): p.read_bytes()
        for p in (REPO / "samples").rglob("*")
        if p.is_file()
    }
    assert fresh == committed
    assert sum(map(len, committed.values())) < 500_000


def test_samples_ingest_with_two_licenses_and_quarantine(cat):
    samples = REPO / "samples"
    reviews = ingest(
        [str(samples / "texts" / "reviews.jsonl")], dataset="texts", license="CC0-1.0", catalog=cat
    )
    assert reviews.duplicates == 1 and reviews.rows_written == 300
    assert reviews.reject_reasons == {"invalid_utf8": 1, "malformed_json": 1, "type_mismatch": 1}
    quotes = ingest(
        [str(samples / "texts" / "quotes.txt")],
        dataset="texts",
        format="lines",
        license="CC-BY-4.0",
        catalog=cat,
    )
    assert quotes.rows_written == 48
    mix = {x["license"]: x["records"] for x in cat.snapshot("texts").licenses()}
    assert mix == {"CC0-1.0": 300, "CC-BY-4.0": 48}
    shapes = ingest([str(samples / "images")], dataset="shapes", license="CC0-1.0", catalog=cat)
    assert shapes.rows_written == 36 and shapes.reject_reasons == {"undecodable_image": 1}
    labels = cat.snapshot("shapes").to_arrow().column("label").to_pylist()
    assert {lab: labels.count(lab) for lab in set(labels)} == {
        "circle": 12,
        "square": 12,
        "triangle": 12,
    }
