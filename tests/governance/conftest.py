"""Fixtures: a real catalog (SQLite + local Delta warehouse) with licensed, labeled snapshots."""

from __future__ import annotations

from dataclasses import dataclass

import curata
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from curata.catalog import Catalog
from curata.governance.provenance import derivation, record_derivation
from curata.snapshot import Snapshot


@dataclass(frozen=True)
class Scenario:
    cat: Catalog
    raw: Snapshot  # reviews@v1: two sources, CC-BY-4.0 and CC-BY-NC-4.0
    labeled: Snapshot  # reviews@labeled: labels merged, derived from reviews@v1
    derived: Snapshot  # reviews-clean@v1: derived from reviews@labeled


@pytest.fixture
def scenario(cat: Catalog) -> Scenario:
    """A fresh scenario a test may change."""
    return build_scenario(cat)


@pytest.fixture(scope="module")
def shared_scenario(tmp_path_factory) -> Scenario:
    """One scenario per test module, for tests that only read."""
    return build_scenario(curata.connect(home=tmp_path_factory.mktemp("shared") / "home"))


def build_scenario(cat: Catalog) -> Scenario:
    cat.append(
        "reviews",
        pa.table({"text": ["great", "bad", "fine"], "stars": [5, 1, 3]}),
        license="CC-BY-4.0",
        source="web-reviews",
        source_uri="https://example.org/reviews.jsonl",
        attribution="Example Reviews Ltd.",
    )
    cat.append(
        "reviews",
        pa.table({"text": ["meh", "ok"], "stars": [2, 4]}),
        license="CC-BY-NC-4.0",
        source="forum-dump",
        source_uri="https://forum.example.net/dump.jsonl",
    )
    raw = cat.tag("reviews", "v1")
    ids = raw.to_arrow(columns=["_id", "stars"])
    labels = pa.table(
        {
            "_id": ids["_id"],
            "sentiment": ["pos" if s >= 3 else "neg" for s in ids["stars"].to_pylist()],
        }
    )
    cat.update_columns(
        "reviews",
        labels,
        operation="labels",
        derived_from=[
            derivation(
                raw,
                "labels",
                label_project=12,
                schema_version=3,
                adjudication="majority",
                columns=["sentiment"],
            ),
        ],
    )
    labeled = cat.tag("reviews", "labeled")
    clean = labeled.to_arrow(
        columns=["_id", "text", "stars", "sentiment", "_license", "_source", "_provenance"]
    )
    kept = clean.filter(pc.greater(clean["stars"], 1))
    # The derived dataset keeps each record's own license, source and provenance columns.
    first = cat.append("reviews-clean", kept, license="CC-BY-4.0", source="reviews@labeled")
    record_derivation(cat.store, first, [derivation(labeled, "filter", predicate="stars > 1")])
    derived = cat.tag("reviews-clean", "v1")
    return Scenario(cat=cat, raw=raw, labeled=labeled, derived=derived)
