"""The ingest pipeline end to end on a real catalog and real Delta tables."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from curata.errors import LicenseError, RejectRatioError, SourceError, UsageError
from curata.fingerprint import record_ids
from curata_ingest import ingest
from deltalake import DeltaTable
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def _jsonl(path, rows, extra=b""):
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows) + extra)
    return str(path)


def test_commit_system_columns_and_provenance(cat, tmp_path):
    src = _jsonl(tmp_path / "a.jsonl", [{"text": f"row {i}", "n": i} for i in range(10)])
    report = ingest(
        [src],
        dataset="docs",
        license="cc-by-4.0",
        catalog=cat,
        attribution="Us",
        source_name="docs-v1",
    )
    assert (report.status, report.version, report.rows_written) == ("committed", 0, 10)
    snap = cat.snapshot("docs")
    assert report.fingerprint == snap.fingerprint
    table = snap.to_arrow()
    assert set(table.column("_license").to_pylist()) == {"CC-BY-4.0"}
    assert table.column("_id").to_pylist() == record_ids(table.select(["text", "n"])).to_pylist()
    prov = table.column("_provenance").to_pylist()
    assert prov[3]["locator"] == f"{src}:4" and prov[3]["uri"] == src
    assert {p["run_id"] for p in prov} == {report.run_id}
    assert set(table.column("_source").to_pylist()) == {report.sources[0].source_id}
    assert [r.status for r in cat.runs("docs")] == ["committed"]


@pytest.mark.parametrize("repeats", [3, 40])
def test_dedup_keeps_first_occurrences_in_order_with_their_lines(cat, tmp_path, repeats):
    """A few duplicates in a batch are cut out as slices, many by a copy: either way the
    first occurrence of each record is kept, in input order, with its own line number."""
    rng = random.Random(repeats)
    rows = [{"k": i, "text": f"doc {i}"} for i in range(2000)]
    for _ in range(repeats):
        rows.insert(rng.randrange(len(rows)), dict(rng.choice(rows)))
    src = _jsonl(tmp_path / "dups.jsonl", rows)
    report = ingest([src], dataset="dups", license="MIT", catalog=cat)
    first = {}
    for line, row in enumerate(rows, start=1):
        first.setdefault(json.dumps(row, sort_keys=True), line)
    expected = sorted(first.values())
    table = cat.snapshot("dups").to_arrow()
    got = sorted((int(p["locator"].rsplit(":", 1)[1]), k) for p, k in zip(
        table.column("_provenance").to_pylist(), table.column("k").to_pylist(), strict=True))
    assert got == [(n, rows[n - 1]["k"]) for n in expected]
    assert report.duplicates == len(rows) - len(expected) and report.rows_written == len(expected)
    check = cat.snapshot("dups").verify()
    assert check.ok and check.actual == report.fingerprint


def test_exact_dedup_within_run_and_against_dataset_per_source(cat, tmp_path):
    a = _jsonl(tmp_path / "a.jsonl", [{"t": i % 5} for i in range(20)])
    ingest([a], dataset="d", license="MIT", catalog=cat)
    b = _jsonl(tmp_path / "b.jsonl", [{"t": i} for i in range(10)])
    c = _jsonl(tmp_path / "c.jsonl", [{"t": 9}, {"t": 10}])
    report = ingest([b, c], dataset="d", license="MIT", catalog=cat)
    by_uri = {s.uri: s for s in report.sources}
    assert (by_uri[b].duplicates, by_uri[b].rows_written) == (5, 5)
    assert (by_uri[c].duplicates, by_uri[c].rows_written) == (1, 1)
    assert sorted(cat.snapshot("d").to_arrow().column("t").to_pylist()) == list(range(11))
    off = ingest([b], dataset="d", license="MIT", catalog=cat, dedup="off", force=True)
    assert off.rows_written == 10 and cat.snapshot("d").num_rows == 21


def test_unchanged_sources_commit_nothing_and_force_rereads(cat, tmp_path):
    a = _jsonl(tmp_path / "a.jsonl", [{"t": i} for i in range(5)])
    first = ingest([a], dataset="u", license="MIT", catalog=cat)
    again = ingest([a], dataset="u", license="MIT", catalog=cat)
    assert again.status == "unchanged" and again.version == first.version
    assert again.fingerprint == first.fingerprint and again.rows_read == 0
    forced = ingest([a], dataset="u", license="MIT", catalog=cat, force=True)
    assert forced.rows_read == 5 and forced.duplicates == 5 and forced.status == "unchanged"
    _jsonl(tmp_path / "a.jsonl", [{"t": i} for i in range(6)])
    changed = ingest([a], dataset="u", license="MIT", catalog=cat)
    assert changed.status == "committed" and changed.rows_written == 1
    assert cat.snapshot("u").version == first.version + 1


def test_licenses_validated_with_suggestions(cat, tmp_path):
    a = _jsonl(tmp_path / "a.jsonl", [{"t": 1}])
    with pytest.raises(LicenseError) as info:
        ingest([a], dataset="l", license="CC-BY-40", catalog=cat)
    assert "CC-BY-4.0" in info.value.suggestions
    assert (
        ingest([a], dataset="l", license="LicenseRef-Internal", catalog=cat).status == "committed"
    )
    b = _jsonl(tmp_path / "b.jsonl", [{"t": 2}])
    report = ingest([b], dataset="l", license="unknown", catalog=cat)
    assert report.license_flagged and report.license == "unknown"
    with pytest.raises(LicenseError):
        ingest([b], dataset="l", license="", catalog=cat)


def test_reject_ratio_commits_nothing_but_keeps_rejects(cat, tmp_path):
    ok = _jsonl(tmp_path / "ok.jsonl", [{"t": 1}])
    ingest([ok], dataset="r", license="MIT", catalog=cat)
    bad = _jsonl(tmp_path / "bad.jsonl", [{"t": 2}], extra=b"oops\nnope\n")
    with pytest.raises(RejectRatioError) as info:
        ingest([bad], dataset="r", license="MIT", catalog=cat, max_reject_ratio=0.5)
    assert info.value.rejected == 2
    assert cat.snapshot("r").version == 0 and cat.snapshot("r").num_rows == 1
    assert cat.runs("r")[0].status == "failed"
    assert sorted(cat.rejects("r").column("reason").to_pylist()) == ["malformed_json"] * 2
    report = ingest([bad], dataset="r", license="MIT", catalog=cat, max_reject_ratio=0.7)
    assert report.status == "committed" and report.rejected == 2


def test_schema_policy_new_columns_and_wrong_types(cat, tmp_path):
    ingest(
        [_jsonl(tmp_path / "a.jsonl", [{"t": "x", "n": 1}])],
        dataset="s",
        license="MIT",
        catalog=cat,
    )
    src = _jsonl(
        tmp_path / "b.jsonl",
        [{"t": "y", "n": 2}, {"t": "z", "n": "not a number"}, {"t": "w", "n": 3, "extra": True}],
    )
    # two of three rows rejected: above the default ratio (0.5), so this run says "keep what
    # parses" explicitly
    report = ingest([src], dataset="s", license="MIT", catalog=cat, max_reject_ratio=1)
    assert report.rows_written == 1
    assert report.reject_reasons == {"new_column": 1, "type_mismatch": 1}
    assert "extra" not in cat.snapshot("s").schema.names
    merged = ingest(
        [src], dataset="s", license="MIT", catalog=cat, schema_evolution="merge", force=True,
        max_reject_ratio=1,
    )
    assert merged.rows_written == 1 and "extra" in cat.snapshot("s").schema.names
    snap = cat.snapshot("s")
    rows = {r["t"]: r for r in snap.to_arrow(columns=["t", "extra"]).to_pylist()}
    assert rows["w"]["extra"] is True and rows["x"]["extra"] is None
    assert snap.verify().ok


def test_ray_engine_refuses_new_columns_before_starting(cat, tmp_path):
    """A Delta transaction cannot widen a table's schema: the Ray engine says so up front."""
    ingest([_jsonl(tmp_path / "a.jsonl", [{"t": "x"}])], dataset="s", license="MIT", catalog=cat)
    src = _jsonl(tmp_path / "b.jsonl", [{"t": "y", "extra": 1}])
    with pytest.raises(UsageError, match="--engine local"):
        ingest([src], dataset="s", license="MIT", catalog=cat, schema_evolution="merge",
               engine="ray")
    assert [v.version for v in cat.versions("s")] == [0]


