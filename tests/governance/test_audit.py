"""The audit log: tags, forced tag moves, license overrides, gc — who, when, what."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import mlcroissant as mlc
import pyarrow as pa
from curata.governance.audit import audit_entries
from curata.governance.bom import write_bom
from curata.governance.collect import collect_facts
from curata.governance.report import check_license


def test_every_governed_action_is_listed_with_who_when_what(scenario, monkeypatch):
    cat = scenario.cat
    monkeypatch.setenv("CURATA_USER", "alice")
    start = datetime.now(UTC)
    cat.tag("reviews", "v1", version=scenario.labeled.version, force=True, note="moved")
    clean = cat.snapshot(scenario.raw.ref.replace("@v1", "@0"))
    check_license(cat.store, clean, "research")  # clean: not logged
    check_license(
        cat.store,
        cat.snapshot("reviews@labeled"),
        "commercial",
        allow=["CC-BY-NC-4.0"],
        reason="licensed for commercial use by contract",
    )
    cat.gc(dry_run=False, dataset="reviews")
    entries = audit_entries(cat.store, "reviews", since=start)
    assert [e.action for e in entries] == ["tag.force", "license.override", "gc"]
    assert {e.actor for e in entries} == {"alice"}
    assert all(start <= e.at <= datetime.now(UTC) for e in entries)
    assert entries[0].details["to_version"] == scenario.labeled.version
    assert entries[1].details["for"] == "export"
    # Prefix filter: "tag" matches "tag" and "tag.force".
    tags = audit_entries(cat.store, "reviews", actions=["tag"])
    assert [e.action for e in tags] == ["tag", "tag", "tag.force"]
    assert [e.id for e in audit_entries(cat.store, limit=2)] == [e.id for e in audit_entries(cat.store)][-2:]
    assert audit_entries(cat.store, "no-such-dataset") == []


def test_croissant_in_the_table_root_survives_gc(scenario):
    cat, snap = scenario.cat, scenario.labeled
    out = Path(snap.table_uri) / "_croissant.json"
    write_bom(collect_facts(cat.store, snap), "croissant", out)
    cat.append(
        "reviews", pa.table({"text": ["later"], "stars": [2]}), license="CC0-1.0", source="later"
    )
    cat.gc(dry_run=False, dataset="reviews", retention_hours=0)
    assert out.exists()  # Delta ignores "_" files, so vacuum leaves the metadata alone
    records = list(mlc.Dataset(jsonld=str(out)).records("records"))
    assert len(records) == snap.num_rows  # the tagged version's files are pinned