def test_max_record_size(cat, tmp_path):
    src = _jsonl(tmp_path / "a.jsonl", [{"t": "x" * 10}, {"t": "y" * 5000}])
    report = ingest([src], dataset="m", license="MIT", catalog=cat, max_record_size=1000)
    assert report.rows_written == 1 and report.reject_reasons == {"record_too_large": 1}
    rej = cat.rejects("m").to_pylist()[0]
    assert rej["locator"] == f"{src}:2" and rej["raw"].startswith(b'{"t": "yyy')


def test_near_dedup_records_clusters(cat, tmp_path):
    base = "the quick brown fox jumps over the lazy dog near the river bank at dawn " * 3
    rows = [{"text": base}, {"text": base + " today"}, {"text": "completely different words here"}]
    src = _jsonl(tmp_path / "a.jsonl", rows)
    report = ingest([src], dataset="n", license="MIT", catalog=cat, dedup="near", threshold=0.8)
    assert report.rows_written == 2 and report.near_duplicates == 1 and report.duplicates == 1
    clusters = DeltaTable(cat.table_uri("n", "near_duplicates")).to_pyarrow_table().to_pylist()
    kept = cat.snapshot("n").to_arrow()
    first_id = kept.filter(pa.compute.equal(kept.column("text"), base)).column("_id")[0].as_py()
    assert clusters[0]["cluster_id"] == first_id and clusters[0]["locator"] == f"{src}:2"
    with pytest.raises(UsageError):
        ingest([src], dataset="n2", license="MIT", catalog=cat, dedup="near", text_column="nope")


def test_several_sources_and_formats_in_one_commit(cat, tmp_path):
    a = _jsonl(tmp_path / "a.jsonl", [{"text": "from jsonl"}])
    (tmp_path / "b.txt").write_text("line one\nline two\n")
    report = ingest([a, str(tmp_path / "b.txt")], dataset="mix", license="MIT", catalog=cat)
    assert report.rows_written == 3 and report.version == 0
    assert len(cat.versions("mix")) == 1
    assert len(set(cat.snapshot("mix").to_arrow().column("_source").to_pylist())) == 2


def test_unreadable_source_is_a_clear_error(cat, tmp_path):
    with pytest.raises(SourceError) as info:
        ingest([str(tmp_path / "nope.jsonl")], dataset="e", license="MIT", catalog=cat)
    assert info.value.source.endswith("nope.jsonl")


def test_shards_near_shard_size_in_one_commit(cat, tmp_path):
    rng = random.Random(0)
    rows = [{"text": "".join(rng.choices("abcdefghij", k=400)), "i": i} for i in range(6000)]
    src = _jsonl(tmp_path / "a.jsonl", rows)
    report = ingest([src], dataset="sh", license="MIT", catalog=cat, shard_size=512 * 1024)
    assert report.rows_written == 6000 and len(cat.versions("sh")) == 1
    files = DeltaTable(cat.table_uri("sh")).file_uris()
    assert len(files) >= 2
    for f in files:
        meta = pq.ParquetFile(f).metadata
        assert meta.row_group(0).column(0).compression == "ZSTD"


def test_many_batches_are_streamed(cat, tmp_path, monkeypatch):
    monkeypatch.setattr("curata_ingest.sources.jsonl.BLOCK_BYTES", 2048)
    seen = []
    src = _jsonl(tmp_path / "a.jsonl", [{"i": i, "pad": "x" * 40} for i in range(3000)])
    report = ingest(
        [src],
        dataset="mb",
        license="MIT",
        catalog=cat,
        progress=lambda b, r: seen.append(r) if r else None,
    )
    assert report.rows_written == 3000 and len(seen) > 50


LINE = st.one_of(
    st.fixed_dictionaries({"t": st.sampled_from(["a", "b", "c", "d"])}).map(json.dumps),
    st.fixed_dictionaries({"t": st.integers(0, 3)}).map(json.dumps),
    st.fixed_dictionaries({"t": st.sampled_from(["a", "b"]), "x": st.booleans()}).map(json.dumps),
    st.sampled_from(["{broken", "[1]", "", "  ", '"str"', '{"t": "\\ud800"}']),
    st.binary(min_size=1, max_size=6).map(lambda b: b.replace(b"\n", b"").decode("latin-1")),
)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.lists(LINE, max_size=25), min_size=1, max_size=3), st.booleans())
def test_fuzzed_corpus_accounts_for_every_row(tmp_path_factory, files, merge):
    """rows_read == rows_written + duplicates + rejected, in the report and in the tables."""
    import curata

    root = tmp_path_factory.mktemp("fuzz")
    cat = curata.connect(home=root / "home")
    paths = []
    for i, lines in enumerate(files):
        path = root / f"f{i}.jsonl"
        path.write_bytes("\n".join(lines).encode("latin-1", "replace"))
        paths.append(str(path))
    total = 0
    for _ in range(2):
        report = ingest(
            paths,
            dataset="fz",
            license="MIT",
            catalog=cat,
            force=True,
            schema_evolution="merge" if merge else "none",
            max_reject_ratio=1,  # the fuzzed corpus is mostly bad input
        )
        assert report.rows_read == report.rows_written + report.duplicates + report.rejected
        for s in report.sources:
            assert s.rows_read == s.rows_written + s.duplicates + s.rejected
        total += report.rows_written
        assert sum(report.reject_reasons.values()) == report.rejected
    assert report.rows_written == 0  # the second pass only finds duplicates and rejects
    rows = cat.snapshot("fz").num_rows if total else 0
    assert rows == total
    rejects = cat.rejects("fz")
    assert rejects.num_rows == 2 * report.rejected


def test_sources_recorded_in_catalog_with_artifact_hashes(cat, tmp_path):
    import hashlib

    src = _jsonl(tmp_path / "a.jsonl", [{"t": 1}])
    report = ingest(
        [src],
        dataset="cs",
        license="CC-BY-4.0",
        catalog=cat,
        attribution="Jane Doe",
        source_url="https://example.org/a.jsonl",
    )
    row = cat.store.source(report.sources[0].source_id)
    assert row is not None
    assert (row.license, row.attribution, row.uri) == (
        "CC-BY-4.0",
        "Jane Doe",
        "https://example.org/a.jsonl",
    )
    assert row.artifacts == [
        {
            "uri": src,
            "size": (tmp_path / "a.jsonl").stat().st_size,
            "sha256": hashlib.sha256((tmp_path / "a.jsonl").read_bytes()).hexdigest(),
        }
    ]
    assert row.retrieved_at is not None and row.run_id == report.run_id
    prov = cat.snapshot("cs").to_arrow().column("_provenance").to_pylist()[0]
    assert prov["uri"] == "https://example.org/a.jsonl" and prov["locator"] == f"{src}:1"


def test_public_api_all():
    import curata_ingest

    assert sorted(curata_ingest.__all__) == sorted(
        n
        for n in dir(curata_ingest)
        if not n.startswith("_")
        and n
        not in {"pipeline", "report", "sources", "licenses", "conform", "dedup", "rejects", "cli",
              "engines", "run"}
    )


def test_relicensed_source_is_refused_then_applied_with_relicense(cat, tmp_path):
    """Re-ingesting unchanged files under another license once counted every row as a
    duplicate and kept the old license: a commercial verdict stayed "allowed"."""
    from curata.errors import SourceLicenseChangedError

    src = _jsonl(tmp_path / "a.jsonl", [{"text": f"doc {i}"} for i in range(7)])
    first = ingest([src], dataset="rl", license="CC-BY-4.0", catalog=cat, source_name="corpus")
    with pytest.raises(SourceLicenseChangedError) as info:
        ingest([src], dataset="rl", license="CC-BY-NC-4.0", catalog=cat, source_name="corpus")
    assert (info.value.recorded, info.value.requested) == ("CC-BY-4.0", "CC-BY-NC-4.0")
    assert cat.snapshot("rl").version == first.version  # nothing written
    report = ingest([src], dataset="rl", license="CC-BY-NC-4.0", catalog=cat,
                    source_name="corpus", relicense=True)
    snap = cat.snapshot("rl")
    assert snap.version == first.version + 1 and report.version == snap.version
    assert set(snap.to_arrow().column("_license").to_pylist()) == {"CC-BY-NC-4.0"}
    assert snap.num_rows == 7 and snap.verify().ok
    assert snap.fingerprint != first.fingerprint
    entry = next(e for e in cat.audit_log("rl") if e.action == "relicense")
    assert entry.details["from"] == "CC-BY-4.0" and entry.details["to"] == "CC-BY-NC-4.0"
    assert entry.details["records"] == 7
    from curata.governance import license_report

    assert not license_report(cat.store, snap, purpose="commercial").allowed


def test_same_data_rebuilt_elsewhere_has_the_same_fingerprint(tmp_path):
    """Content-defined: two machines (two homes, the corpus at two paths, other run ids and
    times) that ingest the same data under the same source name agree on the fingerprint."""
    import shutil

    import curata

    rows = [{"text": f"doc {i}", "n": i} for i in range(50)]
    one = tmp_path / "machine-1" / "corpus"
    one.mkdir(parents=True)
    _jsonl(one / "a.jsonl", rows)
    two = tmp_path / "machine-2" / "data" / "corpus"
    shutil.copytree(one, two)
    reports = []
    for root in (one, two):
        cat = curata.connect(home=root.parent / "home")
        reports.append(ingest([str(root)], dataset="c", license="MIT", catalog=cat,
                              source_name="corpus"))
        cat.engine.dispose()
    a, b = reports
    assert a.run_id != b.run_id and a.sources[0].uri != b.sources[0].uri
    assert a.fingerprint == b.fingerprint


def test_a_run_that_keeps_nothing_fails_and_leaves_no_empty_dataset(cat, tmp_path):
    """Every row rejected: exit non-zero (RejectRatioError) with the reasons, no dataset listed,
    the rejects kept for inspection until `gc` reclaims them."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n{broken\n[1, 2]\n")
    with pytest.raises(RejectRatioError) as info:
        ingest([str(bad)], dataset="nothing", license="MIT", catalog=cat)
    assert info.value.rejected == 3 and info.value.reasons == {"malformed_json": 2,
                                                               "not_an_object": 1}
    assert [d.name for d in cat.datasets()] == []
    assert [r.status for r in cat.runs("nothing")] == ["failed"]
    assert cat.rejects("nothing").num_rows == 3
    report = cat.gc(dry_run=False)
    assert report.rejects_reclaimed == {"nothing": 3}
    assert cat.rejects("nothing").num_rows == 0
